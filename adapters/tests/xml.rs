//! The XML codec against documents shaped like the ones Chinese hospital systems send.

use medbus_adapters::xml::{self, WriteOptions};
use serde_json::{json, Value};
use std::path::Path;

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/xml")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn fixture_text(name: &str) -> String {
    String::from_utf8(fixture(name)).unwrap()
}

fn pretty() -> WriteOptions {
    WriteOptions {
        indent: 2,
        declaration: true,
        ..WriteOptions::default()
    }
}

/// XML -> value -> XML -> value gives the same value, compact and indented.
fn assert_round_trips(value: &Value) {
    let compact = xml::write(value).unwrap();
    assert_eq!(&xml::parse(&compact).unwrap(), value, "through {compact}");
    let indented = xml::write_with(value, &pretty()).unwrap();
    assert_eq!(&xml::parse(&indented).unwrap(), value, "through {indented}");
}

#[test]
fn a_soap_envelope_becomes_the_documented_value_and_back_to_the_same_text() {
    let text = fixture_text("soap-push-apply-record.xml");
    let value = xml::parse(&text).unwrap();
    // Compared as text so that the order of keys counts too.
    let expected = fixture_text("soap-push-apply-record.json");
    assert_eq!(serde_json::to_string_pretty(&value).unwrap(), expected.trim_end());

    assert_eq!(xml::write_with(&value, &pretty()).unwrap(), text.trim_end());
    assert_round_trips(&value);

    let record = &value["soapenv:Envelope"]["soapenv:Body"]["web:pushApplyRecord"]["record"];
    assert_eq!(record["patient"]["name"], "张三");
    assert_eq!(record["diagnosis"]["item"][1]["#text"], "高血压 3 级 & 糖尿病");
}

#[test]
fn canonical_compact_text_comes_back_byte_for_byte() {
    let text = concat!(
        r#"<s:E xmlns:s="urn:s" a="&quot;x&quot; &amp; 'y' &lt;&#9;&#10;&#13;&gt;">"#,
        r#"<s:B><c/><d>中文 &lt;&amp;&gt; "q" 'a' &#13;</d><d k="1"/><d>2</d>"#,
        r#"<e n="1">t</e><m>x<i>y</i></m></s:B></s:E>"#,
    );
    let value = xml::parse(text).unwrap();
    assert_eq!(xml::write(&value).unwrap(), text);
    let with_declaration = xml::write_document(&value).unwrap();
    assert_eq!(
        with_declaration,
        format!(r#"<?xml version="1.0" encoding="UTF-8"?>{text}"#)
    );
    assert_eq!(value["s:E"]["@a"], "\"x\" & 'y' <\t\n\r>");
    assert_eq!(value["s:E"]["s:B"]["d"][0], "中文 <&> \"q\" 'a' \r");
}

#[test]
fn an_xml_string_parameter_parses_in_turn() {
    let outer = xml::parse(&fixture_text("soap-string-param.xml")).unwrap();
    let params = &outer["soap:Envelope"]["soap:Body"]["ns1:queryReport"]["ns1:params"];
    let inner = xml::parse(params.as_str().unwrap()).unwrap();
    assert_eq!(inner, json!({"req": {"patientId": "P-001", "reportType": "检验"}}));
    // Written back, the inner document is escaped again inside the outer one.
    let rewritten = xml::write(&outer).unwrap();
    assert!(
        rewritten.contains("&lt;reportType&gt;检验&lt;/reportType&gt;"),
        "{rewritten}"
    );
    assert_round_trips(&outer);
}

#[test]
fn a_messy_document_keeps_its_data() {
    let value = xml::parse_bytes(&fixture("messy.xml")).unwrap();
    let expected = json!({"report": {
        "@xmlns": "urn:his:report",
        "@xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
        "title": "检验报告 — 血常规",
        "items": {
            "item": [
                {"@code": "WBC", "value": "6.5", "unit": "10^9/L"},
                {"@code": "RBC", "value": "4.8", "unit": "10^12/L"},
            ],
            "note": "参考值: 3.5~9.5 <正常> & \"无异常\"",
            "empty": "",
            "spaced": "  两端有空格  ",
        },
        "conclusion": {"#text": "结论：，请结合临床。", "b": "未见异常"},
        "crlf": "第一行\r\n第二行",
    }});
    assert_eq!(value, expected);
    assert_round_trips(&value);
}

#[test]
fn a_gbk_document_is_read_in_its_declared_encoding() {
    let bytes = fixture("his-record-gbk.xml");
    assert!(std::str::from_utf8(&bytes).is_err(), "the fixture must really be GBK");
    let value = xml::parse_bytes(&bytes).unwrap();
    let expected = json!({"Request": {
        "Header": {"SourceSystem": "住院HIS", "MessageID": "MSG-0001"},
        "Body": {
            "Patient": {"PatientName": "李四", "Sex": "女", "Address": "福建省厦门市思明区鹭江道 1 号"},
            "Order": [
                {"@no": "1", "#text": "阿莫西林胶囊 0.25g"},
                {"@no": "2", "#text": "布洛芬缓释胶囊"},
            ],
        },
    }});
    assert_eq!(value, expected);
    assert_round_trips(&value);
    // Without its declaration it is read as UTF-8 and refused where the bytes stop being
    // UTF-8; which is not where the Chinese begins, because GBK can pass for UTF-8 for a
    // while (住院 is D7 A1 D4 BA, two valid two-byte UTF-8 sequences).
    let without_declaration = &bytes[bytes.iter().position(|&b| b == b'\n').unwrap() + 1..];
    let e = xml::parse_bytes(without_declaration).unwrap_err();
    assert!(e.message.contains("not valid UTF-8"), "{e}");
    let valid = std::str::from_utf8(without_declaration).unwrap_err().valid_up_to();
    assert_eq!(e.position, valid as u64);
    assert!(
        valid
            > without_declaration
                .windows(14)
                .position(|w| w == b"<SourceSystem>")
                .unwrap()
                + 14
    );
}

#[test]
fn hostile_documents_are_refused_with_a_reason() {
    let billion_laughs = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<lolz>&lol2;</lolz>"#;
    let external = r#"<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>"#;
    for (xml, position) in [(billion_laughs, 22), (external, 21)] {
        let e = xml::parse(xml).unwrap_err();
        assert!(e.message.starts_with("a DOCTYPE declaration is not accepted"), "{e}");
        assert_eq!(e.position, position);
    }
    let deep = "<a>".repeat(100_000);
    let e = xml::parse(&deep).unwrap_err();
    assert_eq!(
        (e.position, e.to_string()),
        (768, "elements nest deeper than 256 levels (at byte 768)".into())
    );
}

#[test]
fn the_example_in_the_docs_is_true() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/value-model-xml.md");
    let doc = std::fs::read_to_string(path).unwrap();
    let block = |fence: &str| {
        let start = doc.find(fence).unwrap() + fence.len();
        &doc[start..start + doc[start..].find("```").unwrap()]
    };
    let value = xml::parse(block("```xml\n")).unwrap();
    let expected: Value = serde_json::from_str(block("```json\n")).unwrap();
    // Compared as text so that the order of keys counts too.
    assert_eq!(value.to_string(), expected.to_string());
}
