//! Who may use the admin API, from outside: logins with a session cookie,
//! API tokens, roles, the CSRF header, logout, users removed by a reload,
//! the open API when nobody is configured, `medbus passwd` and `medbus
//! token`, and the shipped demo users.

use medbus_tests::process::{demo_password, hash_password, run_cli, DEMO_TOKEN};
use medbus_tests::{Medbus, Setup};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const TOKEN: &str = "mbt_token-of-the-ci-job-in-this-test";

/// A medbus whose admin API has a user of each role (password: the name
/// and `-pass`, hashed by `medbus passwd`) and an operator token.
fn setup_with_users() -> Setup {
    let users: String = ["viewer", "operator", "admin"]
        .iter()
        .map(|role| {
            let hash = hash_password(&format!("{role}-pass"));
            format!("    - {{ name: {role}, role: {role}, password: '{hash}' }}\n")
        })
        .collect();
    let token_hash = medbus::admin::auth::token::hash_hex(TOKEN);
    let setup = Setup::empty();
    setup.write(
        "medbus.yaml",
        &format!(
            "log: info\nadmin:\n  users:\n{users}  tokens:\n    - {{ name: ci, role: operator, token_hash: {token_hash} }}\n"
        ),
    );
    setup
}

async fn login(medbus: &Medbus, name: &str, password: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(medbus.admin_url("/api/login"))
        .json(&json!({ "name": name, "password": password }))
        .send()
        .await
        .unwrap()
}

/// The status and JSON answer of a request.
async fn answer(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn refusal_logged(medbus: &Medbus, reason: &str, user: &str) -> bool {
    medbus.logs().lines().any(|line| {
        line.contains("admin API request refused")
            && line.contains(&format!("reason=\"{reason}\""))
            && line.contains(&format!("user=\"{user}\""))
            && line.contains("remote=127.0.0.1:")
    })
}

#[tokio::test]
async fn logins_tokens_and_roles_decide_who_may_do_what() {
    let medbus = setup_with_users().start().await;
    let plain = reqwest::Client::new();

    let started = Instant::now();
    let refused = login(&medbus, "operator", "wrong-password").await;
    assert_eq!(refused.status(), 401);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "a failed login is answered after a delay"
    );
    assert!(refused.headers().get("set-cookie").is_none());
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "LOGIN_FAILED");
    assert_eq!(login(&medbus, "nobody", "operator-pass").await.status(), 401);
    assert!(refusal_logged(&medbus, "login_failed", "operator"), "{}", medbus.logs());
    assert!(refusal_logged(&medbus, "login_failed", "nobody"), "{}", medbus.logs());
    assert!(!medbus.logs().contains("wrong-password"), "a password is never logged");

    let accepted = login(&medbus, "viewer", "viewer-pass").await;
    assert_eq!(accepted.status(), 200);
    let cookie = accepted.headers()["set-cookie"].to_str().unwrap().to_string();
    for attribute in [
        "medbus_session=",
        "; HttpOnly",
        "; SameSite=Strict",
        "; Path=/",
        "; Max-Age=28800",
    ] {
        assert!(cookie.contains(attribute), "{attribute} missing from {cookie}");
    }
    let body: Value = accepted.json().await.unwrap();
    assert_eq!(
        (body["name"].as_str(), body["role"].as_str()),
        (Some("viewer"), Some("viewer"))
    );

    let viewer = medbus.login("viewer", "viewer-pass").await;
    let (status, me) = answer(viewer.get(medbus.admin_url("/api/me"))).await;
    assert_eq!(
        (status, me["role"].as_str(), me["via"].as_str()),
        (200, Some("viewer"), Some("session"))
    );
    assert_eq!(answer(viewer.get(medbus.admin_url("/api/reload/history"))).await.0, 200);
    let (status, body) = answer(viewer.post(medbus.admin_url("/api/reload"))).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("FORBIDDEN")),
        "{body}"
    );
    assert!(refusal_logged(&medbus, "role", "viewer"), "{}", medbus.logs());
    assert!(
        medbus.logs().contains("method=POST path=/api/reload"),
        "{}",
        medbus.logs()
    );
    assert_eq!(answer(viewer.get(medbus.admin_url("/api/users"))).await.0, 403);

    let operator = medbus.login("operator", "operator-pass").await;
    assert_eq!(answer(operator.post(medbus.admin_url("/api/reload"))).await.0, 200);
    let operator_cookie_only = reqwest::Client::new()
        .post(medbus.admin_url("/api/reload"))
        .header("cookie", cookie_of(&medbus, "operator", "operator-pass").await);
    let (status, body) = answer(operator_cookie_only).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("CSRF")), "{body}");

    let (status, body) = answer(plain.get(medbus.admin_url("/api/reload/history"))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("UNAUTHENTICATED")));
    let (status, _) = answer(plain.post(medbus.admin_url("/api/reload")).bearer_auth(TOKEN)).await;
    assert_eq!(status, 200, "a bearer token needs no CSRF header");
    let (status, me) = answer(plain.get(medbus.admin_url("/api/me")).bearer_auth(TOKEN)).await;
    assert_eq!(
        (status, me["name"].as_str(), me["via"].as_str()),
        (200, Some("ci"), Some("token"))
    );
    let (status, body) = answer(plain.get(medbus.admin_url("/api/me")).bearer_auth("mbt_guessed")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("BAD_TOKEN")));
    assert_eq!(
        answer(plain.get(medbus.admin_url("/api/users")).bearer_auth(TOKEN))
            .await
            .0,
        403
    );

    let admin = medbus.login("admin", "admin-pass").await;
    let response = admin.get(medbus.admin_url("/api/users")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(
        !text.contains("argon2") && !text.contains("token_hash"),
        "no hash is shown: {text}"
    );
    let users: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        users["users"][0],
        json!({ "name": "viewer", "role": "viewer", "sessions": 2 })
    );
    assert_eq!(users["tokens"], json!([{ "name": "ci", "role": "operator" }]));

    assert_eq!(answer(viewer.post(medbus.admin_url("/api/logout"))).await.0, 204);
    let (status, body) = answer(viewer.get(medbus.admin_url("/api/me"))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("SESSION_ENDED")));

    assert_eq!(
        plain.get(medbus.admin_url("/health")).send().await.unwrap().status(),
        200
    );
    let metrics = medbus.metrics().await;
    for reason in [
        "login_failed",
        "role",
        "csrf",
        "no_credentials",
        "bad_token",
        "session_ended",
    ] {
        let counter = format!("medbus_admin_refused_total{{reason=\"{reason}\"}}");
        assert!(metrics.contains(&counter), "{counter} missing from:\n{metrics}");
    }
}

