//! The `soap` source, black-box: SOAP 1.1 and 1.2 calls, XML carried in
//! string parameters, the WSDL, a fault for every bad request with the
//! journal holding exactly what it should, business errors, reload, and
//! zeep (a client nobody on the team wrote) calling over both bindings.

use medbus_tests::process::run_cli;
use medbus_tests::{Medbus, Setup};
use serde_json::Value;
use sqlx::{Connection, Row};
use std::time::{Duration, Instant};

const NS: &str = "http://service.example.cn/";
const PATH: &str = "/ws/emergency";
const V11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
const V12: &str = "http://www.w3.org/2003/05/soap-envelope";

fn soap_source(operation: &str, params: &str, extra: &str) -> String {
    format!(
        "service: EmergencyService, path: {PATH}, namespace: '{NS}', operation: {operation}, params: [{params}]{extra}"
    )
}

/// pushApplyRecord: XML in `applyData`, a validate step, a reply and an
/// `on_error` reply. stateUpdata: no reply (answers `ok`), no `on_error`
/// (faults), a script that fails or rejects on demand, a small max_body.
fn write_routes(setup: &Setup) {
    setup.write(
        "routes/push.yaml",
        &format!(
            r#"id: t.push
source:
  soap: {{ {} }}
steps:
  - validate:
      required: [body.applyData.root.applyNo]
      on_missing: {{ code: "10001", message: "applyNo is required" }}
reply:
  body: "ok:{{{{ body.applyData.root.applyNo }}}}:{{{{ body.applyData.root.name }}}}:{{{{ headers.soap_version }}}}:{{{{ headers.operation }}}}:{{{{ body.secret }}}}"
on_error:
  reply:
    body: "error:{{{{ error.code }}}}:{{{{ error.message }}}}"
"#,
            soap_source("pushApplyRecord", "applyData, secret", "")
        ),
    );
    setup.write(
        "routes/state.yaml",
        &format!(
            r#"id: t.state
source:
  soap: {{ {} }}
steps:
  - script:
      inline: |
        if body.state == "boom" {{ throw "the state store is down"; }}
        if body.state == "9" {{ reject("BAD_STATE", "state 9 is not 0 or 1"); }}
"#,
            soap_source("stateUpdata", "state", ", max_body: 600B")
        ),
    );
}

async fn start() -> Medbus {
    let setup = Setup::empty();
    write_routes(&setup);
    setup.start().await
}

fn envelope(version: &str, body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="{version}"><s:Body>{body}</s:Body></s:Envelope>"#
    )
}

