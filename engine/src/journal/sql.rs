//! Reads that both backends run as written: `$n` placeholders (sqlx's SQLite
//! driver reads them as positions too) and JSON columns read through
//! `CAST(.. AS TEXT)`, which PostgreSQL needs for its `json` type and SQLite
//! passes through.

use super::records::{MessageFilter, MessageStatus, TEXT_SCAN_LIMIT};
use super::rows::micros;

/// `$1` route, `$2` destination, `$3` now, `$4` limit, `$5` the fewest
/// attempts made (1: only deliveries already attempted or put off). The
/// literal `status = 'pending'` lets the partial index `deliveries_due`
/// serve it. A re-delivery goes out under its original message's id
/// (`sent_as_id`).
pub(super) const DUE_DELIVERIES: &str = "\
    SELECT d.id, COALESCE(d.sent_as_id, d.message_id) AS message_id, d.route, d.destination, b.payload, \
           d.content_type, CAST(b.context AS TEXT) AS context, d.attempts, d.created_at_us, d.order_key \
    FROM deliveries d JOIN delivery_bodies b ON b.message_id = d.message_id AND b.body = d.body \
    WHERE d.status = 'pending' AND d.route = $1 AND d.destination = $2 AND d.next_attempt_at_us <= $3 \
      AND (d.attempts >= $5 OR d.next_attempt_at_us > d.created_at_us) \
    ORDER BY d.next_attempt_at_us, d.created_at_us, d.id \
    LIMIT $4";

/// The due heads of an ordered destination's lanes: in each lane, the
/// oldest pending delivery, if it is due; oldest first. A delivery outside
/// any lane (an operator's re-delivery) is its own head. `$1` route, `$2`
/// destination, `$3` now, `$4` limit. The lanes are listed, and each one's
/// head found, in `deliveries_in_order` alone; `deliveries_due` holds
/// `order_key` (migration 0006) so that only heads and deliveries outside a
/// lane are read from the table: a backlog costs an index scan, not a table
/// read per pending delivery (13 ms to 1.4 ms with 7,000 pending).
pub(super) const LANE_HEADS: &str = "\
    SELECT d.id, COALESCE(d.sent_as_id, d.message_id) AS message_id, d.route, d.destination, b.payload, \
           d.content_type, CAST(b.context AS TEXT) AS context, d.attempts, d.created_at_us, d.order_key \
    FROM deliveries d JOIN delivery_bodies b ON b.message_id = d.message_id AND b.body = d.body \
    WHERE d.status = 'pending' AND d.route = $1 AND d.destination = $2 AND d.next_attempt_at_us <= $3 \
      AND (d.order_key IS NULL OR d.id IN ( \
        SELECT (SELECT e.id FROM deliveries e \
                WHERE e.status = 'pending' AND e.order_key IS NOT NULL AND e.route = $1 \
                  AND e.destination = $2 AND e.order_key = lanes.order_key \
                ORDER BY e.created_at_us, e.id LIMIT 1) \
        FROM (SELECT DISTINCT order_key FROM deliveries \
              WHERE status = 'pending' AND order_key IS NOT NULL AND route = $1 AND destination = $2) lanes)) \
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
    SELECT d.id, d.destination, d.status, b.payload, d.content_type, CAST(b.context AS TEXT) AS context, \
           d.attempts, d.created_at_us, d.next_attempt_at_us, d.updated_at_us, d.last_error, \
           CAST(d.response AS TEXT) AS response, d.last_duration_us \
    FROM deliveries d JOIN delivery_bodies b ON b.message_id = d.message_id AND b.body = d.body \
    WHERE d.message_id = $1 \
    ORDER BY d.ordinal";

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

/// The condition of SQLite's partial status indexes (migration 0009): a
/// query for another status names it, so that the planner may use them.
pub(super) const NOT_PROCESSED: &str = "status <> 'processed'";

