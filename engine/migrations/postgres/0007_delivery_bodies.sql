-- Deliveries' payloads and contexts apart from their state, one per message
-- where its deliveries carry the same: recording an attempt's outcome writes
-- a small row version instead of a copy of the payload and context, and the
-- Xiamen hub's record, sent to the hospital and to its database, is stored
-- once. Keep in meaning with ../sqlite/0007_delivery_bodies.sql.

-- Written once with its message, emptied by retention, deleted with it.
CREATE TABLE delivery_bodies (
    message_id TEXT   NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    body       BIGINT NOT NULL,  -- the ordinal of the first of the message's deliveries carrying it
    payload    TEXT   NOT NULL,
    context    JSON   NOT NULL,
    PRIMARY KEY (message_id, body)
);

-- A delivery's payload and context: the body of its message with this number.
ALTER TABLE deliveries ADD COLUMN body BIGINT NOT NULL DEFAULT 0;
UPDATE deliveries SET body = ordinal;
INSERT INTO delivery_bodies (message_id, body, payload, context)
    SELECT message_id, ordinal, payload, context FROM deliveries;
ALTER TABLE deliveries DROP COLUMN payload;
ALTER TABLE deliveries DROP COLUMN context;
