//! The shipped Xiamen 120 hub (routes/xiamen-120) on the real binary, called
//! by zeep and node-soap, SOAP clients nobody here wrote, built from the hub's
//! own WSDLs:
//! the 120 platform pushes a record, the hospitals confirm and correct it.
//! The pack's demo stand-ins (routes/xiamen-120-demo) play the 120 platform
//! and the hospitals.

use futures::StreamExt;
use medbus_tests::{Medbus, Setup};
use serde_json::Value;
use sqlx::{Connection, Row};
use std::time::{Duration, Instant};

const HUB: &str = "/hub/webservice/emergencyHub";
const YLK: &str = "/er/webservice/ylkCallInterface";

/// Calls `operations` (name, params JSON) through zeep on the WSDL at `url`.
async fn zeep(url: String, binding: &str, operations: &[(&str, Value)]) -> Vec<Value> {
    let install = "install it with `python3 -m pip install -r tests/soap/requirements.txt`; .ci/run does";
    soap_client("python3", "tests/soap/zeep_call.py", install, url, binding, operations).await
}

/// Calls `operations` through node-soap on the WSDL at `url`.
async fn node_soap(url: String, binding: &str, operations: &[(&str, Value)]) -> Vec<Value> {
    let install = "install it with `npm ci --prefix tests/soap/node`; .ci/run does";
    soap_client("node", "tests/soap/node/call.js", install, url, binding, operations).await
}

/// Runs a client script: `program script URL BINDING (OPERATION PARAMS)...`,
/// which prints a JSON list of returns and faults.
async fn soap_client(
    program: &str,
    script: &str,
    install: &str,
    url: String,
    binding: &str,
    operations: &[(&str, Value)],
) -> Vec<Value> {
    let mut command = std::process::Command::new(program);
    command
        .arg(medbus_tests::repo_root().join(script))
        .arg(url)
        .arg(binding);
    for (operation, params) in operations {
        command.arg(operation).arg(params.to_string());
    }
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{script} failed ({install}): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn returned(results: &[Value], index: usize) -> &str {
    results[index]["return"]
        .as_str()
        .unwrap_or_else(|| panic!("call {index} returned no string: {results:?}"))
}

fn record(apply_no: &str, secret: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><root><applyNo>{apply_no}</applyNo>\
         <applyTime>2026-11-21 08:30:00</applyTime><receiveHospital>中山医院</receiveHospital>\
         <patientName>张三</patientName><identityNo>350203198001010011</identityNo><sex>0</sex>\
         <patientAge>46</patientAge><eventNo>E-{apply_no}</eventNo><conditionDes><![CDATA[胸痛 <2h>]]></conditionDes>\
         <cardiogramUrls><url>http://ecg.demo/{apply_no}.png</url></cardiogramUrls><status>0</status>\
         <patientLevelCode>03</patientLevelCode><secret>{secret}</secret></root>"
    )
}

async fn hub_db(medbus: &Medbus) -> sqlx::SqliteConnection {
    let url = format!("sqlite://{}", medbus.data_dir.join("xiamen-120-hub.db").display());
    sqlx::SqliteConnection::connect(&url).await.unwrap()
}

