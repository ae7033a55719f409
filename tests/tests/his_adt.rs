//! The shipped HIS pack (routes/his-adt) on the real binary: python-hl7's
//! `mllp_send` (nobody here wrote it; tests/hl7/requirements.txt) sends the
//! pack's fixtures as a HIS would, and the demo platform receivers
//! (routes/his-adt-demo) store what medbus posted to them under
//! data/demo-platform/.

use medbus_tests::hl7::mllp_send;
use medbus_tests::{Medbus, Setup};
use serde_json::Value;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A fixture of routes/his-adt/tests, as bytes.
fn fixture(name: &str) -> Vec<u8> {
    let path = medbus_tests::repo_root().join("routes/his-adt/tests").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// An outpatient registration as a HIS on GB 18030 sends it (MSH-18), with a
/// name holding a character outside the BMP (four bytes in GB 18030). Kept
/// here rather than under routes/his-adt/tests: the shipped configuration's
/// files are read as UTF-8 text (route tests, `Setup::shipped`).
fn gb18030_registration() -> Vec<u8> {
    let text = "MSH|^~\\&|HIS|H3502030001|PLATFORM|XMHIP|20261122113000||ADT^A04^ADT_A01|ADT202611220007|P|2.4|||||CHN|GB 18030-2000\n\
                EVN|A04|20261122113000\n\
                PID|1||P0001250^^^H3502030001^PI~350203201507080048^^^CHN^NNCHN||王\u{2C317}||20150708|F|||\
                思明区厦禾路188号^^厦门市^福建省||13600001234^PRN^CP\n\
                PV1|1|O|EK01^^^H3502030001||||3011^郑^晓梅|||0701^儿科||||||||||MZ20261122031\n";
    let (bytes, _, unmappable) = encoding_rs::GB18030.encode(text);
    assert!(!unmappable);
    let (rare, _, _) = encoding_rs::GB18030.encode("\u{2C317}");
    assert_eq!(rare.len(), 4, "a four-byte GB 18030 sequence");
    assert!(bytes.windows(4).any(|w| w == &rare[..]));
    bytes.into_owned()
}

/// The ACK answering the message with control id `control` (MSA-2).
fn ack<'a>(acks: &'a str, control: &str) -> &'a str {
    acks.split("MSH|")
        .find(|a| {
            a.lines()
                .any(|l| l.starts_with("MSA|") && l.split('|').nth(2) == Some(control))
        })
        .unwrap_or_else(|| panic!("no ACK for {control} in:\n{acks}"))
}

fn assert_accepted(acks: &str, control: &str) {
    let ack = ack(acks, control);
    assert!(
        ack.contains(&format!("MSA|AA|{control}")),
        "{control} not accepted:\n{ack}"
    );
}

/// The JSON files the demo platform stored in `data/demo-platform/<what>`,
/// by file name, once there are `count` of them (within 10 s).
async fn stored(medbus: &Medbus, what: &str, count: usize) -> Vec<(String, Value)> {
    let dir: PathBuf = medbus.data_dir.join("demo-platform").join(what);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut files: Vec<(String, Value)> = std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .flatten()
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
                    .map(|e| {
                        let text = std::fs::read_to_string(e.path()).unwrap();
                        let json = serde_json::from_str(&text)
                            .unwrap_or_else(|err| panic!("{}: {err}\n{text}", e.path().display()));
                        (e.file_name().to_string_lossy().into_owned(), json)
                    })
                    .collect()
            })
            .unwrap_or_default();
        if files.len() >= count || Instant::now() > deadline {
            files.sort_by(|a, b| a.0.cmp(&b.0));
            assert_eq!(
                files.len(),
                count,
                "files in {}: {:?}\n{}",
                dir.display(),
                files.iter().map(|f| &f.0).collect::<Vec<_>>(),
                medbus.logs()
            );
            return files;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The one stored file whose name starts with `prefix`.
fn one<'a>(files: &'a [(String, Value)], prefix: &str) -> &'a Value {
    let found: Vec<_> = files.iter().filter(|(name, _)| name.starts_with(prefix)).collect();
    assert_eq!(
        found.len(),
        1,
        "one file {prefix}*: {:?}",
        files.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    &found[0].1
}