/// The `name=value` of a fresh session cookie.
async fn cookie_of(medbus: &Medbus, name: &str, password: &str) -> String {
    let response = login(medbus, name, password).await;
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    cookie.split(';').next().unwrap().to_string()
}

#[tokio::test]
async fn a_reload_that_removes_a_user_ends_their_sessions_and_medbus_reload_needs_a_token() {
    let medbus = setup_with_users().start().await;
    let viewer = medbus.login("viewer", "viewer-pass").await;
    let operator = medbus.login("operator", "operator-pass").await;
    let settings = medbus.config_dir.join("medbus.yaml");
    let text = std::fs::read_to_string(&settings).unwrap();
    let without_viewer: String = text
        .lines()
        .filter(|l| !l.contains("name: viewer"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&settings, without_viewer).unwrap();

    let env = [("MEDBUS_ADMIN_ADDR", medbus.admin.to_string())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let cli = run_cli(&["reload", "-c", "medbus.yaml"], &medbus.config_dir, &env);
    let stderr = String::from_utf8_lossy(&cli.stderr);
    assert_eq!(cli.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("(401)") && stderr.contains("MEDBUS_ADMIN_TOKEN"),
        "{stderr}"
    );
    let with_token = [env[0], ("MEDBUS_ADMIN_TOKEN", TOKEN)];
    let cli = run_cli(&["reload", "-c", "medbus.yaml"], &medbus.config_dir, &with_token);
    let stdout = String::from_utf8_lossy(&cli.stdout);
    assert_eq!(
        cli.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    assert!(stdout.starts_with("applied in "), "{stdout}");

    let (status, body) = answer(viewer.get(medbus.admin_url("/api/me"))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("SESSION_ENDED")));
    assert_eq!(login(&medbus, "viewer", "viewer-pass").await.status(), 401);
    assert_eq!(
        answer(operator.get(medbus.admin_url("/api/me"))).await.0,
        200,
        "other users stay logged in"
    );
}

#[tokio::test]
async fn without_users_the_api_is_open_to_local_callers_only() {
    let setup = Setup::empty();
    let dir = setup.path().to_path_buf();
    let medbus = setup.start().await;
    assert!(
        medbus
            .logs()
            .contains("admin API has no users: open to local callers only"),
        "{}",
        medbus.logs()
    );
    let plain = reqwest::Client::new();
    let (status, me) = answer(plain.get(medbus.admin_url("/api/me"))).await;
    assert_eq!(
        (status, me["via"].as_str(), me["role"].as_str()),
        (200, Some("open"), Some("admin"))
    );
    assert_eq!(answer(plain.post(medbus.admin_url("/api/reload"))).await.0, 200);

    let port = medbus_tests::free_port().to_string();
    let public = format!("0.0.0.0:{port}");
    let env = [
        ("MEDBUS_ADMIN_ADDR", public.as_str()),
        ("MEDBUS_HTTP_ADDR", "127.0.0.1:0"),
        ("MEDBUS_DATA_DIR", "data-public"),
    ];
    let run = run_cli(&["run", "-c", "medbus.yaml"], &dir, &env);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("admin_addr {public} is reachable from other machines"))
            && stderr.contains("medbus passwd"),
        "{stderr}"
    );
}

