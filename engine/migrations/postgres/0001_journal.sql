-- The journal: every message medbus received, what it did with it, and what
-- it still has to deliver. Times are unix microseconds (UTC), as on SQLite;
-- `json` (not `jsonb`) keeps each document exactly as written, key order included.
-- Keep in meaning with ../sqlite/0001_journal.sql.

CREATE TABLE messages (
    id             TEXT   NOT NULL PRIMARY KEY,
    route          TEXT   NOT NULL,
    received_at_us BIGINT NOT NULL,
    status         TEXT   NOT NULL CHECK (status IN ('processed', 'filtered', 'rejected', 'failed')),
    source         JSON   NOT NULL,  -- headers, method, path, remote
    content_type   TEXT,
    raw            BYTEA  NOT NULL,
    trace          JSON   NOT NULL,  -- array, one entry per step
    reply          JSON,
    error          JSON,             -- {kind, code, message}
    duration_us    BIGINT NOT NULL,
    parent_id      TEXT
);

CREATE INDEX messages_by_route ON messages (route, received_at_us);
CREATE INDEX messages_by_time ON messages (received_at_us);
CREATE INDEX messages_by_status ON messages (status, received_at_us);
CREATE INDEX messages_by_route_status ON messages (route, status);

CREATE TABLE deliveries (
    id                 TEXT   NOT NULL PRIMARY KEY,
    message_id         TEXT   NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    route              TEXT   NOT NULL,
    destination        TEXT   NOT NULL,
    ordinal            BIGINT NOT NULL,   -- place among the message's deliveries
    status             TEXT   NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
    payload            TEXT   NOT NULL,
    content_type       TEXT   NOT NULL,
    context            JSON   NOT NULL,
    attempts           BIGINT NOT NULL,
    created_at_us      BIGINT NOT NULL,
    next_attempt_at_us BIGINT,           -- set while pending
    updated_at_us      BIGINT NOT NULL,
    last_error         TEXT,
    response           JSON              -- of the last attempt
);

CREATE INDEX deliveries_of_message ON deliveries (message_id);
-- Only pending deliveries: delivered ones, the vast majority, cost it nothing.
CREATE INDEX deliveries_due ON deliveries (route, destination, next_attempt_at_us, created_at_us, id)
    WHERE status = 'pending';

CREATE TABLE delivery_attempts (
    id          BIGINT NOT NULL GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id TEXT   NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    attempt     BIGINT NOT NULL,
    at_us       BIGINT NOT NULL,
    status      TEXT   NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
    error       TEXT,
    response    JSON,
    duration_us BIGINT NOT NULL
);

CREATE INDEX delivery_attempts_of_delivery ON delivery_attempts (delivery_id);