/// The shipped configuration, and the port its `his-adt` listener moved to.
async fn start() -> (Medbus, u16) {
    let setup = Setup::shipped();
    let port = setup.listeners["his-adt"].port();
    (setup.start().await, port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_his_feed_reaches_the_demo_platform_as_json() {
    let (medbus, port) = start().await;
    let messages = [
        "adt-a01.hl7",
        "adt-a04.hl7",
        "adt-a04-passport.hl7",
        "adt-a08.hl7",
        "adt-a40.hl7",
        "adt-a40-two-pairs.hl7",
        "oru-r01.hl7",
    ]
    .map(fixture)
    .join(&b"\n"[..]);
    let messages = [messages, gb18030_registration()].join(&b"\n"[..]);
    let acks = mllp_send(port, &messages, &medbus.config_dir);
    for control in [
        "ADT202611220001",
        "ADT202611220002",
        "ADT202611220003",
        "ADT202611220007",
        "ADT202611220004",
        "ADT202611220005",
        "ADT202611220006",
        "LIS202611220042",
    ] {
        assert_accepted(&acks, control);
    }

    // Person registrations: POST register/admit, PUT update (the demo's PUT
    // route is the only one that takes "event": "update").
    let persons = stored(&medbus, "person", 5).await;
    let admit = one(&persons, "P0001234-admit-");
    assert_eq!(admit["requestId"], "H3502030001-ADT202611220001");
    assert_eq!(admit["person"]["name"], "张三");
    assert_eq!(admit["person"]["genderCode"], "1");
    assert_eq!(admit["person"]["genderName"], "男");
    assert_eq!(admit["person"]["birthDate"], "1980-05-17");
    assert_eq!(admit["person"]["idType"], "01");
    assert_eq!(admit["person"]["idTypeName"], "居民身份证");
    assert_eq!(admit["person"]["idNumber"], "350203198005170014");
    assert_eq!(admit["visit"]["ward"], "0301");
    assert_eq!(admit["visit"]["bed"], "12");
    assert_eq!(admit["visit"]["admitTime"], "2026-11-22 09:25:00");
    let update = one(&persons, "P0001234-update-");
    assert_eq!(update["person"]["phone"], "13812349999");
    assert_eq!(update["person"]["address"], "福建省厦门市思明区莲前西路2号");
    assert_eq!(one(&persons, "P0001235-register-")["person"]["genderName"], "女");
    let passport = one(&persons, "P0001236-register-");
    assert_eq!(passport["person"]["name"], "DOE JOHN");
    assert_eq!(passport["person"]["idTypeName"], "护照");
    // GB 18030 (MSH-18), a name with a character outside the BMP (a four-byte one in GB 18030).
    let gb = one(&persons, "P0001250-register-");
    assert_eq!(gb["person"]["name"], "王\u{2C317}");
    assert_eq!(gb["person"]["address"], "福建省厦门市思明区厦禾路188号");
    assert_eq!(gb["visit"]["departmentName"], "儿科");

    // EMPI merges: the A40 with three pairs has two survivors.
    let merges = stored(&medbus, "empi-merge", 2).await;
    let single = one(&merges, "H3502030001-ADT202611220005-");
    assert_eq!(single["merges"][0]["survivor"]["localId"], "P0001234");
    assert_eq!(single["merges"][0]["merged"][0]["localId"], "P0001299");
    let triple = one(&merges, "H3502030001-ADT202611220006-");
    assert_eq!(triple["merges"].as_array().unwrap().len(), 2);
    assert_eq!(triple["merges"][0]["merged"].as_array().unwrap().len(), 2);

    // Lab reports: one document per OBR, NM values as JSON numbers.
    let labs = stored(&medbus, "lab-report", 1).await;
    let reports = labs[0].1["reports"].as_array().unwrap();
    assert_eq!(reports.len(), 2);
    assert_eq!(reports[0]["reportNo"], "L202611220042");
    assert_eq!(reports[0]["results"].as_array().unwrap().len(), 3);
    assert_eq!(reports[0]["results"][0]["value"], serde_json::json!(6.5));
    assert_eq!(
        reports[0]["results"][1]["abnormalFlagNames"],
        serde_json::json!(["偏低"])
    );
    assert_eq!(reports[1]["results"][0]["value"], serde_json::json!(7.8));
    assert_eq!(reports[1]["results"][1]["value"], "空腹血糖偏高，建议复查");
    assert_eq!(reports[1]["patient"]["idNumber"], "350203198005170014");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_messages_get_ar_with_err_and_nothing_is_delivered_for_them() {
    let (medbus, port) = start().await;
    let msh = |kind: &str, control: &str| {
        format!(
            "MSH|^~\\&|HIS|H3502030001|PLATFORM|XMHIP|20261122120000||{kind}|{control}|P|2.5|||||CHN|UNICODE UTF-8\n"
        )
    };
    let messages = [
        // a resident id number whose check character is wrong
        msh("ADT^A04^ADT_A01", "BAD01")
            + "PID|1||P0009901^^^H3502030001^PI~350203198005170015^^^CHN^NNCHN||王五||19800517|M\n",
        // no name
        msh("ADT^A01^ADT_A01", "BAD02") + "PID|1||P0009902^^^H3502030001^PI||||19800517|M\n",
        // a sex outside HL7 table 0001
        msh("ADT^A08^ADT_A01", "BAD03") + "PID|1||P0009903^^^H3502030001^PI||王五||19800517|男\n",
        // an MRG before its PID
        msh("ADT^A40^ADT_A39", "BAD04")
            + "MRG|P0009904^^^H3502030001^PI\nPID|1||P0009905^^^H3502030001^PI||王五||19800517|M\n",
        // a numeric result that is no number
        msh("ORU^R01^ORU_R01", "BAD05")
            + "PID|1||P0009906^^^H3502030001^PI||王五||19800517|M\nOBR|1||L9|GLU^葡萄糖^LOCAL\n\
               OBX|1|NM|GLU^葡萄糖^LOCAL||阴性|mmol/L|3.9-6.1||||F\n",
        // an event this pack does not take
        msh("ADT^A03^ADT_A03", "BAD06") + "PID|1||P0009907^^^H3502030001^PI||王五||19800517|M\n",
        // and a good one last: once it is stored, the bad ones had their chance
        msh("ADT^A04^ADT_A01", "GOOD07") + "PID|1||P0009908^^^H3502030001^PI||赵六||19800517|M\n",
    ]
    .concat();
    let acks = mllp_send(port, messages.as_bytes(), &medbus.config_dir);
    for (control, err, text) in [
        ("BAD01", "102^Data type error^HL70357", "check character is \"4\""),
        ("BAD02", "101^Required field missing^HL70357", "PID-5.1"),
        ("BAD03", "103^Table value not found^HL70357", "PID-8 sex"),
        (
            "BAD04",
            "100^Segment sequence error^HL70357",
            "MRG segment comes before any PID",
        ),
        ("BAD05", "102^Data type error^HL70357", "OBX[1]-5"),
        (
            "BAD06",
            "201^Unsupported event code^HL70357",
            "(MSH-9) is not taken here",
        ),
    ] {
        let ack = ack(&acks, control);
        assert!(ack.contains(&format!("MSA|AR|{control}")), "{control}:\n{ack}");
        assert!(ack.contains(&format!("|{err}|E|")), "{control}: no ERR {err}:\n{ack}");
        assert!(ack.contains(text), "{control}: no `{text}` in:\n{ack}");
    }
    assert_accepted(&acks, "GOOD07");

    let persons = stored(&medbus, "person", 1).await;
    assert!(persons[0].0.starts_with("P0009908-register-"), "{persons:?}");
    // Deliveries run in the background: give a wrongly queued one time to land.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(stored(&medbus, "person", 1).await.len(), 1);
    for what in ["empi-merge", "lab-report"] {
        assert!(
            !medbus.data_dir.join("demo-platform").join(what).exists(),
            "{what}: nothing is delivered for a refused message"
        );
    }
}
