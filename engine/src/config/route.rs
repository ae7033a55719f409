//! The shape of a route file.

use super::{DurationText, Located};
use crate::destinations::sql::SqlDestinationConfig;
use crate::destinations::{file::FileDestinationConfig, http::HttpDestinationConfig, route::RouteDestinationConfig};
use crate::runtime::delivery::policy::{default_concurrency, BackoffSpec, OrderedSpec};
use crate::sources::{
    file::FileSourceConfig, http::HttpSourceConfig, mllp::MllpSourceConfig, soap::SoapSourceConfig,
    timer::TimerSourceConfig,
};
use crate::steps::reply::ReplyConfig;
use crate::steps::StepSpec;
use crate::value::Path;
use indexmap::IndexMap;
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer};
use std::borrow::Cow;

/// One route: a source, steps, destinations, a reply and error handling.
#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    /// Unique among all routes, e.g. `examples.patient-register`.
    pub id: Located<String>,
    /// What the route is for, shown in the console and the logs.
    #[serde(default)]
    pub description: String,
    /// Business keys journaled with every message of the route and searchable in the admin API
    /// (`GET /api/messages?key=applyNo:A0001`): a name and the path of its value, e.g.
    /// `{ applyNo: body.root.applyNo, PatientID: PID-3.1, MSH-10: MSH-10 }`. Read once the
    /// steps ran, whatever the message's outcome: the first value at the path, as text; a key
    /// without a value is not stored.
    #[serde(default)]
    pub keys: IndexMap<KeyName, KeyPath>,
    /// Where messages come from.
    pub source: Located<SourceSpec>,
    /// The pipeline, run in order on every message.
    #[serde(default)]
    pub steps: Vec<Located<StepSpec>>,
    /// Where the processed message goes, each with its own queue and retry.
    #[serde(default)]
    pub destinations: Vec<Located<DestinationSpec>>,
    /// The answer to a synchronous source once every step ran. Without one,
    /// an HTTP source answers 200 with `{"status":"accepted","id":...}`
    /// unless a `reply` step built an answer.
    #[serde(default)]
    pub reply: Option<Located<ReplyConfig>>,
    /// How failures are answered.
    #[serde(default)]
    pub on_error: ErrorPolicy,
    /// Unit tests run by `medbus test`.
    #[serde(default)]
    pub tests: Vec<Located<crate::unit_test::RouteTest>>,
}

/// A source, as a single-key map: `source: { http: {...} }`.
#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum SourceSpec {
    /// An HTTP endpoint (method + path) on a listener shared by many routes.
    Http(HttpSourceConfig),
    /// A schedule: a fixed interval or a cron expression.
    Timer(TimerSourceConfig),
    /// One operation of a SOAP WebService; routes on the same listener and path form the
    /// service. The reply's body is the `return` string: `ok` when the route has no `reply`.
    Soap(SoapSourceConfig),
    /// HL7 v2 over MLLP: the message types (MSH-9) this route takes on a
    /// listener shared with other MLLP routes; answered with an ACK once
    /// journaled (see docs/mllp.md).
    Mllp(MllpSourceConfig),
    /// Files dropped in a folder, each cut into messages (whole, by line, or
    /// an HL7 v2 batch); a file leaves the folder once each of its messages
    /// is journaled.
    File(FileSourceConfig),
}

/// A destination: a name, where to send, and how to deliver.
#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DestinationSpec {
    /// Unique within the route; names the queue, the trace and test expectations.
    pub name: String,
    /// Where to send, as a single-key map: `to: { http: {...} }`.
    pub to: Located<EndpointSpec>,
    /// Delivery attempts before the message is dead-lettered.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// Dead-letter a delivery once it is this old (e.g. `24h`), whatever its attempts.
    #[serde(default)]
    pub max_age: Option<DurationText>,
    /// Deliveries in flight at once; for an ordered destination, lanes in flight at once.
    #[serde(default = "default_concurrency")]
    pub concurrency: u32,
    /// `true`: one at a time, in arrival order. `{ key: "{{ body.patientId }}" }`:
    /// in order within each key, keys side by side.
    #[serde(default)]
    pub ordered: Option<OrderedSpec>,
    /// Wait before the first retry (doubling each time) and its cap; default 1s and 10m.
    #[serde(default)]
    pub backoff: Option<BackoffSpec>,
    /// Failures worth another attempt: `connect`, `timeout`, `network`, `io`, SOAP `fault`,
    /// `client_fault` and `refused`, HL7 `ack_error` (AE/CE), `ack_reject` (AR/CR) and `bad_ack`,
    /// statuses (`503`) and classes (`5xx`). Default: connect, timeout, network, io, fault,
    /// ack_error, bad_ack, 5xx, 408, 429.
    #[serde(default)]
    pub retry_on: Option<Vec<String>>,
}

