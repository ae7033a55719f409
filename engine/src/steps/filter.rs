//! The `filter` step: drops or rejects a message on a condition.
//!
//! ```yaml
//! - filter: { drop_if: 'body.status == "cancelled"' }
//! - filter:
//!     reject_if: 'body.idCard == ""'
//!     reject: { code: MISSING_ID, message: "患者 {{ body.name }} 没有身份证号" }
//! ```

use super::script::{compile_inline, step_error};
use super::template::{self, render};
use super::{BuildContext, Flow, StepError};
use crate::config::Located;
use crate::exchange::Exchange;
use crate::scripting::{Script, Scripting};
use crate::templates::Template;
use crate::value::{path::kind, Value};
use schemars::JsonSchema;
use serde::Deserialize;
use std::sync::Arc;

/// Drop or reject the message when a condition holds. The condition is a
/// Rhai expression over `body`, `vars`, `headers`, `msg` and `config` that
/// must give `true` or `false`. Give `drop_if` or `reject_if`.
#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FilterConfig {
    /// Drop the message when this is true: it is journaled as filtered and
    /// not delivered; the sender is answered as for a processed message.
    /// E.g. `body.status == "cancelled"`.
    #[serde(default)]
    pub drop_if: Option<Located<String>>,
    /// Reject the message when this is true: the sender is answered with
    /// the `reject` code and message. E.g. `body.idCard == ""`.
    #[serde(default)]
    pub reject_if: Option<Located<String>>,
    /// The answer to a message `reject_if` rejects. Default: code
    /// `REJECTED` and a message quoting the condition.
    #[serde(default)]
    pub reject: Option<RejectConfig>,
}

/// How a rejected message is answered.
#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectConfig {
    /// A stable code the sender can act on, e.g. `MISSING_ID`.
    pub code: String,
    /// What is wrong, for a person: a Tera template over `body`, `vars`,
    /// `headers`, `msg` and `config`, e.g. `患者 {{ body.name }} 没有身份证号`.
    #[serde(default)]
    pub message: Option<Located<String>>,
}

/// A `RejectConfig` compiled: the code and the message template, if any.
pub(crate) struct Rejecter {
    code: String,
    message: Option<Box<Template>>,
}

impl Rejecter {
    pub(crate) fn build(config: Option<&RejectConfig>, default_code: &str, cx: &mut BuildContext) -> Option<Rejecter> {
        let Some(config) = config else {
            return Some(Rejecter {
                code: default_code.to_string(),
                message: None,
            });
        };
        let message = match &config.message {
            Some(text) => Some(Box::new(template::compile_inline(text, "the rejection message", cx)?)),
            None => None,
        };
        Some(Rejecter {
            code: config.code.clone(),
            message,
        })
    }

    /// The rejection; its message rendered with `extra` beside the
    /// exchange, or `default` when the config gives none.
    pub(crate) fn reject(
        &self,
        ex: &mut Exchange,
        extra: Vec<(&str, Value)>,
        default: impl FnOnce() -> String,
    ) -> StepError {
        let message = match &self.message {
            None => default(),
            Some(template) => match render(template, ex, extra) {
                Ok(text) => text,
                Err(e) => return StepError::failed("TEMPLATE_ERROR", format!("the rejection message: {e}")),
            },
        };
        StepError::rejected(self.code.clone(), message)
    }
}

pub struct FilterStep {
    condition: Script,
    /// The condition as written, for error messages.
    source: String,
    action: Action,
    scripting: Arc<Scripting>,
}

enum Action {
    Drop,
    Reject(Rejecter),
}

impl FilterStep {
    pub fn build(config: &FilterConfig, cx: &mut BuildContext) -> Option<Self> {
        let (condition, action) = match (&config.drop_if, &config.reject_if) {
            (Some(condition), None) => {
                if config.reject.is_some() {
                    cx.error("`reject` goes with `reject_if`; a `drop_if` filter answers no rejection");
                    return None;
                }
                (condition, Action::Drop)
            }
            (None, Some(condition)) => (
                condition,
                Action::Reject(Rejecter::build(config.reject.as_ref(), "REJECTED", cx)?),
            ),
            _ => {
                cx.error("a filter takes `drop_if` or `reject_if`; expected exactly one of them");
                return None;
            }
        };
        let compiled = compile_inline(condition, "the filter condition", true, cx)?;
        Some(FilterStep {
            condition: compiled,
            source: condition.value.clone(),
            action,
            scripting: cx.resources.scripting.clone(),
        })
    }

