-- Call records: written when a call starts, finalized when it ends.
CREATE TABLE calls (
    id            TEXT PRIMARY KEY NOT NULL,      -- ULID
    sip_call_id   TEXT NOT NULL,
    from_uri      TEXT NOT NULL,
    from_user     TEXT NOT NULL,
    to_uri        TEXT NOT NULL,
    to_user       TEXT NOT NULL,
    source_addr   TEXT NOT NULL,
    node_id       TEXT NOT NULL,
    flow          TEXT,
    flow_version  TEXT,
    started_at    BIGINT NOT NULL,                -- unix milliseconds
    answered_at   BIGINT,
    ended_at      BIGINT,
    end_reason    TEXT,
    hangup_by     TEXT,
    keypresses    TEXT NOT NULL DEFAULT '',
    trail         TEXT NOT NULL DEFAULT '[]',     -- JSON array of TrailItem
    media_stats   TEXT                            -- JSON object, when the media leg closed
);
CREATE INDEX calls_started_at ON calls (started_at DESC);
CREATE INDEX calls_open ON calls (ended_at) WHERE ended_at IS NULL;