/// `$1` route, `$2` status, `$3` received from, `$4` received before, `$5` limit.
pub(super) fn select_by_status(status: MessageStatus) -> String {
    let not_processed = match status {
        MessageStatus::Processed => String::new(),
        _ => format!("AND {NOT_PROCESSED} "),
    };
    format!(
        "SELECT id FROM messages \
         WHERE route = $1 AND status = $2 {not_processed}AND received_at_us >= $3 AND received_at_us < $4 \
         ORDER BY received_at_us, id LIMIT $5"
    )
}

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
pub(super) fn prune_bodies(messages: usize) -> [String; 4] {
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
            "UPDATE delivery_bodies SET payload = '', context = '{{}}' \
             WHERE message_id IN ({ids}) AND NOT EXISTS (SELECT 1 FROM deliveries d \
               WHERE d.message_id = delivery_bodies.message_id AND d.body = delivery_bodies.body \
                 AND d.status = 'pending')"
        ),
        format!("UPDATE deliveries SET response = NULL WHERE status <> 'pending' AND message_id IN ({ids})"),
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

/// `$1` message id.
pub(super) const MESSAGE_KEYS: &str = "\
    SELECT message_id, name, value FROM message_keys WHERE message_id = $1 ORDER BY name";

/// The keys of the messages `$1`, `$2` ... (a page of a search).
pub(super) fn keys_of(messages: usize) -> String {
    format!(
        "SELECT message_id, name, value FROM message_keys WHERE message_id IN ({}) ORDER BY name",
        placeholders(1, messages)
    )
}

/// `$n, $n+1, ...`: `count` placeholders from `first`.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) const ROUTE_STATES: &str = "\
    SELECT route, paused, changed_at_us, changed_by FROM route_state ORDER BY route";

/// `$1` route, `$2` paused, `$3` when, `$4` by whom.
pub(super) const SET_ROUTE_STATE: &str = "\
    INSERT INTO route_state (route, paused, changed_at_us, changed_by) VALUES ($1, $2, $3, $4) \
    ON CONFLICT (route) DO UPDATE SET paused = excluded.paused, changed_at_us = excluded.changed_at_us, \
        changed_by = excluded.changed_by";

/// Deliveries waiting (pending) per route, from the partial index `deliveries_due`.
pub(super) const QUEUED_BY_ROUTE: &str = "\
    SELECT route, COUNT(*) AS n FROM deliveries WHERE status = 'pending' GROUP BY route";

/// Dead letters per route, from the partial index `deliveries_dead`.
pub(super) const DEAD_BY_ROUTE: &str = "\
    SELECT route, COUNT(*) AS n FROM deliveries WHERE status = 'dead' GROUP BY route";

/// The last rejected or failed message of route `$1`: one step down each
/// status of `messages_by_route_status` (whose condition each names).
pub(super) const LAST_ERROR: &str = "\
    SELECT received_at_us, CAST(error AS TEXT) AS error FROM ( \
        SELECT * FROM (SELECT received_at_us, error FROM messages \
                       WHERE route = $1 AND status = 'rejected' AND status <> 'processed' \
                       ORDER BY received_at_us DESC LIMIT 1) AS r \
        UNION ALL \
        SELECT * FROM (SELECT received_at_us, error FROM messages \
                       WHERE route = $1 AND status = 'failed' AND status <> 'processed' \
                       ORDER BY received_at_us DESC LIMIT 1) AS f \
    ) AS last ORDER BY received_at_us DESC LIMIT 1";

/// Messages of `[$1, $2)` by time bucket (`$3` microseconds wide, counted
/// from `$1`), status and latency class; `$4` route and `$5` caller when set.
pub(super) fn stats_over_time(route: bool, caller: bool) -> String {
    let mut sql = format!(
        "SELECT (m.received_at_us - $1) / $3 AS bucket, m.status, {} AS class, COUNT(*) AS n \
         FROM messages m WHERE m.received_at_us >= $1 AND m.received_at_us < $2",
        *super::stats::LATENCY_CLASS_SQL
    );
    if route {
        sql.push_str(" AND m.route = $4");
    }
    if caller {
        sql.push_str(if route {
            " AND m.caller = $5"
        } else {
            " AND m.caller = $4"
        });
    }
    sql.push_str(" GROUP BY bucket, m.status, class");
    sql
}

