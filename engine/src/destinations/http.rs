//! The `http` destination: send the payload with an HTTP request. Its url
//! and headers may read the caller's secrets (`{{ secrets["hospital-a"] }}`),
//! rendered at every attempt from the secrets current then; the queued
//! delivery keeps only the scopes its templates read, never `secrets`.

use super::{truncate, Attempt, Failure, Outgoing};
use crate::config::DurationText;
use crate::outbound::{Outbound, OutboundError, OutboundRequest};
use crate::secrets::Secrets;
use crate::steps::{support, BuildContext};
use crate::templates::Template;
use regex::Regex;
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Header carrying the message id on every delivery, so that receivers can
/// recognise a message delivered twice.
pub const MESSAGE_ID_HEADER: &str = "X-Medbus-Message-Id";

#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpDestinationConfig {
    /// URL template, e.g. `http://registry:9000/persons/{{ vars.personId }}`;
    /// it may read `secrets`, e.g. `?key={{ secrets["registry"] }}`.
    pub url: String,
    /// HTTP method.
    #[serde(default = "default_method")]
    pub method: String,
    /// Header templates; `Content-Type` defaults to the payload's. They may
    /// read `secrets`, e.g. `X-Secret: '{{ secrets["registry"] }}'`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Give up on one attempt after this long.
    #[serde(default = "default_timeout")]
    pub timeout: DurationText,
    /// Statuses that count as delivered: codes (`200`) or classes (`2xx`).
    #[serde(default = "default_success")]
    pub success: Vec<String>,
    /// A regular expression on the body of an answer with a success status
    /// that means "refused" (`refused` in `retry_on`), for receivers that
    /// answer 200 with an error code, e.g. `'"code"\s*:\s*"?[1-9]'`.
    #[serde(default)]
    pub error_when: Option<String>,
    /// A regular expression the body of an answer with a success status
    /// must match to count as delivered; any other body is a refusal.
    /// E.g. `'"code"\s*:\s*"?0"?\s*[,}]'` for `{"code":"0","msg":"成功"}`.
    #[serde(default)]
    pub success_when: Option<String>,
}

fn default_method() -> String {
    "POST".into()
}

fn default_timeout() -> DurationText {
    DurationText::secs(30)
}

fn default_success() -> Vec<String> {
    vec!["2xx".into()]
}

pub struct HttpEndpoint {
    method: String,
    url: Template,
    headers: Vec<(String, Template)>,
    timeout: std::time::Duration,
    success: StatusSet,
    error_when: Option<Regex>,
    success_when: Option<Regex>,
}

impl HttpEndpoint {
    pub fn build(config: &HttpDestinationConfig, cx: &mut BuildContext) -> Option<Self> {
        let url = compile(cx, "url", &config.url);
        let headers: Vec<_> = config
            .headers
            .iter()
            .map(|(name, text)| compile(cx, &format!("header `{name}`"), text).map(|t| (name.clone(), t)))
            .collect();
        let success = StatusSet::parse(&config.success).map_err(|e| cx.error(e)).ok();
        let error_when = support::optional_regex(cx, "`error_when`", config.error_when.as_deref());
        let success_when = support::optional_regex(cx, "`success_when`", config.success_when.as_deref());
        if reqwest::Method::from_bytes(config.method.as_bytes()).is_err() {
            cx.error(format!(
                "`{}` is not an HTTP method; expected e.g. POST or PUT",
                config.method
            ));
            return None;
        }
        Some(HttpEndpoint {
            method: config.method.to_ascii_uppercase(),
            url: url?,
            headers: headers.into_iter().collect::<Option<_>>()?,
            timeout: config.timeout.0,
            success: success?,
            error_when: error_when?,
            success_when: success_when?,
        })
    }

    /// Whether any of its templates reads `name` from the context.
    pub fn uses(&self, name: &str) -> bool {
        self.url.uses(name) || self.headers.iter().any(|(_, t)| t.uses(name))
    }

    pub async fn deliver(&self, outgoing: &Outgoing<'_>, outbound: &Outbound, secrets: &Secrets) -> Attempt {
        let request = match self.request(outgoing, secrets) {
            Ok(request) => request,
            Err(error) => {
                return Attempt::Failed {
                    error,
                    failure: Failure::Invalid,
                    response: None,
                }
            }
        };
        match outbound.send(request).await {
            Ok(response) => {
                let summary = Some(serde_json::json!({
                    "status": response.status,
                    "body": truncate(&response.body, 4096),
                }));
                if !self.success.contains(response.status) {
                    return Attempt::Failed {
                        error: format!("HTTP {} is not a success status", response.status),
                        failure: Failure::Status(response.status),
                        response: summary,
                    };
                }
                match self.refusal(&response.body) {
                    None => Attempt::Delivered { response: summary },
                    Some(error) => Attempt::Failed {
                        error,
                        failure: Failure::Refused,
                        response: summary,
                    },
                }
            }
            Err(error) => Attempt::Failed {
                failure: match error {
                    OutboundError::Timeout(_) => Failure::Timeout,
                    OutboundError::Connect(_) => Failure::Connect,
                    OutboundError::Other(_) => Failure::Network,
                },
                error: error.to_string(),
                response: None,
            },
        }
    }

