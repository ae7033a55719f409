//! The `authenticate` step: who sent this message? The caller presents its
//! secret in the message; the step finds the caller whose secret it is
//! among those the route allows, records the caller's name (`msg.caller`,
//! journaled with the message) and removes the secret from the message, so
//! that no later step, trace or delivery carries it.
//!
//! ```yaml
//! - authenticate:
//!     secret: body.root.secret
//!     callers: [vendor-120, hospital-*]
//!     error: { code: "10004", message: authentication failed }
//! ```
//!
//! A missing or wrong secret rejects the message with the configured code
//! and message (HTTP 401 unless the route's error reply says otherwise);
//! the answer never repeats what was presented. Secrets are compared in
//! constant time.
//!
//! A reprocessed message arrives with the caller it was authenticated as
//! (its journaled input holds `******` instead of the secret): that caller
//! is admitted if the route still allows it and it still has a secret.

use super::{BuildContext, Flow, StepError};
use crate::exchange::Exchange;
use crate::value::{Path, Scope, Value};
use schemars::JsonSchema;
use serde::Deserialize;

/// Identify the caller by the secret it presents; reject a missing or wrong one.
#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthenticateConfig {
    /// Where the caller's secret is, e.g. `body.root.secret` or
    /// `headers.x-secret`; it is removed from there once read.
    pub secret: String,
    /// The callers allowed on this route: names of secrets (`vendor-120`),
    /// or a prefix ending in `*` (`hospital-*`) for every secret whose name
    /// starts with it.
    pub callers: Vec<String>,
    /// The answer to a missing or wrong secret. Default code
    /// `UNAUTHENTICATED`, message "the secret is missing or wrong".
    #[serde(default)]
    pub error: Option<Refusal>,
}

/// The code and message a refused caller gets; either may be left out to keep the default.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Refusal {
    /// The error code answered, e.g. `"10004"`.
    #[serde(default)]
    pub code: Option<String>,
    /// The error message answered, as written (not a template, so that it
    /// cannot repeat what the caller sent).
    #[serde(default)]
    pub message: Option<String>,
}

/// A name or a prefix from `callers`.
#[derive(Debug, PartialEq)]
enum Allowed {
    Name(String),
    Prefix(String),
}

impl Allowed {
    fn admits(&self, name: &str) -> bool {
        match self {
            Allowed::Name(allowed) => name == allowed,
            Allowed::Prefix(prefix) => name.starts_with(prefix.as_str()),
        }
    }
}

pub struct AuthenticateStep {
    secret: Path,
    callers: Vec<Allowed>,
    code: String,
    message: String,
}

impl AuthenticateStep {
    pub fn build(config: &AuthenticateConfig, cx: &mut BuildContext) -> Option<Self> {
        let secret = cx.path(&config.secret);
        if let Some(path) = &secret {
            if matches!(path.scope, Scope::Msg | Scope::Config) || path.has_wildcard() || path.segments.is_empty() {
                cx.error(format!(
                    "authenticate `secret` `{}` cannot be removed once read; expected one value in `body`, `headers` or `vars`, e.g. `body.root.secret`",
                    config.secret
                ));
                return None;
            }
        }
        if config.callers.is_empty() {
            cx.error("authenticate `callers` is empty; expected the names of the secrets allowed, e.g. `[vendor-120, hospital-*]`");
            return None;
        }
        let secrets = cx.resources.settings.secrets.clone();
        let mut callers = Vec::with_capacity(config.callers.len());
        let mut ok = true;
        for entry in &config.callers {
            let (allowed, stem) = match entry.strip_suffix('*') {
                Some(prefix) => (Allowed::Prefix(prefix.to_string()), prefix),
                None => (Allowed::Name(entry.clone()), entry.as_str()),
            };
            if stem.is_empty()
                || !stem
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            {
                cx.error(format!(
                    "authenticate `callers` has `{entry}`; expected a secret's name (lower-case letters, digits and `-`, e.g. `vendor-120`) or a prefix ending in `*`, e.g. `hospital-*`"
                ));
                ok = false;
                continue;
            }
            // Without any secret at check time (a build machine), names cannot be
            // checked; with secrets loaded, a name none of them has is a typo.
            if !secrets.is_empty() && !secrets.names().any(|name| allowed.admits(name)) {
                let what = match &allowed {
                    Allowed::Name(_) => "names no secret",
                    Allowed::Prefix(_) => "matches no secret",
                };
                cx.error(format!(
                    "authenticate `callers` has `{entry}`, which {what} of {}; expected one of: {}",
                    cx.resources.settings.secrets_file.display(),
                    secrets.names().collect::<Vec<_>>().join(", ")
                ));
                ok = false;
                continue;
            }
            callers.push(allowed);
        }
        let refusal = config.error.clone().unwrap_or_default();
        let code = refusal.code.unwrap_or_else(|| "UNAUTHENTICATED".into());
        if code.trim().is_empty() {
            cx.error("authenticate `error.code` is empty; expected a code such as `10004`");
            ok = false;
        }
        if !ok {
            return None;
        }
        Some(AuthenticateStep {
            secret: secret?,
            callers,
            code,
            message: refusal
                .message
                .unwrap_or_else(|| "the secret is missing or wrong".into()),
        })
    }

