//! The queries both backends run as written (sqlx binds `$n` placeholders
//! on SQLite too), generated into each store by a macro: the pool and row
//! types differ, the text does not. What differs is passed in: how a read
//! snapshot and a short write transaction begin, and the cast that turns
//! text into JSON (`::json` on PostgreSQL, nothing on SQLite).

macro_rules! shared_queries {
    (
        $store:ty,
        $row:ty,
        begin_read: $begin_read:literal,
        begin_write: $begin_write:literal,
        json: $json:literal,
        dialect: $dialect:expr
    ) => {
        impl $store {
            pub async fn due_deliveries(&self, query: &DueQuery<'_>) -> Result<Vec<PendingDelivery>, JournalError> {
                let (text, fewest_attempts) = match query.kind {
                    DueKind::All => (sql::DUE_DELIVERIES, Some(0)),
                    DueKind::Retries => (sql::DUE_DELIVERIES, Some(1)),
                    DueKind::LaneHeads => (sql::LANE_HEADS, None),
                };
                let mut q = sqlx::query(text)
                    .bind(query.route)
                    .bind(query.destination)
                    .bind(query.now_us)
                    .bind(i64::from(query.limit));
                if let Some(fewest) = fewest_attempts {
                    q = q.bind(fewest as i64);
                }
                let rows = q.fetch_all(&self.reader).await?;
                rows.iter().map(rows::pending_delivery).collect()
            }

            pub async fn pending_destinations(&self) -> Result<Vec<(String, String)>, JournalError> {
                let rows = sqlx::query(sql::PENDING_DESTINATIONS).fetch_all(&self.reader).await?;
                rows.iter()
                    .map(|row| Ok((row.text("route")?, row.text("destination")?)))
                    .collect()
            }

            pub async fn message(&self, id: &str) -> Result<Option<StoredMessage>, JournalError> {
                // One read transaction: one snapshot of the message and its deliveries.
                let mut tx = self.reader.begin_with($begin_read).await?;
                let Some(row) = sqlx::query(sql::MESSAGE).bind(id).fetch_optional(&mut *tx).await? else {
                    return Ok(None);
                };
                let message = rows::stored_message(&row)?;
                let deliveries = sqlx::query(sql::MESSAGE_DELIVERIES)
                    .bind(id)
                    .fetch_all(&mut *tx)
                    .await?
                    .iter()
                    .map(rows::stored_delivery)
                    .collect::<Result<Vec<_>, _>>()?;
                let attempts = sqlx::query(sql::MESSAGE_ATTEMPTS)
                    .bind(id)
                    .fetch_all(&mut *tx)
                    .await?
                    .iter()
                    .map(rows::attempt)
                    .collect::<Result<Vec<_>, _>>()?;
                let keys = sqlx::query(sql::MESSAGE_KEYS)
                    .bind(id)
                    .fetch_all(&mut *tx)
                    .await?
                    .iter()
                    .map(|row| rows::key(row).map(|(_, name, value)| (name, value)))
                    .collect::<Result<Vec<_>, _>>()?;
                tx.commit().await?;
                let mut message = rows::assemble(message, deliveries, attempts);
                message.keys = keys;
                Ok(Some(message))
            }

            pub async fn search(&self, filter: &MessageFilter) -> Result<SearchPage, JournalError> {
                let search = sql::search(filter, $dialect);
                let (text, args) = &search.page;
                let rows = bind_search(sqlx::query(text), args).fetch_all(&self.reader).await?;
                let mut messages = rows.iter().map(rows::summary).collect::<Result<Vec<_>, _>>()?;
                let more = messages.len() > filter.limit as usize;
                messages.truncate(filter.limit as usize);
                let cursor_of = |m: &MessageSummary| SearchCursor {
                    received_at_us: rows::micros(m.received_at),
                    id: m.id.clone(),
                };
                let mut page = SearchPage {
                    next: messages.last().filter(|_| more).map(cursor_of),
                    messages,
                    truncated: false,
                };
                if let (false, Some((text, args))) = (more, &search.window_end) {
                    let end = bind_search(sqlx::query(text), args).fetch_optional(&self.reader).await?;
                    if let Some(end) = end {
                        page.truncated = true;
                        page.next = Some(SearchCursor {
                            received_at_us: end.int("received_at_us")?,
                            id: end.text("id")?,
                        });
                    }
                }
                if !page.messages.is_empty() {
                    let statement = sql::keys_of(page.messages.len());
                    let mut query = sqlx::query(&statement);
                    for message in &page.messages {
                        query = query.bind(message.id.as_str());
                    }
                    for row in query.fetch_all(&self.reader).await? {
                        let (id, name, value) = rows::key(&row)?;
                        if let Some(message) = page.messages.iter_mut().find(|m| m.id == id) {
                            message.keys.push((name, value));
                        }
                    }
                }
                Ok(page)
            }

            /// Counts by time bucket, status and latency class.
            pub async fn stats_over_time(&self, query: &StatsQuery) -> Result<Vec<StatsRow<i64>>, JournalError> {
                let text = sql::stats_over_time(query.route.is_some(), query.caller.is_some());
                let mut q = sqlx::query(&text)
                    .bind(rows::micros(query.from))
                    .bind(rows::micros(query.to))
                    .bind(query.bucket_us);
                for value in [&query.route, &query.caller].into_iter().flatten() {
                    q = q.bind(value.as_str());
                }
                let found = q.fetch_all(&self.reader).await?;
                found.iter().map(|row| rows::stats_row(row, row.int("bucket")?)).collect()
            }

            /// Counts by caller and route, status and latency class.
            pub async fn stats_by_caller(
                &self,
                from: chrono::DateTime<chrono::Utc>,
                to: chrono::DateTime<chrono::Utc>,
            ) -> Result<Vec<StatsRow<(String, String)>>, JournalError> {
                let found = sqlx::query(&sql::stats_by_caller())
                    .bind(rows::micros(from))
                    .bind(rows::micros(to))
                    .fetch_all(&self.reader)
                    .await?;
                found
                    .iter()
                    .map(|row| rows::stats_row(row, (row.text("caller")?, row.text("route")?)))
                    .collect()
            }

            /// Every route an operator paused or resumed.
            pub async fn route_states(&self) -> Result<Vec<RouteState>, JournalError> {
                let rows = sqlx::query(sql::ROUTE_STATES).fetch_all(&self.reader).await?;
                rows.iter().map(rows::route_state).collect()
            }

            /// Pending and dead deliveries per route: (route, pending, dead).
            pub async fn delivery_counts(&self) -> Result<Vec<(String, i64, i64)>, JournalError> {
                let mut counts: std::collections::BTreeMap<String, (i64, i64)> = Default::default();
                for row in sqlx::query(sql::QUEUED_BY_ROUTE).fetch_all(&self.reader).await? {
                    counts.entry(row.text("route")?).or_default().0 = row.int("n")?;
                }
                for row in sqlx::query(sql::DEAD_BY_ROUTE).fetch_all(&self.reader).await? {
                    counts.entry(row.text("route")?).or_default().1 = row.int("n")?;
                }
                Ok(counts.into_iter().map(|(route, (pending, dead))| (route, pending, dead)).collect())
            }

            /// When the route's last rejected or failed message came, with its error.
            pub async fn last_error(
                &self,
                route: &str,
            ) -> Result<Option<(chrono::DateTime<chrono::Utc>, Option<serde_json::Value>)>, JournalError> {
                let row = sqlx::query(sql::LAST_ERROR).bind(route).fetch_optional(&self.reader).await?;
                row.map(|row| Ok((row.time("received_at_us")?, row.json_opt("error")?))).transpose()
            }

            pub async fn count_by_status(&self, route: Option<&str>) -> Result<Vec<(String, i64)>, JournalError> {
                let query = match route {
                    Some(route) => sqlx::query(sql::COUNT_BY_STATUS_OF_ROUTE).bind(route),
                    None => sqlx::query(sql::COUNT_BY_STATUS),
                };
                let rows = query.fetch_all(&self.reader).await?;
                rows.iter()
                    .map(|row| Ok((row.text("status")?, row.int("n")?)))
                    .collect()
            }
        }

        impl JournalRow for $row {
            fn text(&self, column: &str) -> Result<String, JournalError> {
                Ok(self.try_get(column)?)
            }
            fn text_opt(&self, column: &str) -> Result<Option<String>, JournalError> {
                Ok(self.try_get(column)?)
            }
            fn int(&self, column: &str) -> Result<i64, JournalError> {
                Ok(self.try_get(column)?)
            }
            fn int_opt(&self, column: &str) -> Result<Option<i64>, JournalError> {
                Ok(self.try_get(column)?)
            }
            fn blob(&self, column: &str) -> Result<Vec<u8>, JournalError> {
                Ok(self.try_get(column)?)
            }
            fn flag(&self, column: &str) -> Result<bool, JournalError> {
                Ok(self.try_get(column)?)
            }
        }

        /// Binds a search's arguments in placeholder order.
        fn bind_search<'q>(
            mut query: sqlx::query::Query<'q, <$row as sqlx::Row>::Database, <<$row as sqlx::Row>::Database as sqlx::Database>::Arguments<'q>>,
            args: &'q [SearchArg],
        ) -> sqlx::query::Query<'q, <$row as sqlx::Row>::Database, <<$row as sqlx::Row>::Database as sqlx::Database>::Arguments<'q>> {
            for arg in args {
                query = match arg {
                    SearchArg::Text(s) => query.bind(s.as_str()),
                    SearchArg::Int(i) => query.bind(*i),
                    SearchArg::Bytes(b) => query.bind(b.as_slice()),
                };
            }
            query
        }

        /// Reprocessing and retention. Their writes are short transactions of
        /// their own on the writing connection, taken between the writer's batches.
        impl $store {
            pub async fn select_for_reprocess(
                &self,
                selection: &ReprocessSelection,
            ) -> Result<Vec<String>, JournalError> {
                let (from, before) = (
                    rows::micros(selection.received_from),
                    rows::micros(selection.received_before),
                );
                let limit = i64::from(selection.limit);
                let by_status;
                let query = match (selection.status, &selection.destination) {
                    (SelectedStatus::Message(status), _) => {
                        by_status = sql::select_by_status(status);
                        sqlx::query(&by_status)
                            .bind(selection.route.as_str())
                            .bind(status.as_str())
                    }
                    (SelectedStatus::Dead, None) => sqlx::query(sql::SELECT_DEAD).bind(selection.route.as_str()),
                    (SelectedStatus::Dead, Some(destination)) => sqlx::query(sql::SELECT_DEAD_TO)
                        .bind(selection.route.as_str())
                        .bind(destination.as_str()),
                };
                let rows = query
                    .bind(from)
                    .bind(before)
                    .bind(limit)
                    .fetch_all(&self.reader)
                    .await?;
                rows.iter().map(|row| row.text("id")).collect()
            }

            /// Writes a message and its deliveries, each sent under `sent_as`.
            pub async fn record_redelivery(&self, message: &MessageRow, sent_as: &str) -> Result<(), JournalError> {
                let write = async {
                    let mut tx = self.writer.begin_with($begin_write).await?;
                    sqlx::query(concat!(
                        "INSERT INTO messages (id, route, received_at_us, status, source, content_type, raw, \
                         trace, reply, error, duration_us, parent_id, caller) VALUES ($1, $2, $3, $4, $5",
                        $json,
                        ", $6, $7, $8",
                        $json,
                        ", $9",
                        $json,
                        ", $10",
                        $json,
                        ", $11, $12, $13)"
                    ))
                    .bind(message.id.as_str())
                    .bind(message.route.as_str())
                    .bind(message.received_at_us)
                    .bind(message.status)
                    .bind(message.source.as_str())
                    .bind(message.content_type.as_deref())
                    .bind(message.raw.as_ref())
                    .bind(message.trace.as_str())
                    .bind(message.reply.as_deref())
                    .bind(message.error.as_deref())
                    .bind(message.duration_us)
                    .bind(message.parent_id.as_deref())
                    .bind(message.caller.as_deref())
                    .execute(&mut *tx)
                    .await?;
                    for (ordinal, delivery) in message.deliveries.iter().enumerate() {
                        sqlx::query(
                            "INSERT INTO deliveries (id, message_id, route, destination, ordinal, status, \
                             content_type, attempts, created_at_us, next_attempt_at_us, updated_at_us, \
                             sent_as_id, order_key, body) \
                             VALUES ($1, $2, $3, $4, $5, 'pending', $6, 0, $7, $7, $7, $8, $9, $10)",
                        )
                        .bind(delivery.id.as_str())
                        .bind(message.id.as_str())
                        .bind(message.route.as_str())
                        .bind(delivery.destination.as_str())
                        .bind(ordinal as i64)
                        .bind(delivery.content_type.as_str())
                        .bind(message.received_at_us)
                        .bind(sent_as)
                        .bind(delivery.order_key.as_deref())
                        .bind(delivery.body)
                        .execute(&mut *tx)
                        .await?;
                    }
                    for body in &message.bodies {
                        sqlx::query(concat!(
                            "INSERT INTO delivery_bodies (message_id, body, payload, context) VALUES ($1, $2, $3, $4",
                            $json,
                            ")"
                        ))
                        .bind(message.id.as_str())
                        .bind(body.body)
                        .bind(body.payload.as_str())
                        .bind(body.context.as_str())
                        .execute(&mut *tx)
                        .await?;
                    }
                    for (name, value) in &message.keys {
                        sqlx::query("INSERT INTO message_keys (message_id, name, value) VALUES ($1, $2, $3)")
                            .bind(message.id.as_str())
                            .bind(name.as_str())
                            .bind(value.as_str())
                            .execute(&mut *tx)
                            .await?;
                    }
                    tx.commit().await
                };
                write.await.map_err(|e| JournalError::Write(Arc::new(e)))
            }

            /// Records that a route was paused or resumed.
            pub async fn set_route_state(&self, state: &RouteState) -> Result<(), JournalError> {
                sqlx::query(sql::SET_ROUTE_STATE)
                    .bind(state.route.as_str())
                    .bind(state.paused)
                    .bind(rows::micros(state.changed_at))
                    .bind(state.changed_by.as_deref())
                    .execute(&self.writer)
                    .await
                    .map_err(|e| JournalError::Write(Arc::new(e)))?;
                Ok(())
            }

            /// Empties the bodies of up to `limit` messages past their cutoff.
            pub async fn prune_bodies(
                &self,
                cutoffs: &PruneCutoffs,
                cursor: &mut PruneCursor,
                now_us: i64,
                limit: u32,
            ) -> Result<u64, JournalError> {
                let (bodies, errors) = (rows::micros(cutoffs.bodies), rows::micros(cutoffs.errors));
                let write = async {
                    let mut tx = self.writer.begin_with($begin_write).await?;
                    let found = sqlx::query(sql::PRUNABLE)
                        .bind(cursor.after_us)
                        .bind(cursor.after_id.as_str())
                        .bind(bodies)
                        .bind(errors)
                        .bind(bodies.max(errors))
                        .bind(i64::from(limit))
                        .fetch_all(&mut *tx)
                        .await?;
                    let ids = found
                        .iter()
                        .map(|row| {
                            Ok((
                                row.try_get::<String, _>("id")?,
                                row.try_get::<i64, _>("received_at_us")?,
                            ))
                        })
                        .collect::<Result<Vec<_>, sqlx::Error>>()?;
                    let Some((last_id, last_us)) = ids.last().cloned() else {
                        return Ok(0);
                    };
                    for statement in sql::prune_bodies(ids.len()) {
                        let mut query = sqlx::query(&statement).bind(&[] as &[u8]).bind(now_us);
                        for (id, _) in &ids {
                            query = query.bind(id.as_str());
                        }
                        query.execute(&mut *tx).await?;
                    }
                    tx.commit().await?;
                    (cursor.after_us, cursor.after_id) = (last_us, last_id);
                    Ok(ids.len() as u64)
                };
                write.await.map_err(|e: sqlx::Error| JournalError::Write(Arc::new(e)))
            }

            /// Deletes up to `limit` messages received before `cutoff`.
            pub async fn delete_old(&self, cutoff_us: i64, limit: u32) -> Result<u64, JournalError> {
                let done = sqlx::query(sql::DELETE_OLD)
                    .bind(cutoff_us)
                    .bind(i64::from(limit))
                    .execute(&self.writer)
                    .await
                    .map_err(|e| JournalError::Write(Arc::new(e)))?;
                Ok(done.rows_affected())
            }
        }
    };
}

pub(super) use shared_queries;
