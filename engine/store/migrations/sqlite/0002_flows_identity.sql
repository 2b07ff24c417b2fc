-- Identity verification and survey results on the call record.
ALTER TABLE calls ADD COLUMN verified INTEGER;            -- 1 / 0, NULL when no verification ran
ALTER TABLE calls ADD COLUMN verify_method TEXT;          -- ani, keyed_number, keyed_id
ALTER TABLE calls ADD COLUMN verify_attempts INTEGER;
ALTER TABLE calls ADD COLUMN customer_id TEXT;
ALTER TABLE calls ADD COLUMN queue TEXT;                  -- the queue the flow handed the call to
ALTER TABLE calls ADD COLUMN rating INTEGER;              -- post-call survey, 1-5
ALTER TABLE calls ADD COLUMN fields TEXT NOT NULL DEFAULT '{}';  -- other values the flow recorded (JSON)

-- Every flow version ever activated, so a call record can name the version it ran.
CREATE TABLE flow_versions (
    name          TEXT NOT NULL,
    version       TEXT NOT NULL,
    file          TEXT NOT NULL,
    source        TEXT NOT NULL,
    node_id       TEXT NOT NULL,
    activated_at  INTEGER NOT NULL,                     -- unix milliseconds
    PRIMARY KEY (name, version)
);

-- Customers for identity verification against the database (`lookup: { table: customers }`).
CREATE TABLE customers (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL DEFAULT '',
    attributes  TEXT NOT NULL DEFAULT '{}'              -- JSON object of strings
);
CREATE TABLE customer_phones (
    phone        TEXT NOT NULL,                         -- E.164 as keyed or presented, digits and leading +
    customer_id  TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    PRIMARY KEY (phone, customer_id)
);
CREATE INDEX customer_phones_customer ON customer_phones (customer_id);
