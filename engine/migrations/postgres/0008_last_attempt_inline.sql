-- A delivery's last attempt is its row: status, attempts, updated_at_us,
-- last_error and response already said what it did, and this its duration.
-- delivery_attempts keeps the attempts before it, so that a delivery done
-- at the first attempt (nearly all) writes no history row and no index
-- entry. Set when an outcome is recorded; NULL while the row holds none
-- apart from delivery_attempts (new deliveries, and every row written
-- before this migration, whose history is whole in delivery_attempts).
-- Keep in meaning with ../sqlite/0008_last_attempt_inline.sql.
ALTER TABLE deliveries ADD COLUMN last_duration_us BIGINT;
