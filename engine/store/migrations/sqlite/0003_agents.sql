-- Agents: who may REGISTER a phone and take contacts. Passwords are never stored: only the digest HA1
-- values for the SIP realm (MD5 and SHA-256), computed when the password is set.
CREATE TABLE agents (
    id          TEXT PRIMARY KEY NOT NULL,   -- the SIP user / extension, e.g. "1001"
    name        TEXT NOT NULL,
    realm       TEXT NOT NULL,
    ha1_md5     TEXT NOT NULL,
    ha1_sha256  TEXT NOT NULL,
    skills      TEXT NOT NULL DEFAULT '{}', -- JSON object: skill → level 1-10
    queues      TEXT NOT NULL DEFAULT '[]', -- JSON array of queue names
    max_chats   INTEGER NOT NULL DEFAULT 5,
    created_at  INTEGER NOT NULL
);
