//! Reads that both backends run as written: `$n` placeholders (sqlx's SQLite
//! driver reads them as positions too) and JSON columns read through
//! `CAST(.. AS TEXT)`, which PostgreSQL needs for its `json` type and SQLite
//! passes through.

use super::records::MessageFilter;
use super::rows::micros;

/// `$1` route, `$2` destination, `$3` now, `$4` limit, `$5` the fewest
/// attempts made (1: only deliveries already attempted or put off). The
/// literal `status = 'pending'` lets the partial index `deliveries_due`
/// serve it. A re-delivery goes out under its original message's id
/// (`sent_as_id`).
pub(super) const DUE_DELIVERIES: &str = "\
    SELECT id, COALESCE(sent_as_id, message_id) AS message_id, route, destination, payload, content_type, \
           CAST(context AS TEXT) AS context, attempts, created_at_us, order_key \
    FROM deliveries \
    WHERE status = 'pending' AND route = $1 AND destination = $2 AND next_attempt_at_us <= $3 \
      AND (attempts >= $5 OR next_attempt_at_us > created_at_us) \
    ORDER BY next_attempt_at_us, created_at_us, id \
    LIMIT $4";

/// The due heads of an ordered destination's lanes: in each lane, the
/// oldest pending delivery, if it is due; oldest first. A delivery outside
/// any lane (an operator's re-delivery) is its own head. `$1` route, `$2`
/// destination, `$3` now, `$4` limit. Lanes are looked up in
/// `deliveries_in_order`.
pub(super) const LANE_HEADS: &str = "\
    SELECT d.id, COALESCE(d.sent_as_id, d.message_id) AS message_id, d.route, d.destination, d.payload, \
           d.content_type, \
           CAST(d.context AS TEXT) AS context, d.attempts, d.created_at_us, d.order_key \
    FROM deliveries d \
    WHERE d.status = 'pending' AND d.route = $1 AND d.destination = $2 AND d.next_attempt_at_us <= $3 \
      AND (d.order_key IS NULL OR NOT EXISTS ( \
        SELECT 1 FROM deliveries e \
        WHERE e.status = 'pending' AND e.order_key IS NOT NULL AND e.route = d.route \
          AND e.destination = d.destination AND e.order_key = d.order_key \
          AND (e.created_at_us < d.created_at_us OR (e.created_at_us = d.created_at_us AND e.id < d.id)))) \
    ORDER BY d.created_at_us, d.id \
    LIMIT $4";

pub(super) const PENDING_DESTINATIONS: &str = "\
    SELECT DISTINCT route, destination FROM deliveries \
    WHERE status = 'pending' \
    ORDER BY route, destination";

/// `$1` message id.
pub(super) const MESSAGE: &str = "\
    SELECT id, route, received_at_us, status, CAST(source AS TEXT) AS source, content_type, raw, \
           CAST(trace AS TEXT) AS trace, CAST(reply AS TEXT) AS reply, \
           CAST(error AS TEXT) AS error, duration_us, parent_id, pruned_at_us, caller \
    FROM messages WHERE id = $1";

/// `$1` message id.
pub(super) const MESSAGE_DELIVERIES: &str = "\
    SELECT id, destination, status, payload, content_type, CAST(context AS TEXT) AS context, \
           attempts, created_at_us, next_attempt_at_us, updated_at_us, last_error, \
           CAST(response AS TEXT) AS response \
    FROM deliveries WHERE message_id = $1 \
    ORDER BY ordinal";

/// `$1` message id.
pub(super) const MESSAGE_ATTEMPTS: &str = "\
    SELECT a.delivery_id, a.attempt, a.at_us, a.status, a.error, \
           CAST(a.response AS TEXT) AS response, a.duration_us \
    FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id \
    WHERE d.message_id = $1 \
    ORDER BY a.id";

pub(super) const COUNT_BY_STATUS: &str = "\
    SELECT status, COUNT(*) AS n FROM messages GROUP BY status ORDER BY status";

/// `$1` route.
pub(super) const COUNT_BY_STATUS_OF_ROUTE: &str = "\
    SELECT status, COUNT(*) AS n FROM messages WHERE route = $1 GROUP BY status ORDER BY status";

/// `$1` route, `$2` status, `$3` received from, `$4` received before, `$5` limit.
pub(super) const SELECT_BY_STATUS: &str = "\
    SELECT id FROM messages \
    WHERE route = $1 AND status = $2 AND received_at_us >= $3 AND received_at_us < $4 \
    ORDER BY received_at_us, id LIMIT $5";

/// `$1` route, `$2` received from, `$3` received before, `$4` limit. A
/// delivery is created when its message was received, so `created_at_us`
/// is the message's time; the partial index `deliveries_dead` serves it.
pub(super) const SELECT_DEAD: &str = "\
    SELECT message_id AS id, MIN(created_at_us) AS first_us FROM deliveries \
    WHERE status = 'dead' AND route = $1 AND created_at_us >= $2 AND created_at_us < $3 \
    GROUP BY message_id ORDER BY first_us, message_id LIMIT $4";

