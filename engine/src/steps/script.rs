//! The `script` step: runs a Rhai script on the message.
//!
//! ```yaml
//! - script: { file: examples/normalize.rhai }
//! - script:
//!     inline: |
//!       body.patient.name.trim();
//!       if body.patient.idCard == "" { reject("MISSING_ID", "身份证号为空"); }
//! ```
//!
//! The script compiles when the configuration loads; a missing file or a
//! compile error fails the load with the script's `file:line:column`.

use super::{BuildContext, Flow, StepError};
use crate::config::{Located, Position};
use crate::exchange::Exchange;
use crate::scripting::{RunError, Script, Scripting};
use schemars::JsonSchema;
use serde::Deserialize;
use std::sync::Arc;

/// Run a Rhai script on the message. It sees `body`, `vars`, `headers`
/// (changes are kept), `msg` and `config` (read-only), may call the helper
/// functions of docs/scripting.md, and may end with `reject(code, message)`.
/// Give `file` or `inline`.
#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScriptConfig {
    /// A script file, relative to the scripts folder (`scripts_dir`),
    /// e.g. `examples/normalize.rhai`.
    #[serde(default)]
    pub file: Option<Located<String>>,
    /// The script itself, for a few lines.
    #[serde(default)]
    pub inline: Option<Located<String>>,
}

pub struct ScriptStep {
    script: Script,
    /// The file as written in the config, or `inline script`: names the
    /// script in runtime errors.
    name: String,
    scripting: Arc<Scripting>,
}

impl ScriptStep {
    pub fn build(config: &ScriptConfig, cx: &mut BuildContext) -> Option<Self> {
        let (script, name) = match (&config.file, &config.inline) {
            (Some(file), None) => (compile_file(file, cx)?, file.value.clone()),
            (None, Some(inline)) => (
                compile_inline(inline, "the inline script", false, cx)?,
                "inline script".into(),
            ),
            _ => {
                cx.error("a script step takes `file` or `inline`; expected exactly one of them");
                return None;
            }
        };
        Some(ScriptStep {
            script,
            name,
            scripting: cx.resources.scripting.clone(),
        })
    }

    pub fn run(&self, ex: &mut Exchange) -> Result<Flow, StepError> {
        self.scripting
            .execute(&self.script, ex)
            .map_err(|e| step_error(e, &self.name))?;
        Ok(Flow::Continue)
    }
}

fn compile_file(file: &Located<String>, cx: &mut BuildContext) -> Option<Script> {
    let resources = cx.resources;
    let (path, source) = cx.read_referenced_file("script", &resources.settings.scripts_dir, file)?;
    match cx.resources.scripting.compile(&source) {
        Ok(script) => Some(script),
        Err(e) => {
            let at = Position {
                line: e.line.max(1) as u64,
                column: e.column.max(1) as u64,
            };
            cx.diagnostics
                .error(&path, at, format!("the script does not compile: {}", e.message));
            None
        }
    }
}

/// Compiles a script or expression written in the route file; an error is
/// recorded at the text's position, naming the line and column within it.
pub(crate) fn compile_inline(
    source: &Located<String>,
    what: &str,
    expression: bool,
    cx: &mut BuildContext,
) -> Option<Script> {
    let scripting = &cx.resources.scripting;
    let compiled = if expression {
        scripting.compile_expression(&source.value)
    } else {
        scripting.compile(&source.value)
    };
    match compiled {
        Ok(script) => Some(script),
        Err(e) => {
            let at = position(cx, source.at);
            cx.diagnostics
                .error(cx.file, at, format!("{what} does not compile: {e}"));
            None
        }
    }
}

/// Where a config value was written; the step's position when unknown.
pub(crate) fn position(cx: &BuildContext, at: Position) -> Position {
    if at.line == 0 {
        cx.at
    } else {
        at
    }
}