fn default_max_attempts() -> u32 {
    10
}

#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum EndpointSpec {
    /// Send the payload with an HTTP request.
    Http(HttpDestinationConfig),
    /// Write the payload to a file, atomically.
    File(FileDestinationConfig),
    /// Hand the message to another route.
    Route(RouteDestinationConfig),
    /// Call an operation of a SOAP WebService (see docs/soap.md).
    Soap(crate::destinations::soap::SoapDestinationConfig),
    /// Run SQL statements on a database of the settings, in one transaction.
    Sql(SqlDestinationConfig),
    /// Send an HL7 v2 message over MLLP and wait for its ACK (see docs/mllp-destination.md).
    Mllp(crate::destinations::mllp::MllpDestinationConfig),
}

/// How the route answers a failed message.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorPolicy {
    /// The answer to a rejected or failed message. Its templates see
    /// `error.code`, `error.message`, `error.kind` (`rejected` or `failed`)
    /// besides `body`, `vars`, `headers` and `msg`. Without one, HTTP routes
    /// answer `{"error":{"code":...,"message":...}}` with 400 (rejected) or
    /// 500 (failed).
    #[serde(default)]
    pub reply: Option<Located<ReplyConfig>>,
}

/// The longest business key name the journal takes.
pub const MAX_KEY_NAME: usize = 64;

/// A business key's name: `applyNo`, `PatientID`, `MSH-10`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeyName(pub String);

impl<'de> Deserialize<'de> for KeyName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        if name.is_empty()
            || name.len() > MAX_KEY_NAME
            || name.contains(|c: char| c.is_whitespace() || c.is_control() || c == ':')
        {
            return Err(serde::de::Error::custom(format!(
                "key name `{name}` is empty, longer than {MAX_KEY_NAME} bytes, or holds a space, a control character or `:`; \
                 expected e.g. `applyNo` or `MSH-10`"
            )));
        }
        Ok(KeyName(name))
    }
}

impl JsonSchema for KeyName {
    fn schema_name() -> Cow<'static, str> {
        "KeyName".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "pattern": "^[^\\s:]{1,64}$" })
    }
}

/// Where a business key's value is: a path (`body.root.applyNo`) or an HL7 path (`PID-3.1`).
#[derive(Clone, Debug, PartialEq)]
pub struct KeyPath(pub Path);

impl<'de> Deserialize<'de> for KeyPath {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map(KeyPath).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for KeyPath {
    fn schema_name() -> Cow<'static, str> {
        "KeyPath".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "a path such as `body.root.applyNo` or `vars.patient_id`, or an HL7 path such as `PID-3.1`"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(keys: &str) -> Result<RouteSpec, String> {
        serde_saphyr::from_str(&format!("id: t.k\nkeys: {keys}\nsource:\n  http: {{ path: /k }}\n"))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn keys_name_paths_of_either_syntax() {
        let spec = route("{ applyNo: body.root.applyNo, MSH-10: MSH-10, PatientID: PID-3.1 }").unwrap();
        let keys: Vec<(&str, String)> = spec.keys.iter().map(|(n, p)| (n.0.as_str(), p.0.to_string())).collect();
        assert_eq!(
            keys,
            [
                ("applyNo", "body.root.applyNo".to_string()),
                ("MSH-10", "MSH-10".into()),
                ("PatientID", "PID-3.1".into())
            ]
        );
        assert!(spec.keys[1].0.hl7().is_some());
        assert!(route("{ applyNo: root.applyNo }").unwrap_err().contains("not a scope"));
        assert!(route("{ 'a b': body.x }").unwrap_err().contains("key name `a b`"));
        assert!(route("{ 'a:b': body.x }").unwrap_err().contains("key name `a:b`"));
    }
}
