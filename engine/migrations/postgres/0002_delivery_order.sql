-- Ordered destinations: each delivery's lane (one lane for `ordered: true`,
-- one per key for `ordered: {key: ...}`); NULL for unordered destinations.
-- A lane delivers one at a time, in the order its messages were received.
ALTER TABLE deliveries ADD COLUMN order_key TEXT;

-- The head of each lane: its oldest pending delivery. Unordered deliveries
-- (nearly all of them) stay out of it.
CREATE INDEX deliveries_in_order ON deliveries (route, destination, order_key, created_at_us, id)
    WHERE status = 'pending' AND order_key IS NOT NULL;