    pub fn run(&self, ex: &mut Exchange) -> Result<Flow, StepError> {
        let value = self
            .scripting
            .evaluate(&self.condition, ex)
            .map_err(|e| step_error(e, "filter condition"))?;
        let holds = match value {
            Value::Bool(holds) => holds,
            other => {
                return Err(StepError::failed(
                    "SCRIPT_ERROR",
                    format!(
                        "the filter condition `{}` gave {} `{other}`; expected true or false",
                        self.source,
                        kind(&other)
                    ),
                ))
            }
        };
        match (&self.action, holds) {
            (_, false) => Ok(Flow::Continue),
            (Action::Drop, true) => Ok(Flow::Drop),
            (Action::Reject(rejecter), true) => {
                Err(rejecter.reject(ex, Vec::new(), || format!("rejected by the filter `{}`", self.source)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scripting::fixture::{exchange, Fixture};
    use crate::steps::ErrorKind;
    use serde_json::json;

    fn build(yaml: &str) -> Result<FilterStep, Vec<String>> {
        Fixture::with_files(&[]).build(yaml, FilterStep::build)
    }

    #[test]
    fn drops_when_the_condition_holds() {
        let step = build("drop_if: 'body.status == \"作废\"'").unwrap();
        assert_eq!(step.run(&mut exchange(json!({"status": "作废"}))), Ok(Flow::Drop));
        assert_eq!(step.run(&mut exchange(json!({"status": "新开"}))), Ok(Flow::Continue));
    }

    #[test]
    fn rejects_with_the_configured_code_and_message() {
        let step = build(
            "reject_if: 'body.idCard == \"\"'\nreject: { code: MISSING_ID, message: '患者 {{ body.name }} 没有身份证号' }",
        )
        .unwrap();
        let err = step
            .run(&mut exchange(json!({"name": "张三", "idCard": ""})))
            .unwrap_err();
        assert_eq!(err, StepError::rejected("MISSING_ID", "患者 张三 没有身份证号"));
        assert_eq!(
            step.run(&mut exchange(json!({"name": "张三", "idCard": "1"}))),
            Ok(Flow::Continue)
        );
        let step = build("reject_if: 'vars.age < 0'").unwrap();
        let mut ex = exchange(json!({}));
        ex.vars.insert("age".into(), json!(-1));
        let err = step.run(&mut ex).unwrap_err();
        assert_eq!(
            err,
            StepError::rejected("REJECTED", "rejected by the filter `vars.age < 0`")
        );
    }

    #[test]
    fn a_condition_that_is_not_boolean_fails_clearly() {
        let step = build("drop_if: body.status").unwrap();
        let err = step.run(&mut exchange(json!({"status": "作废"}))).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Failed);
        assert_eq!(
            err.message,
            "the filter condition `body.status` gave string `\"作废\"`; expected true or false"
        );
        let err = step.run(&mut exchange(json!({}))).unwrap_err();
        assert!(err.message.contains("gave null"), "{err}");
    }

    #[test]
    fn a_condition_that_fails_is_a_script_error() {
        let step = build("drop_if: 'body.items[5] == 1'").unwrap();
        let err = step.run(&mut exchange(json!({"items": [1]}))).unwrap_err();
        assert_eq!(err.code, "SCRIPT_ERROR");
        assert!(err.message.starts_with("filter condition:1:"), "{err}");
    }

    #[test]
    fn bad_configs_are_build_errors() {
        let errors = build("drop_if: 'body.a = 1'").err().unwrap();
        assert!(
            errors[0].starts_with("routes/test.yaml:1:10: the filter condition does not compile: line 1"),
            "{errors:?}"
        );
        let errors = build("drop_if: 'bdy.a == 1'").err().unwrap();
        assert!(errors[0].contains("bdy"), "{errors:?}");
        let errors = build("{ drop_if: 'true', reject_if: 'true' }").err().unwrap();
        assert_eq!(
            errors,
            ["routes/test.yaml:10:5: a filter takes `drop_if` or `reject_if`; expected exactly one of them"]
        );
        let errors = build("{ drop_if: 'true', reject: { code: X } }").err().unwrap();
        assert!(errors[0].contains("`reject` goes with `reject_if`"), "{errors:?}");
        let errors = build("{ reject_if: 'true', reject: { code: X, message: '{{ oops' } }")
            .err()
            .unwrap();
        assert!(
            errors[0].contains("the rejection message does not compile"),
            "{errors:?}"
        );
        assert!(build("{ keep_if: 'true' }").is_err());
    }
}
