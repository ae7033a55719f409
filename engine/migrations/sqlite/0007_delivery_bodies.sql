-- Deliveries' payloads and contexts apart from their state, one per message
-- where its deliveries carry the same. Recording an attempt's outcome rewrites
-- the B-tree pages holding the delivery's row: with the payload and context
-- inline, about four deliveries filled a page (one with the Xiamen hub's
-- records); the state alone is a small row, so a commit's outcomes touch a
-- few pages. The hub sends the same record to the hospital and to its
-- database: stored once. Keep in meaning with ../postgres/0007_delivery_bodies.sql.

-- Written once with its message, emptied by retention, deleted with it.
CREATE TABLE delivery_bodies (
    message_id TEXT    NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    body       INTEGER NOT NULL,  -- the ordinal of the first of the message's deliveries carrying it
    payload    TEXT    NOT NULL,
    context    TEXT    NOT NULL,  -- JSON
    PRIMARY KEY (message_id, body)
);

-- A delivery's payload and context: the body of its message with this number.
ALTER TABLE deliveries ADD COLUMN body INTEGER NOT NULL DEFAULT 0;
UPDATE deliveries SET body = ordinal;
INSERT INTO delivery_bodies (message_id, body, payload, context)
    SELECT message_id, ordinal, payload, context FROM deliveries;
ALTER TABLE deliveries DROP COLUMN payload;
ALTER TABLE deliveries DROP COLUMN context;
