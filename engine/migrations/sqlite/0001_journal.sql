-- The journal: every message medbus received, what it did with it, and what
-- it still has to deliver. Times are unix microseconds (UTC); JSON is text.
-- Keep in meaning with ../postgres/0001_journal.sql.

CREATE TABLE messages (
    id             TEXT    NOT NULL PRIMARY KEY,
    route          TEXT    NOT NULL,
    received_at_us INTEGER NOT NULL,
    status         TEXT    NOT NULL CHECK (status IN ('processed', 'filtered', 'rejected', 'failed')),
    source         TEXT    NOT NULL,  -- JSON: headers, method, path, remote
    content_type   TEXT,
    raw            BLOB    NOT NULL,
    trace          TEXT    NOT NULL,  -- JSON array, one entry per step
    reply          TEXT,              -- JSON
    error          TEXT,              -- JSON {kind, code, message}
    duration_us    INTEGER NOT NULL,
    parent_id      TEXT
);

CREATE INDEX messages_by_route ON messages (route, received_at_us);
CREATE INDEX messages_by_time ON messages (received_at_us);
CREATE INDEX messages_by_status ON messages (status, received_at_us);
CREATE INDEX messages_by_route_status ON messages (route, status);

CREATE TABLE deliveries (
    id                 TEXT    NOT NULL PRIMARY KEY,
    message_id         TEXT    NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    route              TEXT    NOT NULL,
    destination        TEXT    NOT NULL,
    ordinal            INTEGER NOT NULL,  -- place among the message's deliveries
    status             TEXT    NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
    payload            TEXT    NOT NULL,
    content_type       TEXT    NOT NULL,
    context            TEXT    NOT NULL,  -- JSON
    attempts           INTEGER NOT NULL,
    created_at_us      INTEGER NOT NULL,
    next_attempt_at_us INTEGER,           -- set while pending
    updated_at_us      INTEGER NOT NULL,
    last_error         TEXT,
    response           TEXT               -- JSON, of the last attempt
);

CREATE INDEX deliveries_of_message ON deliveries (message_id);
-- Only pending deliveries: delivered ones, the vast majority, cost it nothing.
CREATE INDEX deliveries_due ON deliveries (route, destination, next_attempt_at_us, created_at_us, id)
    WHERE status = 'pending';

CREATE TABLE delivery_attempts (
    id          INTEGER NOT NULL PRIMARY KEY,
    delivery_id TEXT    NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    attempt     INTEGER NOT NULL,
    at_us       INTEGER NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
    error       TEXT,
    response    TEXT,                     -- JSON
    duration_us INTEGER NOT NULL
);

CREATE INDEX delivery_attempts_of_delivery ON delivery_attempts (delivery_id);
