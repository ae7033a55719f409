-- Who sent a message. Keep in meaning with ../postgres/0004_caller.sql.

-- The name of the secret an `authenticate` step matched (`vendor-120`);
-- NULL for messages of routes that authenticate nobody.
ALTER TABLE messages ADD COLUMN caller TEXT;
-- Statistics and searches per caller over time.
CREATE INDEX messages_by_caller ON messages (caller, received_at_us) WHERE caller IS NOT NULL;