/// A run's failure as the step's answer: `reject(...)` is a rejection,
/// `fail(...)` a failure with its code, anything else `SCRIPT_ERROR`, naming the script and where it failed.
pub(crate) fn step_error(error: RunError, name: &str) -> StepError {
    match error {
        RunError::Rejected { code, message } => StepError::rejected(code, message),
        RunError::FailedWith { code, message } => StepError::failed(code, message),
        RunError::Failed(e) => StepError::failed("SCRIPT_ERROR", e.in_script(name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scripting::fixture::{code_blocks, exchange, repo_file, Fixture};
    use crate::steps::ErrorKind;
    use serde_json::json;

    const NORMALIZE: &str = r#"// 规范化患者信息
let p = body.patient;
p.name.trim();
if p.idCard == "" {
    reject("MISSING_ID", `患者 ${p.name} 没有身份证号`);
}
p.sexName = lookup("sex", p.sex, "name") ?? "未知";
body.patient = p;
vars.normalizedAt = now();
"#;

    fn fixture() -> Fixture {
        Fixture::with_files(&[
            ("scripts/examples/normalize.rhai", NORMALIZE),
            ("scripts/broken.rhai", "let a = 1;\nlet b = (a + ;\n"),
            ("scripts/typo.rhai", "body.x = 1;\nbdy.y = 2;\n"),
            ("mappings/sex.csv", "code,name\n1,男\n2,女\n"),
        ])
    }

    fn build(f: &Fixture, yaml: &str) -> Result<ScriptStep, Vec<String>> {
        f.build(yaml, ScriptStep::build)
    }

    #[test]
    fn a_file_script_changes_the_message() {
        let f = fixture();
        let step = build(&f, "file: examples/normalize.rhai").unwrap();
        let mut ex = exchange(json!({"patient": {"name": " 李四 ", "sex": "2", "idCard": "350203199001011234"}}));
        assert_eq!(step.run(&mut ex), Ok(Flow::Continue));
        assert_eq!(
            ex.body,
            json!({"patient": {"name": "李四", "sex": "2", "idCard": "350203199001011234", "sexName": "女"}})
        );
        assert!(ex.vars["normalizedAt"].as_str().unwrap().starts_with("20"));
    }

    #[test]
    fn reject_in_a_script_rejects_the_message() {
        let f = fixture();
        let step = build(&f, "file: examples/normalize.rhai").unwrap();
        let mut ex = exchange(json!({"patient": {"name": "王五", "sex": "1", "idCard": ""}}));
        let err = step.run(&mut ex).unwrap_err();
        assert_eq!(err, StepError::rejected("MISSING_ID", "患者 王五 没有身份证号"));
        assert_eq!(ex.body["patient"]["name"], json!("王五"));
    }

    #[test]
    fn a_runtime_error_fails_with_the_script_position() {
        let f = fixture();
        let step = build(&f, "file: examples/normalize.rhai").unwrap();
        let mut ex = exchange(json!({"patient": "not a map"}));
        let err = step.run(&mut ex).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Failed);
        assert_eq!(err.code, "SCRIPT_ERROR");
        assert!(err.message.starts_with("examples/normalize.rhai:3:"), "{err}");
    }

    #[test]
    fn an_inline_script_runs() {
        let f = fixture();
        let step = build(
            &f,
            "inline: |\n  body.total = body.items.reduce(|sum, x| sum + x.price, 0);\n",
        )
        .unwrap();
        let mut ex = exchange(json!({"items": [{"price": 12}, {"price": 30}]}));
        step.run(&mut ex).unwrap();
        assert_eq!(ex.body["total"], json!(42));
        let step = build(&f, "inline: 'throw \"坏数据\"'").unwrap();
        let err = step.run(&mut exchange(json!({}))).unwrap_err();
        assert_eq!(err, StepError::failed("SCRIPT_ERROR", "inline script:1:1: 坏数据"));
    }

    #[test]
    fn compile_errors_point_into_the_script_file() {
        let f = fixture();
        let errors = build(&f, "file: broken.rhai").err().unwrap();
        assert_eq!(errors.len(), 1);
        assert!(errors[0].starts_with("scripts/broken.rhai:2:"), "{errors:?}");
        assert!(errors[0].contains("the script does not compile"), "{errors:?}");
        let errors = build(&f, "file: typo.rhai").err().unwrap();
        assert!(
            errors[0].starts_with("scripts/typo.rhai:2:1: the script does not compile: "),
            "{errors:?}"
        );
        assert!(errors[0].contains("bdy"), "{errors:?}");
    }

    #[test]
    fn inline_compile_errors_point_into_the_route_file() {
        let f = fixture();
        let errors = build(&f, "inline: \"let x = ;\"").err().unwrap();
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].starts_with("routes/test.yaml:1:9: the inline script does not compile: line 1, column 9:"),
            "{errors:?}"
        );
    }

    #[test]
    fn a_missing_file_or_a_wrong_shape_is_a_build_error() {
        let f = fixture();
        let errors = build(&f, "file: nope.rhai").err().unwrap();
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].starts_with("routes/test.yaml:1:7: script `nope.rhai` does not exist; expected a file at "),
            "{errors:?}"
        );
        let errors = build(&f, "{}").err().unwrap();
        assert_eq!(
            errors,
            ["routes/test.yaml:10:5: a script step takes `file` or `inline`; expected exactly one of them"]
        );
        let errors = build(&f, "{ file: a.rhai, inline: '1' }").err().unwrap();
        assert_eq!(errors.len(), 1);
        assert!(build(&f, "{ files: a.rhai }").is_err());
    }

    /// The route-file examples of docs/scripting.md build against the
    /// repository's own scripts, templates and tables.
    #[test]
    fn the_documented_steps_build() {
        #[derive(serde::Deserialize)]
        struct Steps {
            steps: Vec<crate::steps::StepSpec>,
        }
        let f = Fixture::repo();
        let doc = std::fs::read_to_string(repo_file("docs/scripting.md")).unwrap();
        let mut built = 0;
        for block in code_blocks(&doc, "yaml").iter().filter(|b| b.starts_with("steps:")) {
            let steps: Steps = serde_saphyr::from_str(block).unwrap_or_else(|e| panic!("{block}\n{e}"));
            for spec in &steps.steps {
                f.build_config(spec, crate::steps::Step::build)
                    .unwrap_or_else(|e| panic!("{spec:?}: {e:?}"));
                built += 1;
            }
        }
        assert!(built >= 10, "only {built} steps built");
    }
}
