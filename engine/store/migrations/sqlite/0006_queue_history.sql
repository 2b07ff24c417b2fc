-- The queue's history: every time a contact waits in a queue, every offer of it to an agent, every change
-- of an agent's status or state, and every workstation login session. Rows still open at start-up belong
-- to a process that died: they are closed with the outcome (or end reason) `interrupted`.

-- One row per time a contact (a call or a chat) waits in a queue.
CREATE TABLE queue_entries (
    id               TEXT PRIMARY KEY NOT NULL,   -- a ULID given by the engine
    interaction      TEXT NOT NULL,               -- the call's or the chat's id
    channel          TEXT NOT NULL,               -- call | chat
    queue            TEXT NOT NULL,
    priority         INTEGER NOT NULL,
    node_id          TEXT NOT NULL,
    joined_at_ms     INTEGER NOT NULL,            -- unix milliseconds
    connected_at_ms  INTEGER,
    agent            TEXT,                        -- who took it
    left_at_ms       INTEGER,
    outcome          TEXT                         -- finished | abandoned | timeout | overflow | callback | …
);
CREATE INDEX queue_entries_interaction ON queue_entries (interaction);
CREATE INDEX queue_entries_queue_joined ON queue_entries (queue, joined_at_ms);

-- One row per offer of a queue entry to an agent.
CREATE TABLE queue_offers (
    id             TEXT PRIMARY KEY NOT NULL,     -- a ULID given by the engine
    entry_id       TEXT NOT NULL REFERENCES queue_entries (id) ON DELETE CASCADE,
    agent          TEXT NOT NULL,
    offered_at_ms  INTEGER NOT NULL,              -- unix milliseconds
    ended_at_ms    INTEGER,
    outcome        TEXT                           -- answered | declined | no_answer | withdrawn | …
);
CREATE INDEX queue_offers_entry ON queue_offers (entry_id);
CREATE INDEX queue_offers_agent_offered ON queue_offers (agent, offered_at_ms);

-- One row per change of an agent's status (the agent's choice) or state (the system's view).
CREATE TABLE agent_status_history (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    agent    TEXT NOT NULL,
    status   TEXT NOT NULL,                       -- idle | busy | break | meeting | offline
    state    TEXT NOT NULL,                       -- waiting | offered | in_call | wrap_up | …
    reason   TEXT NOT NULL DEFAULT '',
    node_id  TEXT NOT NULL,
    at_ms    INTEGER NOT NULL                     -- unix milliseconds
);
CREATE INDEX agent_status_history_agent_at ON agent_status_history (agent, at_ms);

-- One row per workstation login session (the id is not the session's secret token).
CREATE TABLE agent_sessions (
    id             TEXT PRIMARY KEY NOT NULL,     -- a ULID given by the engine
    agent          TEXT NOT NULL,
    node_id        TEXT NOT NULL,
    source         TEXT NOT NULL DEFAULT '',      -- the client's address
    started_at_ms  INTEGER NOT NULL,              -- unix milliseconds
    ended_at_ms    INTEGER,
    end_reason     TEXT                           -- logout | expired | interrupted
);
CREATE INDEX agent_sessions_agent_started ON agent_sessions (agent, started_at_ms);

-- An agent may be offered chats while on a call (1) or not (0, the default).
ALTER TABLE agents ADD COLUMN chat_during_call INTEGER NOT NULL DEFAULT 0;
