//! How one destination delivers: attempts and age before the dead letter,
//! backoff, which failures are retried, concurrency and order. Compiled
//! from the destination's keys in the route file.

use crate::config::DurationText;
use crate::destinations::Failure;
use crate::steps::{support, BuildContext};
use crate::templates::Template;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;

/// `ordered: true`, or `ordered: { key: "{{ body.patientId }}" }` for one
/// lane per key: messages with the same key keep their order, others flow.
#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum OrderedSpec {
    All(bool),
    ByKey(OrderKeySpec),
}

#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderKeySpec {
    /// A template rendered when the message is accepted, e.g. `{{ body.patientId }}`.
    pub key: String,
}

/// The wait before the first retry, doubling at each attempt up to `max`.
#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BackoffSpec {
    #[serde(default = "default_initial")]
    pub initial: DurationText,
    #[serde(default = "default_max")]
    pub max: DurationText,
}

fn default_initial() -> DurationText {
    DurationText::secs(1)
}

fn default_max() -> DurationText {
    DurationText::secs(600)
}

/// Failures retried when a destination names none: the receiver was
/// unreachable, slow or broke the connection, answered 5xx, 408, 429, a
/// SOAP Fault of its own side, an HL7 AE/CE or an answer that is not the
/// ACK of the message sent, or a local write failed. Other 4xx answers,
/// SOAP faults blaming the request, refusals (`error_when`, `success_when`) and HL7 AR/CR
/// say the request itself is wrong; sending it again cannot help.
pub const DEFAULT_RETRY_ON: [&str; 10] = [
    "connect",
    "timeout",
    "network",
    "io",
    "fault",
    "ack_error",
    "bad_ack",
    "5xx",
    "408",
    "429",
];

pub struct DeliveryPolicy {
    pub max_attempts: u32,
    pub max_age: Option<Duration>,
    pub concurrency: usize,
    pub order: Order,
    backoff_initial: Duration,
    backoff_max: Duration,
    retry_on: Vec<RetryOn>,
}

pub enum Order {
    /// Deliveries go out concurrently, as they come.
    Unordered,
    /// One lane: one delivery at a time, in arrival order.
    OneLane,
    /// One lane per rendered key.
    ByKey(Box<Template>),
}

#[derive(Debug, PartialEq)]
enum RetryOn {
    Connect,
    Timeout,
    Network,
    Io,
    Fault,
    ClientFault,
    Refused,
    AckError,
    AckReject,
    BadAck,
    StatusClass(u16),
    Status(u16),
}

/// The destination keys the policy is made of.
pub struct PolicySpec<'a> {
    pub max_attempts: u32,
    pub max_age: Option<DurationText>,
    pub concurrency: u32,
    pub ordered: Option<&'a OrderedSpec>,
    pub backoff: Option<&'a BackoffSpec>,
    pub retry_on: Option<&'a [String]>,
}

impl DeliveryPolicy {
    pub fn build(spec: PolicySpec<'_>, cx: &mut BuildContext) -> Option<DeliveryPolicy> {
        let mut ok = true;
        let order = match spec.ordered {
            None | Some(OrderedSpec::All(false)) => Order::Unordered,
            Some(OrderedSpec::All(true)) => Order::OneLane,
            Some(OrderedSpec::ByKey(by)) => match support::template(cx, "`ordered.key`", &by.key) {
                Some(template) => Order::ByKey(Box::new(template)),
                None => {
                    ok = false;
                    Order::Unordered
                }
            },
        };
        let (backoff_initial, backoff_max) = match spec.backoff {
            Some(b) => (b.initial.0, b.max.0),
            None => (default_initial().0, default_max().0),
        };
        if backoff_initial.is_zero() || backoff_max < backoff_initial {
            cx.error("`backoff` needs 0 < initial <= max");
            ok = false;
        }
        if spec.concurrency == 0 {
            cx.error("`concurrency` is 0; expected at least 1");
            ok = false;
        }
        let names: Vec<String> = match spec.retry_on {
            Some(names) => names.to_vec(),
            None => DEFAULT_RETRY_ON.iter().map(|s| s.to_string()).collect(),
        };
        let mut retry_on = Vec::new();
        for name in &names {
            match RetryOn::parse(name) {
                Ok(rule) => retry_on.push(rule),
                Err(e) => {
                    cx.error(format!("`retry_on`: {e}"));
                    ok = false;
                }
            }
        }
        ok.then_some(DeliveryPolicy {
            max_attempts: spec.max_attempts.max(1),
            max_age: spec.max_age.map(|d| d.0),
            concurrency: spec.concurrency as usize,
            order,
            backoff_initial,
            backoff_max,
            retry_on,
        })
    }