fn call(operation: &str, params: &str) -> String {
    format!(r#"<ns:{operation} xmlns:ns="{NS}">{params}</ns:{operation}>"#)
}

struct Answer {
    status: u16,
    content_type: String,
    body: String,
}

impl Answer {
    fn tree(&self) -> Value {
        parse_xml(&self.body)
    }

    /// The `return` of a response envelope (any prefix).
    fn returned(&self) -> String {
        let body = self.envelope_body();
        let response = body.as_object().unwrap().values().next().unwrap();
        response["return"]
            .as_str()
            .unwrap_or_else(|| panic!("no return: {}", self.body))
            .to_string()
    }

    /// The fault's code and string, for either version.
    fn fault(&self) -> (String, String) {
        assert_eq!(self.status, 500, "{}", self.body);
        let fault = &self.envelope_body()["soap:Fault"];
        if fault["faultcode"].is_string() {
            (
                fault["faultcode"].as_str().unwrap().to_string(),
                fault["faultstring"].as_str().unwrap().to_string(),
            )
        } else {
            (
                fault["soap:Code"]["soap:Value"].as_str().unwrap().to_string(),
                fault["soap:Reason"]["soap:Text"]["#text"].as_str().unwrap().to_string(),
            )
        }
    }

    fn envelope_body(&self) -> Value {
        let tree = self.tree();
        let envelope = tree.as_object().unwrap().values().next().unwrap().clone();
        envelope
            .as_object()
            .unwrap()
            .iter()
            .find(|(k, _)| k.ends_with("Body"))
            .unwrap_or_else(|| panic!("no Body: {}", self.body))
            .1
            .clone()
    }
}

/// Through the engine's own XML reader (the value model).
fn parse_xml(text: &str) -> Value {
    medbus::steps::parse::parse_text(medbus::steps::parse::Format::Xml, text)
        .unwrap_or_else(|e| panic!("not XML ({e}): {text}"))
}

async fn send(
    medbus: &Medbus,
    content_type: &str,
    soap_action: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> Answer {
    let mut request = reqwest::Client::new()
        .post(medbus.url(PATH))
        .header("content-type", content_type)
        .body(body);
    if let Some(action) = soap_action {
        request = request.header("SOAPAction", action);
    }
    let response = request.send().await.unwrap();
    Answer {
        status: response.status().as_u16(),
        content_type: response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default(),
        body: response.text().await.unwrap(),
    }
}

async fn get(url: &str) -> Answer {
    let response = reqwest::get(url).await.unwrap();
    Answer {
        status: response.status().as_u16(),
        content_type: response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default(),
        body: response.text().await.unwrap(),
    }
}

/// Every journaled message, oldest first: route, status, error code, raw, source.
async fn journal(medbus: &Medbus) -> Vec<(String, String, String, Vec<u8>, Value)> {
    let url = format!("sqlite://{}?mode=ro", medbus.journal_file().display());
    let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("SELECT route, status, CAST(error AS TEXT) AS error, raw, CAST(source AS TEXT) AS source FROM messages ORDER BY received_at_us, id")
        .fetch_all(&mut db)
        .await
        .unwrap()
        .into_iter()
        .map(|row| {
            let error: Option<String> = row.get("error");
            let code = error
                .map(|e| serde_json::from_str::<Value>(&e).unwrap()["code"].as_str().unwrap_or("").to_string())
                .unwrap_or_default();
            let source: String = row.get("source");
            (
                row.get("route"),
                row.get("status"),
                code,
                row.get::<Option<Vec<u8>>, _>("raw").unwrap_or_default(),
                serde_json::from_str(&source).unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn soap_11_and_12_calls_carry_xml_in_strings_to_the_route_and_answer_in_envelopes() {
    let medbus = start().await;
    let escaped =
        "&lt;root&gt;&lt;applyNo&gt;A001&lt;/applyNo&gt;&lt;name&gt;张三 &amp;amp; 李四&lt;/name&gt;&lt;/root&gt;";
    let request = envelope(
        V11,
        &call(
            "pushApplyRecord",
            &format!("<applyData>{escaped}</applyData><secret>s1</secret><extra>x</extra>"),
        ),
    );
    let answer = send(&medbus, "text/xml; charset=utf-8", Some("\"\""), request.clone()).await;
    assert_eq!(
        (answer.status, answer.content_type.as_str()),
        (200, "text/xml; charset=utf-8"),
        "{}",
        answer.body
    );
    assert_eq!(answer.returned(), "ok:A001:张三 & 李四:1.1:pushApplyRecord:s1");
    let response = &answer.envelope_body()["ns:pushApplyRecordResponse"];
    assert_eq!(response["@xmlns:ns"], NS, "{}", answer.body);

    let cdata = "<![CDATA[<root><applyNo>A002</applyNo><name>王五</name></root>]]>";
    let request = envelope(
        V12,
        &call(
            "pushApplyRecord",
            &format!("<applyData>{cdata}</applyData><secret>s2</secret>"),
        ),
    );
    let answer = send(&medbus, "application/soap+xml; charset=utf-8", None, request).await;
    assert_eq!(
        (answer.status, answer.content_type.as_str()),
        (200, "application/soap+xml; charset=utf-8"),
        "{}",
        answer.body
    );
    assert_eq!(answer.returned(), "ok:A002:王五:1.2:pushApplyRecord:s2");

    // A route without a reply answers `ok`; the 1.2 action picks the operation.
    let request = envelope(V12, &call("whatever", "<state>1</state>"));
    let answer = send(
        &medbus,
        &format!("application/soap+xml; action=\"{NS}EmergencyService/stateUpdata\""),
        None,
        request,
    )
    .await;
    assert_eq!(answer.returned(), "ok");

    let rows = journal(&medbus).await;
    let statuses: Vec<_> = rows.iter().map(|r| (r.0.as_str(), r.1.as_str())).collect();
    assert_eq!(
        statuses,
        [
            ("t.push", "processed"),
            ("t.push", "processed"),
            ("t.state", "processed")
        ]
    );
    let (_, _, _, raw, source) = &rows[0];
    assert_eq!(String::from_utf8_lossy(raw), request_first(escaped));
    assert_eq!(source["soap_version"], "1.1");
    assert_eq!(source["service"], "EmergencyService");
    assert_eq!(source["operation"], "pushApplyRecord");
    assert_eq!(source["soap_unknown_params"], serde_json::json!(["extra"]));
    assert_eq!(source["content-type"], "text/xml; charset=utf-8");
    assert_eq!(rows[2].4["soap_action"], format!("{NS}EmergencyService/stateUpdata"));
}

fn request_first(escaped: &str) -> String {
    envelope(
        V11,
        &call(
            "pushApplyRecord",
            &format!("<applyData>{escaped}</applyData><secret>s1</secret><extra>x</extra>"),
        ),
    )
}

#[tokio::test]
async fn the_wsdl_describes_the_served_operations_at_the_callers_address() {
    let medbus = start().await;
    for query in ["?wsdl", "?WSDL"] {
        let answer = get(&medbus.url(&format!("{PATH}{query}"))).await;
        assert_eq!(
            (answer.status, answer.content_type.as_str()),
            (200, "text/xml; charset=utf-8")
        );
        let tree = answer.tree();
        let definitions = &tree["wsdl:definitions"];
        assert_eq!(definitions["@targetNamespace"], NS);
        assert_eq!(definitions["@name"], "EmergencyService");
        let operations: Vec<_> = definitions["wsdl:portType"]["wsdl:operation"]
            .as_array()
            .unwrap()
            .iter()
            .map(|op| op["@name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(operations, ["pushApplyRecord", "stateUpdata"]);
        let ports = definitions["wsdl:service"]["wsdl:port"].as_array().unwrap();
        assert_eq!(ports[0]["soap:address"]["@location"], medbus.url(PATH));
        assert_eq!(ports[1]["soap12:address"]["@location"], medbus.url(PATH));
        assert!(
            answer
                .body
                .contains(r#"<xs:element minOccurs="0" name="applyData" type="xs:string"/>"#),
            "{}",
            answer.body
        );
    }
}

#[tokio::test]
async fn the_configured_address_goes_into_the_wsdl() {
    let setup = Setup::empty();
    setup.write(
        "routes/q.yaml",
        &format!(
            "id: t.q\nsource:\n  soap: {{ {} }}\n",
            soap_source("query", "id", ", address: 'https://hub.example.cn/ws/emergency'")
        ),
    );
    let medbus = setup.start().await;
    let answer = get(&medbus.url(&format!("{PATH}?wsdl"))).await;
    let tree = answer.tree();
    assert_eq!(
        tree["wsdl:definitions"]["wsdl:service"]["wsdl:port"][0]["soap:address"]["@location"],
        "https://hub.example.cn/ws/emergency"
    );
}

#[tokio::test]
async fn every_bad_request_gets_a_fault_and_only_known_operations_are_journaled() {
    let medbus = start().await;
    let state = |value: &str| envelope(V11, &call("stateUpdata", &format!("<state>{value}</state>")));
    let cases: Vec<(&str, &str, String, &str, &str)> = vec![
        (
            "malformed",
            "text/xml",
            "<s:Envelope".into(),
            "soap:Client",
            "malformed XML",
        ),
        (
            "not SOAP",
            "text/xml",
            "<root/>".into(),
            "soap:Client",
            "`root` is not a SOAP Envelope",
        ),
        (
            "DOCTYPE",
            "text/xml",
            format!(
                "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>{}",
                state("&e;")
            ),
            "soap:Client",
            "DOCTYPE",
        ),
        (
            "content type",
            "application/json",
            state("1"),
            "soap:Client",
            "expected text/xml (SOAP 1.1) or application/soap+xml",
        ),
        (
            "version",
            "text/xml",
            r#"<s:Envelope xmlns:s="urn:not-soap"><s:Body/></s:Envelope>"#.into(),
            "soap:VersionMismatch",
            "neither SOAP 1.1 nor SOAP 1.2",
        ),
        (
            "version and content type",
            "application/soap+xml",
            state("1"),
            "soap:VersionMismatch",
            "the content type is SOAP 1.2 but the envelope is SOAP 1.1",
        ),
        (
            "unknown operation",
            "text/xml",
            envelope(V11, &call("deleteEverything", "")),
            "soap:Client",
            "unknown operation `deleteEverything`; service `EmergencyService` serves: pushApplyRecord, stateUpdata",
        ),
        (
            "larger than any operation takes",
            "text/xml",
            state(&"x".repeat(2 * 1024 * 1024)),
            "soap:Client",
            "larger than the 1048576 bytes service `EmergencyService` accepts",
        ),
    ];
    for (what, content_type, body, code, message) in cases {
        let answer = send(&medbus, content_type, None, body).await;
        let (fault_code, faultstring) = answer.fault();
        assert_eq!(fault_code, code, "{what}: {faultstring}");
        assert!(faultstring.contains(message), "{what}: {faultstring}");
    }
    let answer = get(&medbus.url(PATH)).await;
    let (code, faultstring) = answer.fault();
    assert_eq!(code, "soap:Client");
    assert!(
        faultstring.contains("expected POST with a SOAP envelope, or GET /ws/emergency?wsdl"),
        "{faultstring}"
    );
    assert!(journal(&medbus).await.is_empty(), "nothing reached a route");
    let metrics = medbus.metrics().await;
    for reason in [
        "malformed",
        "content_type",
        "version_mismatch",
        "unknown_operation",
        "too_large",
        "method",
    ] {
        assert!(
            metrics.contains(&format!(
                "medbus_soap_unrouted_total{{service=\"EmergencyService\",reason=\"{reason}\"}}"
            )),
            "{reason}: {metrics}"
        );
    }

    // Known operation: over its own max_body, malformed XML in a param,
    // rejected and failed by the script: journaled on the route, faults.
    let answer = send(&medbus, "text/xml", None, state(&"x".repeat(700))).await;
    let (code, faultstring) = answer.fault();
    assert_eq!(code, "soap:Client");
    assert!(
        faultstring
            .starts_with("PAYLOAD_TOO_LARGE: the body is larger than the 600 bytes operation `stateUpdata` accepts"),
        "{faultstring}"
    );
    let answer = send(&medbus, "text/xml", None, state("&lt;r&gt;\n&lt;x&gt;&lt;/r&gt;")).await;
    let (code, faultstring) = answer.fault();
    assert_eq!(code, "soap:Client");
    assert!(
        faultstring.starts_with("BAD_XML: parameter `state` starts with `<` but is not well-formed XML"),
        "{faultstring}"
    );
    assert!(faultstring.contains("line 2"), "{faultstring}");
    let answer = send(
        &medbus,
        "application/soap+xml",
        None,
        envelope(V12, &call("stateUpdata", "<state>9</state>")),
    )
    .await;
    assert_eq!(
        answer.fault(),
        ("soap:Sender".into(), "BAD_STATE: state 9 is not 0 or 1".into())
    );
    let answer = send(
        &medbus,
        "application/soap+xml",
        None,
        envelope(V12, &call("stateUpdata", "<state>boom</state>")),
    )
    .await;
    let (code, faultstring) = answer.fault();
    assert_eq!(code, "soap:Receiver");
    assert!(
        faultstring.starts_with("SCRIPT_ERROR: ") && faultstring.contains("the state store is down"),
        "{faultstring}"
    );

    let rows = journal(&medbus).await;
    let got: Vec<_> = rows
        .iter()
        .map(|r| (r.0.as_str(), r.1.as_str(), r.2.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("t.state", "rejected", "PAYLOAD_TOO_LARGE"),
            ("t.state", "rejected", "BAD_XML"),
            ("t.state", "rejected", "BAD_STATE"),
            ("t.state", "failed", "SCRIPT_ERROR"),
        ]
    );
    assert!(
        String::from_utf8_lossy(&rows[1].3).contains("&lt;r&gt;"),
        "the envelope is journaled as it came"
    );
}

#[tokio::test]
async fn business_errors_answer_the_routes_on_error_reply_as_the_return() {
    let medbus = start().await;
    let request = envelope(
        V11,
        &call(
            "pushApplyRecord",
            "<applyData>&lt;root&gt;&lt;name&gt;张三&lt;/name&gt;&lt;/root&gt;</applyData>",
        ),
    );
    let answer = send(&medbus, "text/xml", None, request).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.returned(), "error:10001:applyNo is required");

    let request = envelope(
        V11,
        &call("pushApplyRecord", "<applyData><![CDATA[<root><applyNo>]]></applyData>"),
    );
    let answer = send(&medbus, "text/xml", None, request).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let returned = answer.returned();
    assert!(
        returned.starts_with("error:BAD_XML:parameter `applyData`"),
        "{returned}"
    );

    let rows = journal(&medbus).await;
    let got: Vec<_> = rows.iter().map(|r| (r.1.as_str(), r.2.as_str())).collect();
    assert_eq!(got, [("rejected", "10001"), ("rejected", "BAD_XML")]);
}

#[tokio::test]
async fn a_reload_changes_the_operations_the_wsdl_lists_and_serves() {
    let medbus = start().await;
    let operations = |answer: &Answer| -> Vec<String> {
        let tree = answer.tree();
        let ops = &tree["wsdl:definitions"]["wsdl:portType"]["wsdl:operation"];
        match ops {
            Value::Array(ops) => ops.iter().map(|op| op["@name"].as_str().unwrap().to_string()).collect(),
            op => vec![op["@name"].as_str().unwrap().to_string()],
        }
    };
    let wsdl_url = medbus.url(&format!("{PATH}?wsdl"));
    assert_eq!(operations(&get(&wsdl_url).await), ["pushApplyRecord", "stateUpdata"]);

    std::fs::write(
        medbus.config_dir.join("routes/bed.yaml"),
        format!(
            "id: t.bed\nsource:\n  soap: {{ {} }}\nreply:\n  body: 'beds:{{{{ body.hospital }}}}'\n",
            soap_source("getBedMes", "hospital", "")
        ),
    )
    .unwrap();
    std::fs::remove_file(medbus.config_dir.join("routes/state.yaml")).unwrap();
    // A service on an address no route used: its listener opens with the reload.
    let far = format!("127.0.0.1:{}", medbus_tests::free_port());
    std::fs::write(
        medbus.config_dir.join("routes/far.yaml"),
        format!("id: t.far\nsource:\n  soap: {{ service: Far, path: /far, namespace: 'urn:far', operation: ping, listen: '{far}' }}\n"),
    )
    .unwrap();
    medbus.hangup();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let now = operations(&get(&wsdl_url).await);
        if now == ["getBedMes", "pushApplyRecord"] {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the WSDL still lists {now:?}:\n{}",
            medbus.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let answer = send(
        &medbus,
        "text/xml",
        None,
        envelope(V11, &call("getBedMes", "<hospital>H01</hospital>")),
    )
    .await;
    assert_eq!(answer.returned(), "beds:H01");
    let answer = send(
        &medbus,
        "text/xml",
        None,
        envelope(V11, &call("stateUpdata", "<state>1</state>")),
    )
    .await;
    assert!(answer.fault().1.contains("unknown operation `stateUpdata`"));
    let far_wsdl = get(&format!("http://{far}/far?wsdl")).await;
    assert_eq!(operations(&far_wsdl), ["ping"]);

    // Removing its only route closes that listener again.
    std::fs::remove_file(medbus.config_dir.join("routes/far.yaml")).unwrap();
    medbus.hangup();
    let deadline = Instant::now() + Duration::from_secs(15);
    while reqwest::get(format!("http://{far}/far?wsdl")).await.is_ok() {
        assert!(Instant::now() < deadline, "{far} still answers:\n{}", medbus.logs());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(operations(&get(&wsdl_url).await), ["getBedMes", "pushApplyRecord"]);
}

#[test]
fn check_reports_service_conflicts_with_file_line_and_column() {
    let setup = Setup::empty();
    write_routes(&setup);
    setup.write(
        "routes/x-dup.yaml",
        &format!(
            "id: t.dup\nsource:\n  soap: {{ {} }}\n",
            soap_source("stateUpdata", "state", "")
        ),
    );
    setup.write(
        "routes/x-other.yaml",
        &format!(
            "id: t.other\nsource:\n  soap: {{ service: Other, path: {PATH}, namespace: '{NS}', operation: other }}\n"
        ),
    );
    setup.write(
        "routes/x-ns.yaml",
        &format!("id: t.ns\nsource:\n  soap: {{ service: EmergencyService, path: {PATH}, namespace: 'urn:x', operation: ns }}\n"),
    );
    setup.write(
        "routes/x-http.yaml",
        &format!("id: t.http\nsource:\n  http: {{ path: {PATH} }}\n"),
    );
    setup.write(
        "routes/x-params.yaml",
        "id: t.params\nsource:\n  soap: { service: S, path: /s, namespace: 'urn:s', operation: q, params: [a, a] }\n",
    );
    setup.write(
        "routes/x-names.yaml",
        "id: t.names\nsource:\n  soap: { service: S2, path: /s2, namespace: 'urn:s', operation: q, params: ['a b'] }\n",
    );
    let out = run_cli(&["check", "-c", "medbus.yaml"], setup.path(), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    for expected in [
        "x-dup.yaml:3:3: operation `stateUpdata` of service `EmergencyService` is already served by route `t.state`",
        "x-other.yaml:3:3: /ws/emergency is served as service `EmergencyService`",
        "x-ns.yaml:3:3: service `EmergencyService` has namespace `http://service.example.cn/`",
        "x-http.yaml:3:3: /ws/emergency on 127.0.0.1:",
        "x-params.yaml:3:3: operation `q` has parameter `a` twice",
        "x-names.yaml:3:3: parameter `a b` is not an XML name",
    ] {
        assert!(stderr.contains(expected), "missing `{expected}` in:\n{stderr}");
    }
}

/// zeep builds its client from our WSDL and calls over each binding.
#[tokio::test]
async fn zeep_calls_the_service_over_both_bindings() {
    let script = medbus_tests::repo_root().join("tests/soap/zeep_call.py");
    let probe = std::process::Command::new("python3")
        .args(["-c", "import zeep"])
        .output();
    assert!(
        probe.as_ref().is_ok_and(|o| o.status.success()),
        "the zeep SOAP client is missing; install it with `python3 -m pip install -r tests/soap/requirements.txt` (.ci/run does): {probe:?}"
    );
    let medbus = start().await;
    let wsdl_url = medbus.url(&format!("{PATH}?wsdl"));
    for (binding, version, client_fault) in [("1.1", "1.1", "Client"), ("1.2", "1.2", "Sender")] {
        let medbus_url = wsdl_url.clone();
        let output = tokio::task::spawn_blocking({
            let script = script.clone();
            move || {
                std::process::Command::new("python3")
                    .arg(&script)
                    .arg(&medbus_url)
                    .arg(binding)
                    .args([
                        "pushApplyRecord",
                        r#"{"applyData": "<root><applyNo>Z1</applyNo><name>张三</name></root>", "secret": "z"}"#,
                    ])
                    .args(["pushApplyRecord", r#"{"applyData": "<root/>"}"#])
                    .args(["stateUpdata", r#"{"state": "1"}"#])
                    .args(["stateUpdata", r#"{"state": "9"}"#])
                    .output()
                    .unwrap()
            }
        })
        .await
        .unwrap();
        assert!(
            output.status.success(),
            "zeep_call.py failed:\n{}\n{}",
            String::from_utf8_lossy(&output.stderr),
            medbus.logs()
        );
        let results: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(
            results[0]["return"],
            format!("ok:Z1:张三:{version}:pushApplyRecord:z"),
            "{results}"
        );
        assert_eq!(results[1]["return"], "error:10001:applyNo is required", "{results}");
        assert_eq!(results[2]["return"], "ok", "{results}");
        let fault = &results[3]["fault"];
        assert_eq!(fault["message"], "BAD_STATE: state 9 is not 0 or 1", "{results}");
        assert!(fault["code"].as_str().unwrap().ends_with(client_fault), "{results}");
    }
    let rows = journal(&medbus).await;
    let versions: Vec<_> = rows
        .iter()
        .map(|r| r.4["soap_version"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(versions, ["1.1", "1.1", "1.1", "1.1", "1.2", "1.2", "1.2", "1.2"]);
}

#[test]
fn the_documented_route_checks_clean() {
    let doc = std::fs::read_to_string(medbus_tests::repo_root().join("docs/soap.md")).unwrap();
    let section = &doc[doc.find("## Engine: the soap source").expect("the engine section")..];
    let start = section.find("```yaml\n").unwrap() + "```yaml\n".len();
    let end = start + section[start..].find("```").unwrap();
    let setup = Setup::empty();
    setup.write("routes/doc.yaml", &section[start..end]);
    let out = run_cli(&["check", "-c", "medbus.yaml"], setup.path(), &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 soap"));
}