    pub fn run(&self, ex: &mut Exchange) -> Result<Flow, StepError> {
        let presented = self.take_presented(ex);
        if let Some(earlier) = &ex.caller {
            if self.admits(earlier) && ex.secrets.contains(earlier) {
                return Ok(Flow::Continue);
            }
            ex.caller = None;
            return Err(self.refusal());
        }
        let caller = presented
            .as_deref()
            .filter(|text| !text.is_empty())
            .and_then(|text| ex.secrets.caller_of(text, |name| self.admits(name)));
        match caller {
            Some(name) => {
                ex.caller = Some(name.to_string());
                Ok(Flow::Continue)
            }
            None => Err(self.refusal()),
        }
    }

    fn admits(&self, name: &str) -> bool {
        self.callers.iter().any(|c| c.admits(name))
    }

    fn refusal(&self) -> StepError {
        StepError::rejected(self.code.clone(), self.message.clone()).with_status(401)
    }

    /// Removes the presented secret from the message and gives it back as text.
    fn take_presented(&self, ex: &mut Exchange) -> Option<String> {
        let taken = match self.secret.scope {
            Scope::Body => self.secret.remove(&mut ex.body),
            Scope::Vars => remove_in_map(&mut ex.vars, &self.secret),
            Scope::Headers => remove_in_map(&mut ex.headers, &self.secret),
            Scope::Msg | Scope::Config => None,
        };
        match taken? {
            Value::String(text) => Some(text),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
}

fn remove_in_map(map: &mut crate::value::Map<String, Value>, path: &Path) -> Option<Value> {
    let mut root = Value::Object(std::mem::take(map));
    let taken = path.remove(&mut root);
    if let Value::Object(m) = root {
        *map = m;
    }
    taken
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Diagnostics, Position};
    use crate::secrets::Secrets;
    use crate::settings::Settings;
    use serde_json::json;
    use std::sync::Arc;

    fn secrets() -> Arc<Secrets> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secrets.yaml");
        std::fs::write(
            &file,
            "vendor-120: secret-of-120\nhospital-a: secret-of-a\nhospital-b: secret-of-b\n",
        )
        .unwrap();
        Arc::new(Secrets::load(&file, Vec::new()).unwrap())
    }

    fn build(yaml: &str, secrets: Arc<Secrets>) -> Result<AuthenticateStep, String> {
        let config: AuthenticateConfig = serde_saphyr::from_str(yaml).map_err(|e| e.to_string())?;
        let dir = tempfile::tempdir().unwrap();
        let mut settings = Settings::for_dir(dir.path());
        settings.secrets = secrets;
        let resources = crate::steps::support::test_resources(Arc::new(settings), Default::default());
        let mut diagnostics = Diagnostics::default();
        let mut cx = BuildContext {
            file: std::path::Path::new("routes/test.yaml"),
            at: Position { line: 3, column: 5 },
            resources: &resources,
            diagnostics: &mut diagnostics,
        };
        let step = AuthenticateStep::build(&config, &mut cx);
        let messages: Vec<String> = diagnostics.items.iter().map(|d| d.message.clone()).collect();
        match step {
            Some(step) if messages.is_empty() => Ok(step),
            _ => Err(messages.join("\n")),
        }
    }

    fn exchange(body: Value) -> Exchange {
        let mut ex = Exchange::new("r", Default::default(), None, Default::default());
        ex.body = body.into();
        ex.secrets = secrets();
        ex
    }

    const STEP: &str = "{ secret: body.root.secret, callers: [vendor-120, hospital-*], error: { code: '10004', message: authentication failed } }";

    #[test]
    fn the_right_secret_names_the_caller_and_leaves_the_message() {
        let step = build(STEP, secrets()).unwrap();
        let mut ex = exchange(json!({"root": {"secret": "secret-of-a", "applyNo": "A1"}}));
        assert_eq!(step.run(&mut ex), Ok(Flow::Continue));
        assert_eq!(ex.caller.as_deref(), Some("hospital-a"));
        assert_eq!(ex.body, json!({"root": {"applyNo": "A1"}}), "the secret is removed");
        assert_eq!(ex.msg_value()["caller"], json!("hospital-a"));
        let script = crate::steps::support::build_for_test(
            "{ inline: 'vars.who = msg.caller;' }",
            crate::steps::script::ScriptStep::build,
        )
        .unwrap();
        script.run(&mut ex).unwrap();
        assert_eq!(ex.vars["who"], json!("hospital-a"), "scripts read the caller too");
    }