    /// Whether a failure of this kind is worth another attempt.
    pub fn retries(&self, failure: &Failure) -> bool {
        self.retry_on.iter().any(|rule| rule.covers(failure))
    }

    /// The wait before the attempt after `attempts` failed ones: initial,
    /// doubled each time, capped, plus up to 25 % jitter so that retries of
    /// many messages do not arrive together.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(30);
        let base = self
            .backoff_initial
            .saturating_mul(1u32 << doublings.min(20))
            .min(self.backoff_max);
        let jitter_permille = (uuid::Uuid::new_v4().as_u128() % 250) as u32;
        base + base * jitter_permille / 1000
    }

    pub fn is_ordered(&self) -> bool {
        !matches!(self.order, Order::Unordered)
    }

    /// Whether the key template reads `name` from the context.
    pub fn uses(&self, name: &str) -> bool {
        matches!(&self.order, Order::ByKey(template) if template.uses(name))
    }

    /// The lane of a new delivery, rendered from the message's context.
    pub fn order_key(&self, context: &Value) -> Result<Option<String>, String> {
        match &self.order {
            Order::Unordered => Ok(None),
            Order::OneLane => Ok(Some(String::new())),
            Order::ByKey(template) => template
                .render(context)
                .map(|key| Some(key.trim().to_string()))
                .map_err(|e| format!("the order key cannot be rendered: {e}")),
        }
    }
}

impl RetryOn {
    fn parse(name: &str) -> Result<RetryOn, String> {
        let lower = name.trim().to_ascii_lowercase();
        Ok(match lower.as_str() {
            "connect" => RetryOn::Connect,
            "timeout" => RetryOn::Timeout,
            "network" => RetryOn::Network,
            "io" => RetryOn::Io,
            "fault" => RetryOn::Fault,
            "client_fault" => RetryOn::ClientFault,
            "refused" => RetryOn::Refused,
            "ack_error" => RetryOn::AckError,
            "ack_reject" => RetryOn::AckReject,
            "bad_ack" => RetryOn::BadAck,
            _ => {
                if let Some(class) = lower.strip_suffix("xx").and_then(|c| c.parse::<u16>().ok()) {
                    if (1..=5).contains(&class) {
                        return Ok(RetryOn::StatusClass(class));
                    }
                }
                match lower.parse::<u16>() {
                    Ok(code) if (100..=599).contains(&code) => RetryOn::Status(code),
                    _ => {
                        return Err(format!(
                            "`{name}` is not a failure kind; expected `connect`, `timeout`, `network`, `io`, \
                             `fault`, `client_fault`, `refused`, `ack_error`, `ack_reject`, `bad_ack`, \
                             a status such as `503` or a class such as `5xx`"
                        ))
                    }
                }
            }
        })
    }

    fn covers(&self, failure: &Failure) -> bool {
        match (self, failure) {
            (RetryOn::Connect, Failure::Connect) => true,
            (RetryOn::Timeout, Failure::Timeout) => true,
            (RetryOn::Network, Failure::Network) => true,
            (RetryOn::Io, Failure::Io) => true,
            (RetryOn::Fault, Failure::Fault) => true,
            (RetryOn::ClientFault, Failure::ClientFault) => true,
            (RetryOn::Refused, Failure::Refused) => true,
            (RetryOn::AckError, Failure::AckError) => true,
            (RetryOn::AckReject, Failure::AckReject) => true,
            (RetryOn::BadAck, Failure::BadAck) => true,
            (RetryOn::StatusClass(class), Failure::Status(status)) => status / 100 == *class,
            (RetryOn::Status(code), Failure::Status(status)) => status == code,
            _ => false,
        }
    }
}