/// `$1` route, `$2` destination, `$3` received from, `$4` received before, `$5` limit.
pub(super) const SELECT_DEAD_TO: &str = "\
    SELECT message_id AS id FROM deliveries \
    WHERE status = 'dead' AND route = $1 AND destination = $2 \
      AND created_at_us >= $3 AND created_at_us < $4 \
    ORDER BY created_at_us, message_id LIMIT $5";

/// Messages whose bodies retention may empty, oldest first, after the
/// cursor (`$1` time, `$2` id): none of their deliveries pending, older
/// than their own cutoff (`$3` bodies, `$4` errors: rejected, failed or
/// with a dead delivery), `$5` the later cutoff of both, `$6` limit.
pub(super) const PRUNABLE: &str = "\
    SELECT m.id, m.received_at_us FROM messages m \
    WHERE m.pruned_at_us IS NULL AND m.received_at_us < $5 \
      AND (m.received_at_us > $1 OR (m.received_at_us = $1 AND m.id > $2)) \
      AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = m.id AND d.status = 'pending') \
      AND m.received_at_us < CASE \
          WHEN m.status IN ('rejected', 'failed') \
            OR EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = m.id AND d.status = 'dead') \
          THEN $4 ELSE $3 END \
    ORDER BY m.received_at_us, m.id LIMIT $6";

/// Empties the bodies of the messages `$3`, `$4` ... (`$1` the empty raw,
/// `$2` now), of their finished deliveries and of their attempts.
pub(super) fn prune_bodies(messages: usize) -> [String; 3] {
    let ids = (3..3 + messages)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ");
    [
        format!(
            "UPDATE messages SET raw = $1, trace = '[]', reply = NULL, pruned_at_us = $2 \
             WHERE id IN ({ids})"
        ),
        format!(
            "UPDATE deliveries SET payload = '', context = '{{}}', response = NULL \
             WHERE status <> 'pending' AND message_id IN ({ids})"
        ),
        format!(
            "UPDATE delivery_attempts SET response = NULL \
             WHERE delivery_id IN (SELECT id FROM deliveries WHERE message_id IN ({ids}))"
        ),
    ]
}

/// Deletes (with their deliveries and attempts) up to `$2` messages received
/// before `$1`, oldest first, none of whose deliveries is pending.
pub(super) const DELETE_OLD: &str = "\
    DELETE FROM messages WHERE id IN ( \
        SELECT m.id FROM messages m \
        WHERE m.received_at_us < $1 \
          AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = m.id AND d.status = 'pending') \
        ORDER BY m.received_at_us LIMIT $2)";

/// A value to bind to a search, in placeholder order.
#[derive(Debug, PartialEq)]
pub(super) enum SearchArg {
    Text(String),
    Int(i64),
}

/// A message search: the conditions the filter sets, newest first.
pub(super) fn search(filter: &MessageFilter) -> (String, Vec<SearchArg>) {
    let mut conditions = Vec::new();
    let mut args = Vec::new();
    let mut condition = |sql: &str, arg: SearchArg| {
        args.push(arg);
        conditions.push(format!("{sql} ${}", args.len()));
    };
    if let Some(route) = &filter.route {
        condition("route =", SearchArg::Text(route.clone()));
    }
    if let Some(status) = filter.status {
        condition("status =", SearchArg::Text(status.as_str().to_string()));
    }
    if let Some(from) = filter.received_from {
        condition("received_at_us >=", SearchArg::Int(micros(from)));
    }
    if let Some(before) = filter.received_before {
        condition("received_at_us <", SearchArg::Int(micros(before)));
    }
    let mut sql = String::from(
        "SELECT id, route, received_at_us, status, content_type, duration_us, parent_id, caller, \
         CAST(error AS TEXT) AS error FROM messages",
    );
    if !conditions.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conditions.join(" AND "));
    }
    args.push(SearchArg::Int(i64::from(filter.limit)));
    sql.push_str(&format!(" ORDER BY received_at_us DESC LIMIT ${}", args.len()));
    (sql, args)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::MessageStatus;

    #[test]
    fn search_numbers_only_the_conditions_set() {
        let filter = MessageFilter {
            status: Some(MessageStatus::Failed),
            limit: 5,
            ..MessageFilter::default()
        };
        let (sql, args) = search(&filter);
        assert!(
            sql.ends_with("WHERE status = $1 ORDER BY received_at_us DESC LIMIT $2"),
            "{sql}"
        );
        assert_eq!(args, vec![SearchArg::Text("failed".into()), SearchArg::Int(5)]);
    }
}