    #[test]
    fn a_missing_or_wrong_secret_is_refused_without_repeating_it() {
        let step = build(STEP, secrets()).unwrap();
        for body in [
            json!({"root": {"applyNo": "A1"}}),
            json!({"root": {"secret": "", "applyNo": "A1"}}),
            json!({"root": {"secret": "secret-of-12", "applyNo": "A1"}}),
            json!({"root": {"secret": {"nested": "secret-of-a"}, "applyNo": "A1"}}),
        ] {
            let mut ex = exchange(body.clone());
            let error = step.run(&mut ex).unwrap_err();
            assert_eq!(
                error,
                StepError::rejected("10004", "authentication failed").with_status(401),
                "{body}"
            );
            assert_eq!(ex.caller, None);
            assert_eq!(
                ex.body,
                json!({"root": {"applyNo": "A1"}}),
                "what was presented is removed too"
            );
        }
    }

    #[test]
    fn only_the_routes_callers_are_admitted() {
        let step = build("{ secret: headers.x-secret, callers: [hospital-*] }", secrets()).unwrap();
        let mut ex = exchange(json!({}));
        ex.headers.insert("x-secret".into(), json!("secret-of-120"));
        let error = step.run(&mut ex).unwrap_err();
        assert_eq!(
            (error.code.as_str(), error.message.as_str()),
            ("UNAUTHENTICATED", "the secret is missing or wrong")
        );
        assert!(!ex.headers.contains_key("x-secret"));
        ex.headers.insert("x-secret".into(), json!("secret-of-b"));
        assert_eq!(step.run(&mut ex), Ok(Flow::Continue));
        assert_eq!(ex.caller.as_deref(), Some("hospital-b"));
    }

    #[test]
    fn a_reprocessed_message_keeps_its_caller_while_it_is_allowed() {
        let step = build(STEP, secrets()).unwrap();
        let mut ex = exchange(json!({"root": {"secret": "******"}}));
        ex.caller = Some("vendor-120".into());
        assert_eq!(step.run(&mut ex), Ok(Flow::Continue));
        assert_eq!(ex.caller.as_deref(), Some("vendor-120"));
        assert_eq!(ex.body, json!({"root": {}}));
        let only_hospitals = build("{ secret: body.root.secret, callers: [hospital-*] }", secrets()).unwrap();
        let mut ex = exchange(json!({"root": {"secret": "******"}}));
        ex.caller = Some("vendor-120".into());
        assert!(only_hospitals.run(&mut ex).is_err());
        assert_eq!(ex.caller, None);
    }

    #[test]
    fn no_secrets_admit_nobody() {
        let step = build(STEP, Arc::default()).unwrap();
        let mut ex = exchange(json!({"root": {"secret": "secret-of-a"}}));
        ex.secrets = Arc::default();
        assert!(step.run(&mut ex).is_err());
    }

    #[test]
    fn the_documented_example_builds() {
        let docs = include_str!("../../../docs/secrets.md");
        let block = docs
            .split("```yaml\n")
            .map(|rest| rest.split("```").next().unwrap())
            .find(|block| block.contains("- authenticate:"))
            .unwrap();
        let route: std::collections::BTreeMap<String, Vec<crate::steps::StepSpec>> =
            serde_saphyr::from_str(block).unwrap();
        let Some(crate::steps::StepSpec::Authenticate(config)) = route["steps"].get(1) else {
            panic!("the example's second step authenticates")
        };
        let yaml = serde_json::json!({"secret": config.secret, "callers": config.callers}).to_string();
        assert!(build(&yaml, secrets()).is_ok());
    }

    #[test]
    fn checks_its_config_when_built() {
        let error = |yaml: &str| build(yaml, secrets()).err().unwrap_or_default();
        assert!(error("{ secret: body.s, callers: [vendor-121] }").contains("`vendor-121`, which names no secret"));
        assert!(error("{ secret: body.s, callers: [clinic-*] }").contains("`clinic-*`, which matches no secret"));
        assert!(error("{ secret: body.s, callers: ['Vendor 1'] }").contains("expected a secret's name"));
        assert!(error("{ secret: body.s, callers: [] }").contains("`callers` is empty"));
        assert!(error("{ secret: msg.id, callers: [vendor-120] }").contains("cannot be removed once read"));
        assert!(error("{ secret: 'body.s[*]', callers: [vendor-120] }").contains("cannot be removed once read"));
        assert!(error("{ secret: body.s, callers: [vendor-120], eror: {} }").contains("unknown field `eror`"));
        // Without secrets at check time, names are checked for their shape only.
        assert!(build("{ secret: body.s, callers: [vendor-121] }", Arc::default()).is_ok());
    }
}
