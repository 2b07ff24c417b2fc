-- The agent's desk: an agent's notes on a call, and the calls an agent removed from their own list of recent
-- calls (the records themselves stay).

-- The notes on a call (replaced on each save), who saved them last and when.
ALTER TABLE calls ADD COLUMN notes TEXT NOT NULL DEFAULT '';
ALTER TABLE calls ADD COLUMN notes_by TEXT;
ALTER TABLE calls ADD COLUMN notes_at_ms INTEGER;  -- unix milliseconds

-- An agent's newest calls, newest first (ties broken by id).
CREATE INDEX calls_agent_started ON calls (agent, started_at, id);

-- One row per call an agent removed from their list of recent calls.
CREATE TABLE agent_hidden_calls (
    agent         TEXT NOT NULL,
    call_id       TEXT NOT NULL,
    hidden_at_ms  INTEGER NOT NULL,  -- unix milliseconds
    PRIMARY KEY (agent, call_id)
);

-- The agent may place outbound calls from the workstation (1) or not (0, the default).
ALTER TABLE agents ADD COLUMN can_dial_out INTEGER NOT NULL DEFAULT 0;
