-- Web chats: opened when a customer starts one, accepted by an agent, ended by either side. A chat not
-- ended at start-up belongs to a process that died: it is closed with the end reason `interrupted`.
CREATE TABLE chats (
    id               TEXT PRIMARY KEY NOT NULL,
    queue            TEXT NOT NULL,                   -- changes when the chat overflows into another queue
    customer_number  TEXT,                            -- normalized: digits and leading +
    customer_id      TEXT,
    customer_name    TEXT NOT NULL DEFAULT '',
    node_id          TEXT NOT NULL,
    agent            TEXT,
    status           TEXT NOT NULL DEFAULT 'queued',  -- queued | active | ended
    end_reason       TEXT,
    started_at_ms    BIGINT NOT NULL,                 -- unix milliseconds
    accepted_at_ms   BIGINT,
    ended_at_ms      BIGINT
);
CREATE INDEX chats_customer_number ON chats (customer_number);
CREATE INDEX chats_customer_id ON chats (customer_id);
CREATE INDEX chats_node_status ON chats (node_id, status);

-- A chat's messages, numbered from the engine (a message written twice is kept once).
CREATE TABLE chat_messages (
    chat_id  TEXT NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    seq      BIGINT NOT NULL,
    sender   TEXT NOT NULL,                           -- customer | agent | system
    agent    TEXT,
    body     TEXT NOT NULL,
    at_ms    BIGINT NOT NULL,                         -- unix milliseconds
    PRIMARY KEY (chat_id, seq)
);

-- The agent who took a call, and a customer's calls for their timeline.
ALTER TABLE calls ADD COLUMN agent TEXT;
CREATE INDEX calls_customer ON calls (customer_id);

-- Which engine holds an agent, until when. Engines sharing one database claim an agent here before they
-- offer it a contact, so an agent is never offered by two engines at once; a dead engine's claims expire.
CREATE TABLE agent_leases (
    agent           TEXT PRIMARY KEY NOT NULL,
    node_id         TEXT NOT NULL,
    lease_until_ms  BIGINT NOT NULL                      -- unix milliseconds
);
