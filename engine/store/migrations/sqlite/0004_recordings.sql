-- Call recordings: one stereo WAV per recorded call (caller left, the other side right). A row whose
-- ended_at is NULL at start-up belongs to a process that died: its file is repaired and the row closed.
CREATE TABLE recordings (
    id           TEXT PRIMARY KEY NOT NULL,  -- the call id: one recording per call
    call_id      TEXT NOT NULL,
    path         TEXT NOT NULL,              -- relative to the recordings folder
    started_at   INTEGER NOT NULL,
    ended_at     INTEGER,
    duration_ms  INTEGER,
    bytes        INTEGER,
    status       TEXT NOT NULL DEFAULT 'recording'  -- recording | complete | repaired | failed
);
CREATE INDEX recordings_call ON recordings (call_id);
CREATE INDEX recordings_open ON recordings (ended_at) WHERE ended_at IS NULL;
