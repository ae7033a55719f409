-- Business keys, searches by status, and route state for the admin API.
-- Keep in meaning with ../sqlite/0005_admin.sql.

-- A route's business keys (applyNo, PatientID, MSH-10 ...), one row per key
-- a message had a value for; deleted with its message, kept when retention
-- empties its bodies.
CREATE TABLE message_keys (
    message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    value      TEXT NOT NULL,
    PRIMARY KEY (message_id, name)
);
-- A key's messages, newest first by id (UUID v7).
CREATE INDEX message_keys_by_value ON message_keys (name, value, message_id);

-- A route's messages of one status newest first (a page of failed messages
-- among millions of processed ones); also serves counts per route and status.
DROP INDEX messages_by_route_status;
CREATE INDEX messages_by_route_status ON messages (route, status, received_at_us);

-- Paused routes take no messages and hold their deliveries; survives restarts and reloads.
CREATE TABLE route_state (
    route         TEXT    NOT NULL PRIMARY KEY,
    paused        BOOLEAN NOT NULL,
    changed_at_us BIGINT  NOT NULL,
    changed_by    TEXT
);
