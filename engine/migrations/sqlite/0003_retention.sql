-- Retention and reprocessing. Keep in meaning with ../postgres/0003_retention.sql.

-- When retention emptied the message's bodies (raw, trace, reply, the
-- payloads of its finished deliveries); NULL while they are whole.
ALTER TABLE messages ADD COLUMN pruned_at_us INTEGER;
-- The pruning job's way in: messages whose bodies are still whole, oldest first.
CREATE INDEX messages_unpruned ON messages (received_at_us) WHERE pruned_at_us IS NULL;

-- The message id a delivery's receivers see (X-Medbus-Message-Id): the
-- original message's for a re-delivery; NULL means `message_id`.
ALTER TABLE deliveries ADD COLUMN sent_as_id TEXT;
-- Dead letters by route and time, for bulk reprocessing.
CREATE INDEX deliveries_dead ON deliveries (route, created_at_us) WHERE status = 'dead';
