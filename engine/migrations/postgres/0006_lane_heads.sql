-- Ordered destinations find each lane's head without reading every pending
-- delivery's row: with order_key in the due index, the deliveries outside a
-- lane (order_key NULL) and the lane heads are picked from the index alone.
-- Keep in meaning with the other backend's 0006_lane_heads.sql.
DROP INDEX deliveries_due;
CREATE INDEX deliveries_due ON deliveries (route, destination, next_attempt_at_us, created_at_us, id, order_key)
    WHERE status = 'pending';