/// Messages of `[$1, $2)` with a caller, by caller, route, status and latency class.
pub(super) fn stats_by_caller() -> String {
    format!(
        "SELECT m.caller, m.route, m.status, {} AS class, COUNT(*) AS n FROM messages m \
         WHERE m.caller IS NOT NULL AND m.received_at_us >= $1 AND m.received_at_us < $2 \
         GROUP BY m.caller, m.route, m.status, class",
        *super::stats::LATENCY_CLASS_SQL
    )
}

/// The SQL each backend writes its own way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Dialect {
    Sqlite,
    Postgres,
}

/// A value to bind to a search, in placeholder order.
#[derive(Debug, PartialEq)]
pub(super) enum SearchArg {
    Text(String),
    Int(i64),
    Bytes(Vec<u8>),
}

/// The columns of a search's summaries.
const SUMMARY: &str = "m.id, m.route, m.received_at_us, m.status, m.content_type, m.duration_us, m.parent_id, \
    m.caller, CAST(m.error AS TEXT) AS error";

const NEWEST_FIRST: &str = "ORDER BY m.received_at_us DESC, m.id DESC";

/// A search's statements: the page (one row more than the limit, to tell
/// whether another page follows), and, for a text search, the last message
/// of the scanned window (present only when the window was full).
pub(super) struct Search {
    pub page: (String, Vec<SearchArg>),
    pub window_end: Option<(String, Vec<SearchArg>)>,
}

/// A message search, newest first. A key condition joins `message_keys`
/// through its index; a text condition reads the raw input of at most
/// `TEXT_SCAN_LIMIT` messages matching the other conditions.
pub(super) fn search(filter: &MessageFilter, dialect: Dialect) -> Search {
    let mut args = Vec::new();
    let from = from_and_where(filter, &mut args);
    let Some(text) = &filter.text else {
        args.push(SearchArg::Int(i64::from(filter.limit) + 1));
        let sql = format!("SELECT {SUMMARY} {from} {NEWEST_FIRST} LIMIT ${}", args.len());
        return Search {
            page: (sql, args),
            window_end: None,
        };
    };
    let mut window_args = Vec::new();
    let window_from = from_and_where(filter, &mut window_args);
    window_args.push(SearchArg::Int(i64::from(TEXT_SCAN_LIMIT) - 1));
    let window_end = format!(
        "SELECT m.received_at_us, m.id {window_from} {NEWEST_FIRST} LIMIT 1 OFFSET ${}",
        window_args.len()
    );

    args.push(SearchArg::Int(i64::from(TEXT_SCAN_LIMIT)));
    let scan_limit = args.len();
    args.push(SearchArg::Bytes(text.as_bytes().to_vec()));
    let contains = match dialect {
        Dialect::Sqlite => format!("instr(m.raw, ${}) > 0", args.len()),
        Dialect::Postgres => format!("position(${} IN m.raw) > 0", args.len()),
    };
    args.push(SearchArg::Int(i64::from(filter.limit) + 1));
    let sql = format!(
        "SELECT {SUMMARY} FROM (SELECT m.* {from} {NEWEST_FIRST} LIMIT ${scan_limit}) AS m \
         WHERE {contains} {NEWEST_FIRST} LIMIT ${}",
        args.len()
    );
    Search {
        page: (sql, args),
        window_end: Some((window_end, window_args)),
    }
}