#[tokio::test]
async fn passwd_and_token_print_what_the_settings_take() {
    let hash = hash_password("a long enough password");
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(medbus::admin::auth::password::verify("a long enough password", &hash));
    assert!(!medbus::admin::auth::password::verify("another password", &hash));

    let dir = tempfile::tempdir().unwrap();
    let token = run_cli(&["token"], dir.path(), &[]);
    assert!(token.status.success());
    let stdout = String::from_utf8(token.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    let (printed, hash) = (
        lines[0].strip_prefix("token: ").unwrap(),
        lines[1].strip_prefix("token_hash: ").unwrap(),
    );
    assert!(printed.starts_with("mbt_"), "{stdout}");
    assert_eq!(medbus::admin::auth::token::hash_hex(printed), hash);

    let short = std::process::Command::new(medbus_tests::process::binary())
        .arg("passwd")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(short.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&short.stderr).contains("shorter than 8"));
}

#[tokio::test]
async fn the_shipped_demo_users_and_token_log_in() {
    let medbus = Setup::shipped().start().await;
    for role in ["viewer", "operator", "admin"] {
        let client = medbus.admin_client(role).await;
        let (status, me) = answer(client.get(medbus.admin_url("/api/me"))).await;
        assert_eq!(
            (status, me["name"].as_str(), me["role"].as_str()),
            (200, Some(role), Some(role))
        );
    }
    assert!(!demo_password("viewer").is_empty());
    let (status, me) = answer(
        reqwest::Client::new()
            .get(medbus.admin_url("/api/me"))
            .bearer_auth(DEMO_TOKEN),
    )
    .await;
    assert_eq!((status, me["role"].as_str()), (200, Some("operator")));
    let (status, _) = answer(reqwest::Client::new().get(medbus.admin_url("/api/reload/history"))).await;
    assert_eq!(status, 401, "the shipped admin API needs a login");
}

#[tokio::test]
async fn an_address_that_fails_too_often_must_wait_and_a_token_still_works() {
    let medbus = setup_with_users().start().await;
    // Fifteen guesses at once: ten are checked (each answers after a second), five refused at once.
    let started = std::time::Instant::now();
    let guesses: Vec<String> = (0..15).map(|i| format!("guess-{i}")).collect();
    let attempts = guesses.iter().map(|guess| login(&medbus, "admin", guess));
    let mut statuses: Vec<u16> = futures::future::join_all(attempts)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    statuses.sort();
    assert_eq!(statuses, [vec![401; 10], vec![429; 5]].concat());
    assert!(started.elapsed() < std::time::Duration::from_secs(5));

    // The next, even with the right password, is refused at once.
    let response = login(&medbus, "admin", "admin-pass").await;
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((850..=900).contains(&retry_after), "{retry_after}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "TOO_MANY_LOGINS");
    assert!(refusal_logged(&medbus, "too_many_logins", "admin"), "{}", medbus.logs());
    assert!(medbus.metrics().await.contains(r#"reason="too_many_logins""#));

    // Tokens are not logins: they still work.
    let (status, _) = answer(
        reqwest::Client::new()
            .get(medbus.admin_url("/api/me"))
            .bearer_auth(TOKEN),
    )
    .await;
    assert_eq!(status, 200);
}
