//! A message's body as the steps see it. An HL7 v2 message an MLLP listener
//! read becomes its value tree only when something needs the tree: reading
//! fields by HL7 path (`PID-8`, `OBX[*]-5`) reads them from the message
//! itself. A route that checks and maps a few fields then never builds the
//! some 240 map entries of a typical ADT message's tree, which were a fifth
//! of such a route's CPU.

use crate::value::Value;
use medbus_adapters::hl7::{self, value_path, Message};
use std::borrow::Cow;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, OnceLock};

#[derive(Clone, Debug)]
pub struct Body {
    tree: OnceLock<Value>,
    /// The message the tree is read from, until the tree is built.
    message: Option<Arc<Message>>,
}

impl Body {
    /// A body that is this value.
    pub fn new(value: Value) -> Body {
        Body {
            tree: OnceLock::from(value),
            message: None,
        }
    }

    /// A body that is this HL7 message's value tree, built when first needed.
    pub fn hl7(message: Arc<Message>) -> Body {
        Body {
            tree: OnceLock::new(),
            message: Some(message),
        }
    }

    /// The body as a value tree (built now if it was not).
    pub fn value(&self) -> &Value {
        self.tree.get_or_init(|| match &self.message {
            Some(message) => message.to_value(),
            None => Value::Null,
        })
    }

    /// The body's value tree, to change.
    pub fn value_mut(&mut self) -> &mut Value {
        self.value();
        self.message = None;
        self.tree.get_mut().expect("the tree was just built")
    }

    /// The body as a value tree, taken out.
    pub fn into_value(mut self) -> Value {
        self.value();
        self.tree.take().expect("the tree was just built")
    }

    /// The places an HL7 path names with the values there: read from the
    /// message while the tree is not built, from the tree once it is (the
    /// same either way: `value_path::places_in_message`).
    pub fn places(&self, path: &hl7::Path) -> Vec<(hl7::Path, Option<Cow<'_, Value>>)> {
        match (self.tree.get(), &self.message) {
            (None, Some(message)) => value_path::places_in_message(message, path)
                .into_iter()
                .map(|(at, value)| (at, value.map(Cow::Owned)))
                .collect(),
            _ => value_path::places(self.value(), path)
                .into_iter()
                .map(|(at, value)| (at, value.map(Cow::Borrowed)))
                .collect(),
        }
    }
}

impl Default for Body {
    fn default() -> Body {
        Body::new(Value::Null)
    }
}

impl From<Value> for Body {
    fn from(value: Value) -> Body {
        Body::new(value)
    }
}

impl Deref for Body {
    type Target = Value;

    fn deref(&self) -> &Value {
        self.value()
    }
}

impl DerefMut for Body {
    fn deref_mut(&mut self) -> &mut Value {
        self.value_mut()
    }
}

impl PartialEq<Value> for Body {
    fn eq(&self, other: &Value) -> bool {
        self.value() == other
    }
}

impl serde::Serialize for Body {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value().serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn adt() -> Arc<Message> {
        let text = "MSH|^~\\&|HIS|H1|MEDBUS|H1|20250318093015||ADT^A01|C1|P|2.4\rPID|1||P1~P2||王^丽||19850712|F\r";
        Arc::new(Message::parse(text.as_bytes()).unwrap())
    }

    #[test]
    fn an_hl7_body_is_read_by_path_without_its_tree() {
        let body = Body::hl7(adt());
        let path = hl7::Path::parse("PID-3[*]").unwrap();
        let values = |body: &Body| -> Vec<_> {
            body.places(&path)
                .into_iter()
                .map(|(_, v)| v.map(Cow::into_owned))
                .collect()
        };
        assert_eq!(values(&body), vec![Some(json!("P1")), Some(json!("P2"))]);
        assert!(body.tree.get().is_none(), "no tree was built");
        assert_eq!(body["segments"][1]["5"], json!({"1": "王", "2": "丽"}));
        let read = body.places(&path);
        assert!(
            read.iter().all(|(_, v)| matches!(v, Some(Cow::Borrowed(_)))),
            "once built, the tree is read"
        );
        assert_eq!(values(&body), vec![Some(json!("P1")), Some(json!("P2"))]);
    }

    #[test]
    fn a_changed_body_forgets_its_message() {
        let mut body = Body::hl7(adt());
        value_path::assign(&mut body, &hl7::Path::parse("PID-8").unwrap(), json!("M")).unwrap();
        assert_eq!(body["segments"][1]["8"], json!("M"));
        assert!(body.message.is_none());
        assert_eq!(Body::default(), Value::Null);
        assert_eq!(Body::from(json!({"a": 1})).into_value(), json!({"a": 1}));
    }
}
