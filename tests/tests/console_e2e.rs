//! The web console end to end, in a real browser: Debian's chromium,
//! headless, driven by playwright-core (tests/console/e2e/console.mjs),
//! against the real binary. This test prepares medbus (users, a JSON route
//! whose destination is down, an HL7 route with a message in it) and runs
//! the browser script, which logs in, watches counters rise, finds a message
//! by business key, opens its trace, fixes and re-delivers a dead delivery,
//! reloads a broken route, pauses a route, and checks what a viewer may not
//! do and what only an admin sees. Screenshots
//! land in tests/console/artifacts/.

use medbus_tests::hl7::mllp_send;
use medbus_tests::process::{demo_password, hash_password};
use medbus_tests::{free_port, repo_root, Setup};
use std::process::Command;

const CHROMIUM: &str = "/usr/bin/chromium";
/// About 15 s when all goes well.
const BROWSER_RUN_LIMIT: std::time::Duration = std::time::Duration::from_secs(180);

fn settings(mllp_port: u16) -> String {
    let user = |name: &str| {
        format!(
            "    - {{ name: {name}, role: {name}, password: '{}' }}\n",
            hash_password(&demo_password(name))
        )
    };
    format!(
        "log: info\nlisteners:\n  his: 127.0.0.1:{mllp_port}\nadmin:\n  users:\n{}{}{}",
        user("viewer"),
        user("operator"),
        user("admin")
    )
}

/// Its destination listens on `destination_port` only once the browser
/// script starts a server there: until then every delivery fails, quickly.
fn push_route(destination_port: u16) -> String {
    format!(
        r#"id: e2e.push
description: 120 pushes an apply record
keys: {{ applyNo: body.applyNo, eventNo: body.eventNo }}
source:
  http: {{ path: /push }}
steps:
  - parse: {{ format: json }}
  - authenticate: {{ secret: body.secret, callers: [vendor-*] }}
  - validate:
      required: [body.applyNo, body.name]
  - set:
      body.receivedBy: {{ value: hub }}
destinations:
  - name: hospital
    max_attempts: 2
    backoff: {{ initial: 200ms, max: 200ms }}
    to: {{ http: {{ url: 'http://127.0.0.1:{destination_port}/hospital', timeout: 2s }} }}
"#
    )
}

const ADT_ROUTE: &str = r#"id: e2e.adt
description: HIS admissions over MLLP
keys: { PatientID: PID-3.1, MSH-10: MSH-10 }
source:
  mllp: { listen: his, messages: [ADT^A01] }
steps:
  - parse: { format: hl7 }
  - validate:
      required: [PID-3.1, PID-5.1]
  - set: { PID-8: { value: F } }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_in_a_real_browser() {
    let root = repo_root();
    let console_tests = root.join("tests/console");
    assert!(
        std::path::Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is needed: `apt-get install chromium` (.ci/run installs it)"
    );
    assert!(
        console_tests.join("node_modules/playwright-core").exists(),
        "playwright-core is needed: `npm ci --prefix tests/console` (.ci/run runs it)"
    );
    let (mllp_port, destination_port) = (free_port(), free_port());
    let setup = Setup::empty();
    setup.write("medbus.yaml", &settings(mllp_port));
    setup.write("routes/push.yaml", &push_route(destination_port));
    setup.write("routes/adt.yaml", ADT_ROUTE);
    setup.write("secrets.yaml", "vendor-120: e2e-secret\n");
    let medbus = setup.start().await;

    let adt = std::fs::read(root.join("routes/his-adt/tests/adt-a01.hl7")).unwrap();
    let ack = mllp_send(mllp_port, &adt, &medbus.config_dir);
    assert!(ack.contains("MSA|AA"), "{ack}");

    let artifacts = console_tests.join("artifacts");
    let browser_run = tokio::process::Command::new("node")
        .arg(console_tests.join("e2e/console.mjs"))
        .env("MEDBUS_ADMIN_URL", medbus.admin_url(""))
        .env("MEDBUS_HTTP_URL", medbus.url(""))
        .env("MEDBUS_ROUTES_DIR", medbus.config_dir.join("routes"))
        .env("DESTINATION_PORT", destination_port.to_string())
        .env("CHROMIUM", CHROMIUM)
        .env("ARTIFACTS", &artifacts)
        .env("VENDOR_SECRET", "e2e-secret")
        .env("VIEWER_PASSWORD", demo_password("viewer"))
        .env("OPERATOR_PASSWORD", demo_password("operator"))
        .env("ADMIN_PASSWORD", demo_password("admin"))
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(BROWSER_RUN_LIMIT, browser_run)
        .await
        .unwrap_or_else(|_| panic!("the browser test took over {BROWSER_RUN_LIMIT:?}:\n{}", medbus.logs()))
        .expect("run node");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "the browser test failed ({}):\n{stdout}\n{stderr}\nscreenshots: {}\nmedbus log:\n{}",
        output.status,
        artifacts.display(),
        medbus.logs()
    );
}

/// The console's JavaScript modules, unit-tested with node's own runner.
#[test]
fn the_console_modules_pass_their_unit_tests() {
    let output = Command::new("node")
        .args(["--test", "tests/console/unit/"])
        .current_dir(repo_root())
        .output()
        .expect("run node");
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