/// `FROM ... WHERE ...` of every condition but the text.
fn from_and_where(filter: &MessageFilter, args: &mut Vec<SearchArg>) -> String {
    let mut conditions = Vec::new();
    let mut bind = |arg: SearchArg| {
        args.push(arg);
        format!("${}", args.len())
    };
    let mut from = String::from("FROM messages m");
    if let Some((name, value)) = &filter.key {
        let (name, value) = (
            bind(SearchArg::Text(name.clone())),
            bind(SearchArg::Text(value.clone())),
        );
        from.push_str(&format!(
            " JOIN message_keys k ON k.message_id = m.id AND k.name = {name} AND k.value = {value}"
        ));
    }
    if let Some(id) = &filter.id {
        conditions.push(format!("m.id = {}", bind(SearchArg::Text(id.clone()))));
    }
    if let Some(route) = &filter.route {
        conditions.push(format!("m.route = {}", bind(SearchArg::Text(route.clone()))));
    }
    if let Some(status) = filter.status {
        conditions.push(format!("m.status = {}", bind(SearchArg::Text(status.as_str().into()))));
        if status != MessageStatus::Processed {
            conditions.push(format!("m.{NOT_PROCESSED}"));
        }
    }
    if let Some(caller) = &filter.caller {
        conditions.push(format!("m.caller = {}", bind(SearchArg::Text(caller.clone()))));
    }
    if let Some(from) = filter.received_from {
        conditions.push(format!("m.received_at_us >= {}", bind(SearchArg::Int(micros(from)))));
    }
    if let Some(before) = filter.received_before {
        conditions.push(format!("m.received_at_us < {}", bind(SearchArg::Int(micros(before)))));
    }
    if filter.received_before.is_none() && filter.after.is_none() {
        // Without a range on the time, SQLite's planner may sort the whole
        // table rather than walk an index newest first.
        conditions.push(format!("m.received_at_us <= {}", bind(SearchArg::Int(i64::MAX))));
    }
    if let Some(after) = &filter.after {
        // The first half bounds the index range; the second breaks ties by id.
        let at = bind(SearchArg::Int(after.received_at_us));
        let id = bind(SearchArg::Text(after.id.clone()));
        conditions.push(format!(
            "m.received_at_us <= {at} AND (m.received_at_us < {at} OR m.id < {id})"
        ));
    }
    if !conditions.is_empty() {
        from.push_str(" WHERE ");
        from.push_str(&conditions.join(" AND "));
    }
    from
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::SearchCursor;

    #[test]
    fn search_numbers_only_the_conditions_set() {
        let filter = MessageFilter {
            status: Some(MessageStatus::Failed),
            limit: 5,
            ..MessageFilter::default()
        };
        let search = search(&filter, Dialect::Sqlite);
        let (sql, args) = search.page;
        assert!(
            sql.ends_with(
                "WHERE m.status = $1 AND m.status <> 'processed' AND m.received_at_us <= $2 \
                 ORDER BY m.received_at_us DESC, m.id DESC LIMIT $3"
            ),
            "{sql}"
        );
        assert_eq!(
            args,
            vec![
                SearchArg::Text("failed".into()),
                SearchArg::Int(i64::MAX),
                SearchArg::Int(6)
            ]
        );
        assert!(search.window_end.is_none());
    }

    #[test]
    fn a_text_search_reads_a_bounded_window_and_goes_on_after_a_cursor() {
        let filter = MessageFilter {
            key: Some(("applyNo".into(), "A1".into())),
            text: Some("张三".into()),
            after: Some(SearchCursor {
                received_at_us: 7,
                id: "x".into(),
            }),
            limit: 10,
            ..MessageFilter::default()
        };
        let search = search(&filter, Dialect::Postgres);
        let (sql, args) = search.page;
        assert!(sql.contains("JOIN message_keys k ON k.message_id = m.id AND k.name = $1 AND k.value = $2"));
        assert!(sql.contains("LIMIT $5) AS m WHERE position($6 IN m.raw) > 0"), "{sql}");
        assert_eq!(args[5], SearchArg::Bytes("张三".as_bytes().to_vec()));
        let (window, window_args) = search.window_end.unwrap();
        assert!(window.ends_with("LIMIT 1 OFFSET $5"), "{window}");
        assert_eq!(window_args[4], SearchArg::Int(i64::from(TEXT_SCAN_LIMIT) - 1));
    }
}