    /// Why the body of an answer with a success status is a refusal, if it is.
    fn refusal(&self, body: &str) -> Option<String> {
        if self.error_when.as_ref().is_some_and(|regex| regex.is_match(body)) {
            return Some(format!("the answer matches `error_when`: {}", truncate(body, 200)));
        }
        if self.success_when.as_ref().is_some_and(|regex| !regex.is_match(body)) {
            return Some(format!(
                "the answer does not match `success_when`: {}",
                truncate(body, 200)
            ));
        }
        None
    }

    pub fn request(&self, outgoing: &Outgoing<'_>, secrets: &Secrets) -> Result<OutboundRequest, String> {
        let url = secrets
            .render_outbound(&self.url, outgoing.context)
            .map_err(|e| format!("url: {e}"))?;
        let mut headers = vec![
            ("Content-Type".to_string(), outgoing.content_type.to_string()),
            (MESSAGE_ID_HEADER.to_string(), outgoing.message_id.to_string()),
        ];
        for (name, template) in &self.headers {
            let value = secrets
                .render_outbound(template, outgoing.context)
                .map_err(|e| format!("header `{name}`: {e}"))?;
            headers.retain(|(existing, _)| !existing.eq_ignore_ascii_case(name));
            headers.push((name.clone(), value));
        }
        Ok(OutboundRequest {
            name: outgoing.destination.to_string(),
            method: self.method.clone(),
            url,
            headers,
            body: outgoing.payload.to_string(),
            timeout: self.timeout,
        })
    }
}

fn compile(cx: &mut BuildContext, what: &str, text: &str) -> Option<Template> {
    Template::compile_outbound(text)
        .map_err(|e| cx.error(format!("{what}: bad template: {e}")))
        .ok()
}

/// A set of HTTP statuses written as codes (`201`) and classes (`2xx`).
#[derive(Clone, Debug, PartialEq)]
pub struct StatusSet {
    classes: Vec<u16>,
    codes: Vec<u16>,
}

impl StatusSet {
    pub fn parse(items: &[String]) -> Result<StatusSet, String> {
        let mut set = StatusSet {
            classes: vec![],
            codes: vec![],
        };
        for item in items {
            let lower = item.trim().to_ascii_lowercase();
            if let Some(class) = lower
                .strip_suffix("xx")
                .and_then(|c| c.parse::<u16>().ok())
                .filter(|c| (1..=5).contains(c))
            {
                set.classes.push(class);
            } else if let Some(code) = lower.parse::<u16>().ok().filter(|c| (100..=599).contains(c)) {
                set.codes.push(code);
            } else {
                return Err(format!(
                    "`{item}` is not a status; expected a code such as `200` or a class such as `2xx`"
                ));
            }
        }
        Ok(set)
    }

    pub fn contains(&self, status: u16) -> bool {
        self.codes.contains(&status) || self.classes.contains(&(status / 100))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(yaml: &str) -> Result<HttpEndpoint, String> {
        crate::steps::support::build_for_test(yaml, HttpEndpoint::build)
    }

    #[test]
    fn body_rules_decide_what_a_success_status_means() {
        let both = endpoint(r#"{ url: "http://h/", error_when: '"code":"9', success_when: '"code":"\d' }"#).unwrap();
        assert_eq!(both.refusal(r#"{"code":"0"}"#), None);
        let refused = both.refusal(r#"{"code":"9","msg":"签名错误"}"#).unwrap();
        assert!(
            refused.contains("matches `error_when`") && refused.contains("签名错误"),
            "{refused}"
        );
        let unexpected = both.refusal("<html>maintenance</html>").unwrap();
        assert!(
            unexpected.contains("does not match `success_when`: <html>"),
            "{unexpected}"
        );
        let long = format!(r#"{{"code":"9","msg":"{}"}}"#, "错".repeat(500));
        assert!(both.refusal(&long).unwrap().len() < 300, "the body is cut in the error");
        assert_eq!(endpoint("{ url: 'http://h/' }").unwrap().refusal("anything"), None);
    }

    #[test]
    fn bad_body_rules_are_configuration_errors() {
        let error = endpoint("{ url: 'http://h/', error_when: '(', success_when: '[' }")
            .err()
            .unwrap();
        assert!(
            error.contains("`error_when` is not a valid regular expression"),
            "{error}"
        );
        assert!(
            error.contains("`success_when` is not a valid regular expression"),
            "{error}"
        );
    }

    #[test]
    fn status_sets() {
        let set = StatusSet::parse(&["2xx".into(), "409".into()]).unwrap();
        assert!(set.contains(204) && set.contains(409) && !set.contains(404));
        assert!(StatusSet::parse(&["ok".into()]).unwrap_err().contains("expected"));
    }
}
