use super::*;
use serde_json::json;

fn scripting() -> Scripting {
    Scripting::new(chrono_tz::Asia::Shanghai, Arc::new(Mappings::empty()))
}

use super::fixture::{code_blocks, exchange, repo_file};

fn run(source: &str) -> Result<Value, RunError> {
    let s = scripting();
    let script = s.compile(source).map_err(RunError::Failed)?;
    s.execute(&script, &mut exchange(json!({})))
}

fn failure(source: &str) -> ScriptError {
    match run(source) {
        Err(RunError::Failed(e)) => e,
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn a_script_changes_body_vars_and_headers_and_keeps_key_order() {
    let s = scripting();
    let script = s
        .compile(
            r#"
            body.patient.name.trim();
            body.patient.note = "已登记";
            vars.sexName = if body.patient.sex == 1 { "男" } else { "女" };
            headers["x-source"] = msg.route;
            body.items.len()
            "#,
        )
        .unwrap();
    let mut ex = exchange(json!({"patient": {"sex": 1, "name": " 张三 ", "age": 30}, "items": [1, 2]}));
    let value = s.run(&script, &mut ex).unwrap();
    assert_eq!(value, json!(2));
    assert_eq!(
        ex.body.to_string(),
        r#"{"patient":{"sex":1,"name":"张三","age":30,"note":"已登记"},"items":[1,2]}"#
    );
    assert_eq!(ex.vars["sexName"], json!("男"));
    assert_eq!(ex.headers["x-source"], json!("test.route"));
}

#[test]
fn a_failed_run_changes_nothing() {
    let s = scripting();
    let script = s.compile("body.a = 2;\nvars.b = 1;\nthrow \"数据不完整\";").unwrap();
    let mut ex = exchange(json!({"a": 1}));
    let err = s.run(&script, &mut ex).unwrap_err();
    assert_eq!(err.to_string(), "line 3, column 1: 数据不完整");
    assert_eq!(ex.body, json!({"a": 1}));
    assert!(ex.vars.is_empty());
}

#[test]
fn scopes_must_keep_their_shape_and_msg_is_read_only() {
    assert!(failure("vars = 5;").message.contains("`vars` must stay an object map"));
    let e = failure("msg.id = \"x\";");
    assert!(e.message.to_lowercase().contains("constant"), "{e}");
}

#[test]
fn an_endless_loop_is_stopped() {
    let e = failure("let n = 0;\nloop { n += 1; }");
    assert_eq!(e.line, 2, "{e}");
    assert!(e.message.contains("stopped after 500000 operations"), "{e}");
}

#[test]
fn a_huge_string_is_stopped() {
    let e = failure("let s = \"健康\";\nloop { s += s; }");
    assert!(
        e.message.contains("is over the sandbox's limit of 16777216 bytes"),
        "{e}"
    );
}

#[test]
fn huge_arrays_maps_and_deep_recursion_are_stopped() {
    let limits = ScriptLimits {
        max_array_size: 10,
        max_map_size: 10,
        ..ScriptLimits::default()
    };
    let s = Scripting::with_limits(chrono_tz::Asia::Shanghai, Arc::new(Mappings::empty()), limits);
    let mut ex = exchange(json!({}));
    let script = s.compile("let a = []; for i in 0..20 { a.push(i); }").unwrap();
    let e = s.run(&script, &mut ex).unwrap_err().to_string();
    assert!(e.contains("limit of 10 elements"), "{e}");
    let script = s
        .compile("let m = #{}; for i in 0..20 { m[`k${i}`] = i; }\nlet outer = #{ m: m };")
        .unwrap();
    let e = s.run(&script, &mut ex).unwrap_err().to_string();
    assert!(e.contains("limit of 10 keys"), "{e}");
    let e = failure("fn down(n) { down(n + 1) }\ndown(0)");
    assert!(
        e.message.contains("deeper than the sandbox's limit of 32 levels"),
        "{e}"
    );
}

#[test]
fn eval_import_and_sleep_are_unavailable() {
    let s = scripting();
    let e = s.compile("let x = 1;\neval(\"x + 1\")").unwrap_err();
    assert_eq!((e.line, e.column), (2, 1));
    assert_eq!(e.message, "`eval` is not available in medbus scripts");
    let e = failure("import \"/etc/passwd\" as secrets;\n1");
    assert!(e.message.contains("cannot import `/etc/passwd`"), "{e}");
    assert!(failure("sleep(10)").message.contains("`sleep` is not available"));
}

#[test]
fn undeclared_variables_fail_at_compile_time() {
    let e = scripting().compile("let name = 1;\nbdy.name = name;").unwrap_err();
    assert_eq!((e.line, e.column), (2, 1), "{e}");
    assert!(e.message.contains("bdy"), "{e}");
    assert!(e.in_script("normalize.rhai").starts_with("normalize.rhai:2:1: "));
}

#[test]
fn expressions_are_single_expressions() {
    let s = scripting();
    let e = s.compile_expression("body.a = 1").unwrap_err();
    assert_eq!(e.line, 1, "{e}");
    let condition = s.compile_expression(r#"body.type == "住院" && vars.n > 1"#).unwrap();
    let mut ex = exchange(json!({"type": "住院"}));
    ex.vars.insert("n".into(), json!(2));
    assert_eq!(s.evaluate(&condition, &ex).unwrap(), json!(true));
}

#[test]
fn evaluate_leaves_the_exchange_alone() {
    let s = scripting();
    let script = s.compile_expression("body.items.pop()").unwrap();
    let ex = exchange(json!({"items": [1]}));
    let e = s.evaluate(&script, &ex).unwrap_err().to_string();
    assert!(e.to_lowercase().contains("constant"), "{e}");
}

#[test]
fn reject_ends_the_script_even_inside_try_and_functions() {
    let source = r#"
        fn check(id) {
            if id == "" { reject("MISSING_ID", "身份证号为空"); }
        }
        try { check(body.idCard ?? ""); } catch (e) { body.caught = true; }
        body.after = true;
    "#;
    assert_eq!(
        run(source),
        Err(RunError::Rejected {
            code: "MISSING_ID".into(),
            message: "身份证号为空".into()
        })
    );
    let source = r#"try { fail("50001", "the hospital did not answer"); } catch (e) { body.caught = true; }"#;
    assert_eq!(
        run(source),
        Err(RunError::FailedWith {
            code: "50001".into(),
            message: "the hospital did not answer".into()
        })
    );
}

#[test]
fn errors_name_the_function_they_happened_in() {
    let e = failure("fn f(x) {\n  x.missing.deeper\n}\nf(#{})");
    assert_eq!(e.line, 2, "{e}");
    assert!(e.message.starts_with("in function `f`: "), "{e}");
}

#[test]
fn hashes_and_encodings() {
    assert_eq!(
        run(r#"md5("hello")"#).unwrap(),
        json!("5d41402abc4b2a76b9719d911017c592")
    );
    assert_eq!(
        run(r#"sha256("abc")"#).unwrap(),
        json!("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    );
    assert_eq!(
        run(r#"md5("张三")"#).unwrap(),
        json!("615db57aa314529aaa0fbe95b3e95bd3")
    );
    assert_eq!(run(r#"base64_encode("张三")"#).unwrap(), json!("5byg5LiJ"));
    assert_eq!(run(r#"base64_decode("5byg5LiJ")"#).unwrap(), json!("张三"));
    assert!(failure(r#"base64_decode("not base64!")"#)
        .message
        .starts_with("base64_decode: not base64"));
    assert_eq!(
        run(r#"from_json("{\"urls\":[\"a\",\"b\"],\"n\":1}").urls"#).unwrap(),
        json!(["a", "b"])
    );
    assert_eq!(
        run(r#"to_json(#{a: [1, "张三"]})"#).unwrap(),
        json!(r#"{"a":[1,"张三"]}"#)
    );
    assert!(failure(r#"from_json("{")"#)
        .message
        .starts_with("from_json: not JSON text"));
    let id = run("uuid()").unwrap();
    assert!(uuid::Uuid::parse_str(id.as_str().unwrap()).is_ok(), "{id}");
}

#[test]
fn dates_are_in_the_configured_zone() {
    assert_eq!(run(r#"now("%z")"#).unwrap(), json!("+0800"));
    let now = run(r#"parse_date(now(), "%Y-%m-%d %H:%M:%S")"#)
        .unwrap()
        .as_i64()
        .unwrap();
    assert!((now - chrono::Utc::now().timestamp()).abs() < 5, "{now}");
    assert!((run("now_unix()").unwrap().as_i64().unwrap() - chrono::Utc::now().timestamp()).abs() < 5);
    assert_eq!(
        run(r#"format_date("20240501083000", "%Y%m%d%H%M%S", "%Y-%m-%d %H:%M:%S")"#).unwrap(),
        json!("2024-05-01 08:30:00")
    );
    assert_eq!(
        run(r#"parse_date("2024-05-01 08:30:00", "%Y-%m-%d %H:%M:%S")"#).unwrap(),
        json!(1_714_523_400)
    );
    assert_eq!(
        run(r#"format_date(0, "%Y-%m-%d %H:%M")"#).unwrap(),
        json!("1970-01-01 08:00")
    );
    let e = failure("let t = \"2024-02-30\";\nformat_date(t, \"%Y-%m-%d\", \"%Y\")");
    assert_eq!(e.line, 2, "{e}");
    assert!(e.message.starts_with("format_date: `2024-02-30` does not match"), "{e}");
}

#[test]
fn lookups_read_the_mapping_tables() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("sex.csv"),
        "code,name,hl7\n0,未知的性别,U\n1,男,M\n2,女,F\n9,未说明的性别,U\n",
    )
    .unwrap();
    let (mappings, errors) = Mappings::load(dir.path());
    assert!(errors.is_empty());
    let s = Scripting::new(chrono_tz::Asia::Shanghai, Arc::new(mappings));
    let eval = |source: &str| {
        let script = s.compile(source).unwrap();
        s.run(&script, &mut exchange(json!({"sex": 2})))
            .map_err(|e| e.to_string())
    };
    assert_eq!(eval(r#"lookup("sex", "code", "1", "hl7")"#), Ok(json!("M")));
    assert_eq!(eval(r#"lookup("sex", "code", body.sex, "name")"#), Ok(json!("女")));
    assert_eq!(eval(r#"lookup("sex", "hl7", "U", "code")"#), Ok(json!("0")));
    assert_eq!(eval(r#"lookup("sex", "9", "name")"#), Ok(json!("未说明的性别")));
    assert_eq!(eval(r#"lookup("sex", "code", "7", "name")"#), Ok(Value::Null));
    assert_eq!(
        eval(r#"lookup("sex", "code", "7", "name") ?? "未知""#),
        Ok(json!("未知"))
    );
    assert_eq!(
        eval(r#"lookup_row("sex", "hl7", "F")"#),
        Ok(json!({"code": "2", "hl7": "F", "name": "女"}))
    );
    assert_eq!(
        eval(r#"table_rows("sex").map(|row| row.code)"#),
        Ok(json!(["0", "1", "2", "9"]))
    );
    let e = eval(r#"lookup("sexx", "code", "1", "name")"#).unwrap_err();
    assert!(e.ends_with("no mapping table `sexx`; the tables are: sex"), "{e}");
    let e = eval(r#"lookup("sex", "code", "1", "fhir")"#).unwrap_err();
    assert!(
        e.ends_with("table `sex` has no column `fhir`; its columns are: code, name, hl7"),
        "{e}"
    );
}

#[test]
fn only_the_mentioned_scopes_are_converted() {
    assert_eq!(uses("body.a = vars.x"), [true, true, false, false, false]);
    assert_eq!(
        uses("let nobody = headers_x; msg.id"),
        [false, false, false, true, false]
    );
    assert_eq!(uses("headers[\"a\"] + config.url"), [false, false, true, false, true]);
}

#[test]
fn trim_and_replace_change_in_place_and_return_the_result() {
    assert_eq!(
        run(r#"let a = " 张三 "; let b = a.trim(); [a, b]"#).unwrap(),
        json!(["张三", "张三"])
    );
    assert_eq!(
        run(r#"let s = "2024/05/01"; let t = s.replace("/", "-"); s.replace('-', '.'); [s, t]"#).unwrap(),
        json!(["2024.05.01", "2024-05-01"])
    );
    assert_eq!(run(r#"let n = "x"; n.trim(); n"#).unwrap(), json!("x"));
}

/// docs/scripting.md runs: each `code // => json` line gives that value,
/// each `code // e.g. ...` line runs, and every other block compiles.
#[test]
fn the_documented_examples_hold() {
    let doc = std::fs::read_to_string(repo_file("docs/scripting.md")).unwrap();
    let (mappings, errors) = Mappings::load(&repo_file("mappings"));
    assert!(errors.is_empty(), "{errors:?}");
    let s = Scripting::new(chrono_tz::Asia::Shanghai, Arc::new(mappings));
    let mut checked = 0;
    for block in code_blocks(&doc, "rhai") {
        if !block.contains("// =>") && !block.contains("// e.g.") {
            s.compile(&block).unwrap_or_else(|e| panic!("{block}\n{e}"));
            continue;
        }
        for line in block.lines().filter(|l| !l.trim().is_empty()) {
            let (code, expected) = match line.split_once("// =>") {
                Some((code, json)) => (code, Some(json.trim())),
                None => (
                    line.split_once("// e.g.")
                        .unwrap_or_else(|| panic!("no `// =>`: {line}"))
                        .0,
                    None,
                ),
            };
            let script = s.compile(code).unwrap_or_else(|e| panic!("{code}: {e}"));
            let value = s
                .execute(&script, &mut exchange(json!({})))
                .unwrap_or_else(|e| panic!("{code}: {e}"));
            if let Some(json) = expected {
                let expected: Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"));
                assert_eq!(value, expected, "{code}");
                checked += 1;
            }
        }
    }
    assert!(checked >= 25, "only {checked} examples checked");
}

#[test]
fn functions_see_their_arguments_and_this_not_the_scope() {
    let e = failure("fn f() { body.x }\nf()");
    assert!(
        e.message.starts_with("in function `f`: ") && e.message.contains("body"),
        "{e}"
    );
    let s = scripting();
    let script = s
        .compile("fn tidy() { this.name.trim(); this.phone = this.phone ?? \"\"; }\nbody.patient.tidy();")
        .unwrap();
    let mut ex = exchange(json!({"patient": {"name": " 张三 "}}));
    s.execute(&script, &mut ex).unwrap();
    assert_eq!(ex.body, json!({"patient": {"name": "张三", "phone": ""}}));
}

#[test]
fn hl7_paths_read_and_write_a_parsed_message() {
    let s = scripting();
    let script = s
        .compile(
            r#"
            vars.family = hl7(body, "PID-5.1");
            vars.ids = hl7_all(body, "PID-3[*].1");
            vars.missing = hl7(body, "ZPD-1");
            hl7_set(body, "PID-8", "F");
            body.hl7_set("PID-5.2", "小明");
            "#,
        )
        .unwrap();
    let message = medbus_adapters::hl7::Message::parse(
        "MSH|^~\\&|HIS|H|EMPI|P|20260101||ADT^A01|1|P|2.5\rPID|1||7^^^H~8^^^I||王^明\r".as_bytes(),
    )
    .unwrap();
    let mut ex = exchange(message.to_value());
    s.run(&script, &mut ex).unwrap();
    assert_eq!(ex.vars["family"], json!("王"));
    assert_eq!(ex.vars["ids"], json!(["7", "8"]));
    assert_eq!(ex.vars["missing"], Value::Null);
    let written = medbus_adapters::hl7::Message::from_value(&ex.body, &Default::default()).unwrap();
    assert_eq!(
        written.to_er7(),
        "MSH|^~\\&|HIS|H|EMPI|P|20260101||ADT^A01|1|P|2.5\rPID|1||7^^^H~8^^^I||王^小明|||F\r"
    );
    let error = failure(r#"hl7(body, "PID-x")"#);
    assert!(error.to_string().contains("HL7 path `PID-x`"), "{error}");
}