/// Waits until `query` gives a row, and returns it.
async fn row_of(medbus: &Medbus, query: &str) -> sqlx::sqlite::SqliteRow {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut db = hub_db(medbus).await;
        if let Some(row) = sqlx::query(query).fetch_optional(&mut db).await.unwrap() {
            return row;
        }
        assert!(Instant::now() < deadline, "no row for `{query}` in time");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_120_platform_pushes_and_the_hospitals_answer_through_the_hub() {
    let medbus = Setup::shipped().start().await;

    // The 120 platform pushes a record (SOAP 1.1), and some it should not.
    let pushed = zeep(
        medbus.listener_url("er-hub", &format!("{HUB}?wsdl")),
        "1.1",
        &[
            ("pushApplyRecord", serde_json::json!({ "applyData": record("A1", "demo-only-secret-of-vendor-120") })),
            ("pushApplyRecord", serde_json::json!({ "applyData": record("A2", "not-the-secret") })),
            ("pushApplyRecord", serde_json::json!({ "applyData": record("A3", "demo-only-secret-of-vendor-120").replace("<sex>0</sex>", "<sex>男</sex>") })),
            ("pushApplyRecord", serde_json::json!({ "applyData": "<root><applyNo>A4</root>" })),
        ],
    )
    .await;
    assert_eq!(returned(&pushed, 0), "ok");
    assert!(returned(&pushed, 1).starts_with("error:20001:"), "{pushed:?}");
    assert!(returned(&pushed, 2).starts_with("error:10002:sex is 男"), "{pushed:?}");
    assert!(returned(&pushed, 3).starts_with("error:10003:"), "{pushed:?}");

    // Kept in the hub database, and forwarded to the receiving hospital
    // (the demo hospital checks the hub's secret for 中山医院, H03).
    let row = row_of(
        &medbus,
        "SELECT receive_hospital, condition_des, cardiogram_urls FROM apply_record WHERE apply_no = 'A1'",
    )
    .await;
    assert_eq!(row.get::<String, _>(0), "H03");
    assert_eq!(row.get::<String, _>(1), "胸痛 <2h>");
    assert_eq!(row.get::<String, _>(2), r#"["http://ecg.demo/A1.png"]"#);
    let inbox = medbus.data_dir.join("xiamen-120-demo/hospital/H03-A1.json");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !inbox.exists() {
        assert!(Instant::now() < deadline, "the hospital never got the record");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let forwarded: Value = serde_json::from_str(&std::fs::read_to_string(&inbox).unwrap()).unwrap();
    assert_eq!(forwarded["patientName"], "张三");
    assert!(
        forwarded.get("secret").is_none(),
        "the hospital's inbox keeps no secret: {forwarded}"
    );
    let mut db = hub_db(&medbus).await;
    let others: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM apply_record WHERE apply_no <> 'A1'")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(others, 0, "refused pushes change nothing");

    // A hospital confirms and corrects through the hub's ylkCallInterface
    // (SOAP 1.2), which relays to the (demo) 120 platform.
    let answered = zeep(
        medbus.listener_url("er-hub", &format!("{YLK}?wsdl")),
        "1.2",
        &[
            ("stateUpdata", serde_json::json!({ "state": "<root><applyNo>A1</applyNo><state>1</state><secret>demo-only-secret-of-hospital-h03</secret></root>" })),
            ("updateApplyRecord", serde_json::json!({ "param": "<root><applyNo>A1</applyNo><patientName>张三丰</patientName><sex>女</sex><secret>demo-only-secret-of-hospital-h03</secret></root>" })),
            ("stateUpdata", serde_json::json!({ "state": "<root><applyNo>A1</applyNo><state>1</state></root>" })),
        ],
    )
    .await;
    assert_eq!(returned(&answered, 0), "1");
    assert_eq!(returned(&answered, 1), "更新成功");
    assert!(returned(&answered, 2).starts_with("error:20001:"), "{answered:?}");
    let row = row_of(
        &medbus,
        "SELECT hospital_state, patient_name, sex FROM apply_record WHERE apply_no = 'A1' AND hospital_state IS NOT NULL AND patient_name = '张三丰'",
    )
    .await;
    assert_eq!(row.get::<String, _>(0), "1");
    assert_eq!(row.get::<String, _>(2), "1", "女 is kept as the push writes it");

    // Who called is journaled with each message.
    let journal = format!("sqlite://{}", medbus.data_dir.join("journal.db").display());
    let mut journal = sqlx::SqliteConnection::connect(&journal).await.unwrap();
    let callers: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT route, caller FROM messages WHERE route LIKE 'xiamen-120.%' AND status = 'processed' ORDER BY received_at_us",
    )
    .fetch_all(&mut journal)
    .await
    .unwrap();
    assert_eq!(
        callers,
        [
            (
                "xiamen-120.push-apply-record".to_string(),
                Some("vendor-120".to_string())
            ),
            ("xiamen-120.state-updata".to_string(), Some("hospital-h03".to_string())),
            (
                "xiamen-120.update-apply-record".to_string(),
                Some("hospital-h03".to_string())
            ),
        ]
    );
}

#[tokio::test]
async fn the_hub_answers_queries_from_its_database_or_from_the_hospitals_and_the_120_platform() {
    let medbus = Setup::shipped().start().await;
    let hub_wsdl = medbus.listener_url("er-hub", &format!("{HUB}?wsdl"));
    let pushed = zeep(
        hub_wsdl.clone(),
        "1.1",
        &[(
            "pushApplyRecord",
            serde_json::json!({ "applyData": record("B1", "demo-only-secret-of-vendor-120") }),
        )],
    )
    .await;
    assert_eq!(returned(&pushed, 0), "ok");
    row_of(&medbus, "SELECT apply_no FROM apply_record WHERE apply_no = 'B1'").await;

    // Beds of all sixteen hospitals at once (all played by the demo hospital);
    // allergies, diagnoses and discharge summaries asked of the patient's
    // hospital, then kept by the hub.
    let allergy = r#"<root><serviceName>getAllergyMes</serviceName><identity>350203198001010011</identity><secret>demo-only-secret-of-vendor-120</secret></root>"#;
    let patients = |operation: &str| {
        format!(
            "<root><serviceName>{operation}</serviceName><patients><Patient><identity>350203198001010011</identity>\
             <healthCardNo></healthCardNo><applyNo>B1</applyNo></Patient></patients><secret>demo-only-secret-of-vendor-120</secret></root>"
        )
    };
    let answered = zeep(
        hub_wsdl,
        "1.2",
        &[
            ("getBedMes", serde_json::json!({ "message": "<root><serviceName>getBedMes</serviceName><secret>demo-only-secret-of-vendor-120</secret></root>" })),
            ("getAllergyMes", serde_json::json!({ "message": allergy })),
            ("getPatientDiagnosis", serde_json::json!({ "message": patients("getPatientDiagnosis") })),
            ("getDischargeSummary", serde_json::json!({ "message": patients("getDischargeSummary") })),
        ],
    )
    .await;
    assert!(
        returned(&answered, 2).contains("<icd10>I20.0</icd10><Diagnosis>不稳定型心绞痛</Diagnosis>"),
        "{answered:?}"
    );
    assert!(
        returned(&answered, 3).contains("<dischargeSummary>冠心病，好转出院</dischargeSummary>"),
        "{answered:?}"
    );
    row_of(
        &medbus,
        "SELECT hospital_code FROM patient_diagnosis WHERE identity = '350203198001010011' AND hospital_code = 'H03'",
    )
    .await;
    row_of(
        &medbus,
        "SELECT hospital_code FROM discharge_summary WHERE identity = '350203198001010011' AND hospital_code = 'H03'",
    )
    .await;
    let beds = returned(&answered, 0);
    for n in 1..=16 {
        assert!(
            beds.contains(&format!("<hospitalCode>H{n:02}</hospitalCode>")),
            "{beds}"
        );
    }
    assert!(!beds.contains("<unanswered>"), "{beds}");
    assert_eq!(beds.matches("<ward_name>儿科二病区</ward_name>").count(), 16);
    assert!(
        returned(&answered, 1).contains("<Allergy>青霉素过敏</Allergy>"),
        "{answered:?}"
    );
    let row = row_of(
        &medbus,
        "SELECT hospital_code, past_history FROM allergy WHERE identity = '350203198001010011'",
    )
    .await;
    assert_eq!(row.get::<String, _>(0), "H03");
    assert_eq!(row.get::<String, _>(1), "高血压 10 年");

    // A hospital asks for apply records: one the hub holds, one only the
    // 120 platform knows, one nobody knows.
    let ylk = zeep(
        medbus.listener_url("er-hub", &format!("{YLK}?wsdl")),
        "1.1",
        &[
            ("getApplyRecord", serde_json::json!({ "applyData": "<root><eventNo>E-B1</eventNo><secret>demo-only-secret-of-hospital-h03</secret></root>" })),
            ("getApplyRecord", serde_json::json!({ "applyData": "<root><eventNo>E777</eventNo><secret>demo-only-secret-of-hospital-h03</secret></root>" })),
            ("getApplyRecord", serde_json::json!({ "applyData": "<root><eventNo>NONE7</eventNo><secret>demo-only-secret-of-hospital-h03</secret></root>" })),
        ],
    )
    .await;
    assert!(returned(&ylk, 0).contains("<applyNo>B1</applyNo>"), "{ylk:?}");
    assert!(
        returned(&ylk, 0).contains("<conditionDes>胸痛 &lt;2h&gt;</conditionDes>"),
        "{ylk:?}"
    );
    assert!(returned(&ylk, 1).contains("<applyNo>P120-E777</applyNo>"), "{ylk:?}");
    assert!(returned(&ylk, 2).starts_with("error:30001:"), "{ylk:?}");
}

/// The same hub with its database on PostgreSQL: every query of the pack is
/// written in SQL both backends run.
#[tokio::test]
async fn the_hub_database_may_be_postgresql() {
    let database = medbus_tests::create_postgres_database().await;
    let medbus = Setup::shipped()
        .env("MEDBUS_DATABASE_XIAMEN_120_HUB", &medbus_tests::postgres_url(&database))
        .start()
        .await;
    let hub_wsdl = medbus.listener_url("er-hub", &format!("{HUB}?wsdl"));
    let patients = |operation: &str| {
        format!(
            "<root><serviceName>{operation}</serviceName><patients><Patient><identity>350203198001010011</identity>\
             <healthCardNo></healthCardNo><applyNo>C1</applyNo></Patient></patients><secret>demo-only-secret-of-vendor-120</secret></root>"
        )
    };
    let pushed = zeep(
        hub_wsdl.clone(),
        "1.1",
        &[(
            "pushApplyRecord",
            serde_json::json!({ "applyData": record("C1", "demo-only-secret-of-vendor-120") }),
        )],
    )
    .await;
    assert_eq!(returned(&pushed, 0), "ok");
    let mut pg = sqlx::PgConnection::connect(&medbus_tests::postgres_url(&database))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while sqlx::query("SELECT 1 FROM apply_record WHERE apply_no = 'C1'")
        .fetch_optional(&mut pg)
        .await
        .unwrap()
        .is_none()
    {
        assert!(Instant::now() < deadline, "the record never reached PostgreSQL");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ylk = zeep(
        medbus.listener_url("er-hub", &format!("{YLK}?wsdl")),
        "1.1",
        &[
            ("stateUpdata", serde_json::json!({ "state": "<root><applyNo>C1</applyNo><state>1</state><secret>demo-only-secret-of-hospital-h03</secret></root>" })),
            ("updateApplyRecord", serde_json::json!({ "param": "<root><applyNo>C1</applyNo><patientAge>47</patientAge><sex>女</sex><secret>demo-only-secret-of-hospital-h03</secret></root>" })),
            ("getApplyRecord", serde_json::json!({ "applyData": "<root><eventNo>E-C1</eventNo><secret>demo-only-secret-of-hospital-h03</secret></root>" })),
        ],
    )
    .await;
    assert_eq!(returned(&ylk, 0), "1");
    assert!(
        returned(&ylk, 2).contains("<applyNo>C1</applyNo>"),
        "from the hub database: {ylk:?}"
    );
    let answered = zeep(
        hub_wsdl,
        "1.1",
        &[
            ("getAllergyMes", serde_json::json!({ "message": "<root><identity>350203198001010011</identity><secret>demo-only-secret-of-vendor-120</secret></root>" })),
            ("getPatientDiagnosis", serde_json::json!({ "message": patients("getPatientDiagnosis") })),
            ("getDischargeSummary", serde_json::json!({ "message": patients("getDischargeSummary") })),
        ],
    )
    .await;
    assert!(
        returned(&answered, 0).contains("<Allergy>青霉素过敏</Allergy>"),
        "{answered:?}"
    );
    assert!(returned(&answered, 1).contains("<icd10>I20.0</icd10>"), "{answered:?}");
    assert!(
        returned(&answered, 2).contains("<dischargeSummary>冠心病，好转出院</dischargeSummary>"),
        "{answered:?}"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let row: Option<(String, String, String, i64, i64)> = sqlx::query_as(
            "SELECT a.hospital_state, a.sex, a.patient_age, \
             (SELECT COUNT(*) FROM patient_diagnosis), (SELECT COUNT(*) FROM discharge_summary) \
             FROM apply_record a WHERE a.apply_no = 'C1' AND a.hospital_state IS NOT NULL AND a.patient_age = '47'",
        )
        .fetch_optional(&mut pg)
        .await
        .unwrap();
        if let Some(row) = row.as_ref().filter(|r| r.3 == 1 && r.4 == 1) {
            assert_eq!((row.0.as_str(), row.1.as_str()), ("1", "1"));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the hub's writes never all reached PostgreSQL: {row:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(pg);
    drop(medbus);
    medbus_tests::drop_database(&database).await;
}

/// An envelope a client would post for `pushApplyRecord`.
fn push_envelope(apply_no: &str) -> String {
    let escaped = record(apply_no, "demo-only-secret-of-vendor-120")
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" \
         xmlns:hub=\"http://hub.xmhealth.medbus/\"><soapenv:Body><hub:pushApplyRecord><applyData>{escaped}</applyData>\
         </hub:pushApplyRecord></soapenv:Body></soapenv:Envelope>"
    )
}

/// Every push the hub answered `ok` reaches the hub database and the
/// hospital, although the hub is killed (SIGKILL) right after answering.
#[tokio::test]
async fn acknowledged_pushes_survive_a_kill() {
    let mut medbus = Setup::shipped().start().await;
    let url = medbus.listener_url("er-hub", HUB);
    let client = reqwest::Client::new();
    let pushes = (0..160).map(|n| {
        let (client, url) = (client.clone(), url.clone());
        async move {
            let apply_no = format!("K{n:03}");
            let answer = client
                .post(&url)
                .header("content-type", "text/xml; charset=utf-8")
                .header("soapaction", "\"\"")
                .body(push_envelope(&apply_no))
                .send()
                .await
                .ok()?
                .text()
                .await
                .ok()?;
            answer.contains("<return>ok</return>").then_some(apply_no)
        }
    });
    let acknowledged: Vec<String> = futures::stream::iter(pushes)
        .buffer_unordered(16)
        .filter_map(|acked| async move { acked })
        .collect()
        .await;
    medbus.kill();
    assert_eq!(acknowledged.len(), 160, "every push was answered ok before the kill");
    let before = acknowledged
        .iter()
        .filter(|no| {
            medbus
                .data_dir
                .join(format!("xiamen-120-demo/hospital/H03-{no}.json"))
                .exists()
        })
        .count();
    println!("at the kill, {before} of 160 had reached the hospital");
    medbus.restart().await;

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut db = hub_db(&medbus).await;
        let kept: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM apply_record WHERE apply_no LIKE 'K%'")
            .fetch_one(&mut db)
            .await
            .unwrap();
        let forwarded = acknowledged
            .iter()
            .filter(|no| {
                medbus
                    .data_dir
                    .join(format!("xiamen-120-demo/hospital/H03-{no}.json"))
                    .exists()
            })
            .count();
        if kept == 160 && forwarded == 160 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "after the restart: {kept} of 160 kept in the hub database, {forwarded} of 160 at the hospital"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// node-soap builds its clients from both WSDLs, over either binding, and
/// calls every operation without hand edits.
#[tokio::test]
async fn node_soap_calls_every_operation_over_both_bindings() {
    let medbus = Setup::shipped().start().await;
    for binding in ["1.1", "1.2"] {
        let apply_no = format!("N{}", binding.replace('.', ""));
        let pushed = node_soap(
            medbus.listener_url("er-hub", &format!("{HUB}?wsdl")),
            binding,
            &[
                ("pushApplyRecord", serde_json::json!({ "applyData": record(&apply_no, "demo-only-secret-of-vendor-120") })),
                ("getBedMes", serde_json::json!({ "message": "<root><hospitalCode>H03</hospitalCode><secret>demo-only-secret-of-vendor-120</secret></root>" })),
                ("getAllergyMes", serde_json::json!({ "message": "<root><identity>350203198001010011</identity><secret>demo-only-secret-of-vendor-120</secret></root>" })),
                ("getPatientDiagnosis", serde_json::json!({ "message": "<root><patients><Patient><identity>350203198001010011</identity></Patient></patients><secret>demo-only-secret-of-vendor-120</secret></root>" })),
                ("getDischargeSummary", serde_json::json!({ "message": "<root><patients><Patient><identity>350203198001010011</identity></Patient></patients><secret>demo-only-secret-of-vendor-120</secret></root>" })),
            ],
        )
        .await;
        assert_eq!(returned(&pushed, 0), "ok", "{binding}: {pushed:?}");
        assert!(
            returned(&pushed, 1).contains("<hospitalCode>H03</hospitalCode>"),
            "{binding}: {pushed:?}"
        );
        for index in 2..5 {
            assert!(returned(&pushed, index).starts_with("<?xml"), "{binding}: {pushed:?}");
        }
        let ylk = node_soap(
            medbus.listener_url("er-hub", &format!("{YLK}?wsdl")),
            binding,
            &[
                ("stateUpdata", serde_json::json!({ "state": format!("<root><applyNo>{apply_no}</applyNo><state>0</state><secret>demo-only-secret-of-hospital-h03</secret></root>") })),
                ("getApplyRecord", serde_json::json!({ "applyData": "<root><eventNo>NONE2</eventNo><secret>demo-only-secret-of-hospital-h03</secret></root>" })),
                ("updateApplyRecord", serde_json::json!({ "param": format!("<root><applyNo>{apply_no}</applyNo><sex>男</sex><secret>demo-only-secret-of-hospital-h03</secret></root>") })),
            ],
        )
        .await;
        assert_eq!(returned(&ylk, 0), "0", "{binding}: {ylk:?}");
        assert!(returned(&ylk, 1).starts_with("error:30001:"), "{binding}: {ylk:?}");
        assert_eq!(returned(&ylk, 2), "更新成功", "{binding}: {ylk:?}");
    }
}
