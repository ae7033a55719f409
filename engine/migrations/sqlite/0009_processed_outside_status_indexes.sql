-- Processed messages, nearly all of them, stay out of the two status indexes:
-- a commit then writes two index pages fewer per message, which on one MLLP
-- connection is a fifth of a commit's pages. A look for processed messages
-- walks the route or time index instead, where they are most of what it
-- reads; a look for the other statuses names `status <> 'processed'`, the
-- indexes' own condition, so that SQLite can use them (engine/src/journal/sql.rs).
-- The route index carries the status, so a route's counts by status read it alone.
-- PostgreSQL keeps its full indexes: a prepared statement's generic plan
-- cannot use a partial index through a bound status.
DROP INDEX messages_by_status;
CREATE INDEX messages_by_status ON messages (status, received_at_us) WHERE status <> 'processed';
DROP INDEX messages_by_route_status;
CREATE INDEX messages_by_route_status ON messages (route, status, received_at_us) WHERE status <> 'processed';
DROP INDEX messages_by_route;
CREATE INDEX messages_by_route ON messages (route, received_at_us, status);