/// Deliveries of one destination in flight at once, unless it says otherwise.
pub fn default_concurrency() -> u32 {
    16
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steps::support::build_for_test;

    #[derive(Deserialize)]
    struct Keys {
        retry_on: Option<Vec<String>>,
        ordered: Option<OrderedSpec>,
    }

    fn policy(yaml: &str) -> Result<DeliveryPolicy, String> {
        build_for_test(yaml, |keys: &Keys, cx| {
            let spec = PolicySpec {
                max_attempts: 5,
                max_age: None,
                concurrency: 4,
                ordered: keys.ordered.as_ref(),
                backoff: None,
                retry_on: keys.retry_on.as_deref(),
            };
            DeliveryPolicy::build(spec, cx)
        })
    }

    #[test]
    fn by_default_retries_what_may_heal_and_not_other_client_errors() {
        let policy = policy("{}").unwrap();
        for failure in [
            Failure::Connect,
            Failure::Timeout,
            Failure::Network,
            Failure::Io,
            Failure::Status(503),
            Failure::Status(429),
            Failure::Status(408),
            Failure::Fault,
            Failure::AckError,
            Failure::BadAck,
        ] {
            assert!(policy.retries(&failure), "{failure:?}");
        }
        for failure in [
            Failure::Status(400),
            Failure::Status(404),
            Failure::Invalid,
            Failure::ClientFault,
            Failure::Refused,
            Failure::AckReject,
        ] {
            assert!(!policy.retries(&failure), "{failure:?}");
        }
    }

    #[test]
    fn a_destination_names_what_it_retries() {
        let policy = policy("{ retry_on: [connect, '409'] }").unwrap();
        assert!(policy.retries(&Failure::Status(409)));
        assert!(!policy.retries(&Failure::Status(503)));
        assert!(!policy.retries(&Failure::Timeout));

        let soap = self::policy("{ retry_on: [Refused, client_fault] }").unwrap();
        assert!(soap.retries(&Failure::Refused) && soap.retries(&Failure::ClientFault));
        assert!(!soap.retries(&Failure::Fault), "naming kinds replaces the default list");

        let hl7 = self::policy("{ retry_on: [ack_reject, BAD_ACK] }").unwrap();
        assert!(hl7.retries(&Failure::AckReject) && hl7.retries(&Failure::BadAck));
        assert!(!hl7.retries(&Failure::AckError));

        let error = self::policy("{ retry_on: [sometimes] }").err().unwrap();
        assert!(error.contains("`sometimes` is not a failure kind"), "{error}");
    }

    #[test]
    fn backoff_doubles_up_to_its_cap_with_a_little_jitter() {
        let policy = policy("{}").unwrap();
        let within = |attempts: u32, base: u64| {
            let wait = policy.backoff(attempts);
            let base = Duration::from_secs(base);
            assert!(wait >= base && wait <= base + base / 4, "{attempts}: {wait:?}");
        };
        within(1, 1);
        within(2, 2);
        within(4, 8);
        within(40, 600);
    }

    #[test]
    fn ordered_lanes_come_from_the_key_template() {
        let keyed = policy("{ ordered: { key: '{{ body.patientId }}' } }").unwrap();
        assert!(keyed.is_ordered() && keyed.uses("body") && !keyed.uses("vars"));
        let key = keyed.order_key(&serde_json::json!({"body": {"patientId": "P1"}}));
        assert_eq!(key.unwrap().as_deref(), Some("P1"));

        let one_lane = policy("{ ordered: true }").unwrap();
        assert_eq!(one_lane.order_key(&serde_json::json!({})).unwrap().as_deref(), Some(""));
        assert!(!policy("{ ordered: false }").unwrap().is_ordered());
        assert!(policy("{ ordered: { key: '{{ body.' } }").is_err());
    }
}
