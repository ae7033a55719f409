//! One group commit's worth of writes, arranged for multi-row statements.

use super::rows::{BodyRow, DeliveryRow, MessageRow, UpdateRow};
use std::collections::HashMap;

/// One caller's write.
#[derive(Debug)]
pub(super) enum Op {
    Record(Box<MessageRow>),
    Update(UpdateRow),
}

impl Op {
    /// The message's or the delivery's id.
    pub fn id(&self) -> &str {
        match self {
            Op::Record(row) => &row.id,
            Op::Update(row) => &row.id,
        }
    }

    /// Bytes this write carries, to bound a batch's size.
    pub fn size(&self) -> usize {
        match self {
            Op::Record(row) => row.size(),
            Op::Update(row) => row.size(),
        }
    }
}

/// A new delivery with its message and its place among the message's deliveries.
pub(super) struct NewDeliveryRef<'a> {
    pub message: &'a MessageRow,
    pub ordinal: i64,
    pub delivery: &'a DeliveryRow,
}

/// A delivery body with its message.
pub(super) struct BodyRef<'a> {
    pub message: &'a MessageRow,
    pub body: &'a BodyRow,
}

/// A business key with its message.
pub(super) struct KeyRef<'a> {
    pub message_id: &'a str,
    pub name: &'a str,
    pub value: &'a str,
}

/// The writes of one transaction. Messages (with their deliveries) go in
/// before updates, so an update may follow its message in the same batch.
pub(super) struct Batch<'a> {
    pub messages: Vec<&'a MessageRow>,
    pub deliveries: Vec<NewDeliveryRef<'a>>,
    pub bodies: Vec<BodyRef<'a>>,
    pub keys: Vec<KeyRef<'a>>,
    /// The updates a later one of the same delivery follows in this batch,
    /// in arrival order: attempts that go straight into the history.
    pub superseded: Vec<&'a UpdateRow>,
    /// The last update of each delivery: what its row becomes (its last
    /// attempt is the row itself). An UPDATE joined to several source rows
    /// for one target picks one at random, so each delivery appears here once.
    pub latest: Vec<&'a UpdateRow>,
}

impl<'a> Batch<'a> {
    pub fn new(ops: impl IntoIterator<Item = &'a Op>) -> Batch<'a> {
        let mut batch = Batch {
            messages: Vec::new(),
            deliveries: Vec::new(),
            bodies: Vec::new(),
            keys: Vec::new(),
            superseded: Vec::new(),
            latest: Vec::new(),
        };
        let mut latest_index: HashMap<&str, usize> = HashMap::new();
        for op in ops {
            match op {
                Op::Record(message) => {
                    batch.messages.push(message);
                    for (ordinal, delivery) in message.deliveries.iter().enumerate() {
                        batch.deliveries.push(NewDeliveryRef {
                            message,
                            ordinal: ordinal as i64,
                            delivery,
                        });
                    }
                    batch
                        .bodies
                        .extend(message.bodies.iter().map(|body| BodyRef { message, body }));
                    batch.keys.extend(message.keys.iter().map(|(name, value)| KeyRef {
                        message_id: &message.id,
                        name,
                        value,
                    }));
                }
                Op::Update(update) => match latest_index.get(update.id.as_str()) {
                    Some(&i) => batch.superseded.push(std::mem::replace(&mut batch.latest[i], update)),
                    None => {
                        latest_index.insert(&update.id, batch.latest.len());
                        batch.latest.push(update);
                    }
                },
            }
        }
        batch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(id: &str, attempts: i64) -> Op {
        Op::Update(UpdateRow {
            id: id.into(),
            status: "pending",
            attempts,
            next_attempt_at_us: Some(0),
            error: None,
            response: None,
            at_us: 0,
            duration_us: 0,
        })
    }

    #[test]
    fn keeps_superseded_attempts_and_the_last_state_of_each_delivery() {
        let ops = [update("a", 1), update("b", 1), update("a", 2)];
        let batch = Batch::new(&ops);
        let superseded: Vec<_> = batch.superseded.iter().map(|u| (u.id.as_str(), u.attempts)).collect();
        assert_eq!(superseded, [("a", 1)]);
        let latest: Vec<_> = batch.latest.iter().map(|u| (u.id.as_str(), u.attempts)).collect();
        assert_eq!(latest, [("a", 2), ("b", 1)]);
    }
}
