//! A medbus process under test.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The binary built from engine/src/main.rs: cargo puts it beside the
/// `deps/` folder that holds the running test executable.
pub fn binary() -> PathBuf {
    if let Ok(path) = std::env::var("MEDBUS_BINARY") {
        return PathBuf::from(path);
    }
    let test_exe = std::env::current_exe().expect("the test executable's path");
    let profile_dir = test_exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/<test>");
    let binary = profile_dir.join(format!("medbus-under-test{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.exists(),
        "{} is missing; run the tests with `cargo test --workspace`",
        binary.display()
    );
    binary
}

/// Runs `medbus ARGS` to completion (check, test, schema ...).
pub fn run_cli(args: &[&str], dir: &Path, env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(binary());
    command.args(args).current_dir(dir);
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("run the medbus binary")
}

impl Setup {
    /// `medbus check` on this configuration: its exit code, and what it
    /// printed (standard error, then standard output).
    pub fn check(&self) -> (Option<i32>, String) {
        let out = run_cli(&["check", "-c", "medbus.yaml"], self.path(), &[]);
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        (out.status.code(), printed)
    }
}

/// The argon2id hash `medbus passwd` prints for `password` (given on a pipe).
pub fn hash_password(password: &str) -> String {
    use std::io::Write;
    let mut child = Command::new(binary())
        .arg("passwd")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run medbus passwd");
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

/// The password of the shipped medbus.yaml's demo user `role` (`viewer`,
/// `operator`, `admin`): public, like the demo secrets.
pub fn demo_password(role: &str) -> String {
    format!("{role}-demo-only")
}

/// The shipped medbus.yaml's demo API token (role operator).
pub const DEMO_TOKEN: &str = "mbt_demo-only-operator-token";

/// A configuration folder for one test: a copy of the shipped routes,
/// scripts, templates and mappings (or none), plus files the test writes.
pub struct Setup {
    pub dir: tempfile::TempDir,
    pub env: HashMap<String, String>,
    /// The route listener and admin addresses the process will get.
    pub http: SocketAddr,
    pub admin: SocketAddr,
    /// Named listeners (settings `listeners`) moved to free ports, by name.
    pub listeners: HashMap<String, SocketAddr>,
}

impl Setup {
    /// An empty configuration folder with a medbus.yaml pointing at its own
    /// `routes/`, `scripts/`, `templates/`, `mappings/` and `data/`.
    pub fn empty() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["routes", "scripts", "templates", "mappings"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        std::fs::write(dir.path().join("medbus.yaml"), "log: info\n").unwrap();
        Setup {
            dir,
            env: HashMap::new(),
            http: format!("127.0.0.1:{}", crate::free_port()).parse().unwrap(),
            admin: format!("127.0.0.1:{}", crate::free_port()).parse().unwrap(),
            listeners: HashMap::new(),
        }
    }

    /// The shipped configuration: the repository's medbus.yaml and folders,
    /// copied so that a test may change them.
    pub fn shipped() -> Setup {
        let mut setup = Setup::empty();
        let root = crate::repo_root();
        let mut files = Vec::new();
        for sub in ["routes", "scripts", "templates", "mappings"] {
            copy_tree(&root.join(sub), &setup.dir.path().join(sub), &mut files);
        }
        for file in ["medbus.yaml", "secrets.example.yaml"] {
            std::fs::copy(root.join(file), setup.dir.path().join(file)).unwrap();
        }
        // Named listeners (a pack's ports) move to free ports: their address
        // is replaced wherever the configuration names it: the settings
        // (`listeners`, `values` URLs), the mapping tables (endpoints of demo
        // stand-ins), the route tests' expectations.
        let settings_file = setup.dir.path().join("medbus.yaml");
        let named = medbus::settings::Settings::load(&settings_file, &|_| None)
            .unwrap_or_else(|errors| panic!("the shipped settings: {errors:?}"))
            .listeners;
        files.push(settings_file);
        for (name, shipped) in named {
            let moved: SocketAddr = format!("127.0.0.1:{}", crate::free_port()).parse().unwrap();
            for file in &files {
                // Fixtures in other character sets (GB 18030 messages) name no listener.
                let Ok(text) = std::fs::read_to_string(file) else {
                    continue;
                };
                if text.contains(&shipped.to_string()) {
                    std::fs::write(file, text.replace(&shipped.to_string(), &moved.to_string())).unwrap();
                }
            }
            setup.listeners.insert(name, moved);
        }
        setup
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A URL on the route listener the process will get.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.http, path)
    }

    pub fn write(&self, relative: &str, text: &str) -> &Self {
        let path = self.dir.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.insert(key.into(), value.into());
        self
    }

    /// Starts medbus on free ports and waits until /health answers 200.
    /// The process keeps the folder alive as long as it runs.
    pub async fn start(self) -> Medbus {
        Medbus::start(self).await
    }
}

/// Copies a folder recursively; adds every file written to `copied`.
fn copy_tree(from: &Path, to: &Path, copied: &mut Vec<PathBuf>) {
    std::fs::create_dir_all(to).unwrap();
    let Ok(entries) = std::fs::read_dir(from) else { return };
    for entry in entries.flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target, copied);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
            copied.push(target);
        }
    }
}

pub struct Medbus {
    child: Child,
    pub http: SocketAddr,
    pub admin: SocketAddr,
    pub config_dir: PathBuf,
    pub data_dir: PathBuf,
    env: Vec<(String, String)>,
    log: PathBuf,
    _setup: Setup,
}

impl Medbus {
    async fn start(setup: Setup) -> Medbus {
        let (http, admin) = (setup.http, setup.admin);
        let data_dir = setup.path().join("data");
        let mut env: Vec<(String, String)> = vec![
            ("MEDBUS_HTTP_ADDR".into(), http.to_string()),
            ("MEDBUS_ADMIN_ADDR".into(), admin.to_string()),
            ("MEDBUS_DATA_DIR".into(), data_dir.display().to_string()),
            ("MEDBUS_LOG".into(), "info".into()),
        ];
        env.extend(setup.env.iter().map(|(k, v)| (k.clone(), v.clone())));
        let log = setup.path().join(format!("medbus-{}.log", crate::free_port()));
        let mut medbus = Medbus {
            child: spawn(setup.path(), &env, &log),
            http,
            admin,
            config_dir: setup.path().to_path_buf(),
            data_dir,
            env,
            log,
            _setup: setup,
        };
        medbus.wait_healthy().await;
        medbus
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.http, path)
    }

    /// A URL on the named listener `name` (moved to a free port by the setup).
    pub fn listener_url(&self, name: &str, path: &str) -> String {
        format!("http://{}{}", self._setup.listeners[name], path)
    }

    pub fn admin_url(&self, path: &str) -> String {
        format!("http://{}{}", self.admin, path)
    }

    /// One message whole as the admin API shows it (`GET /api/messages/{id}`),
    /// for a configuration without users (the API open to local callers).
    pub async fn message(&self, id: &str) -> serde_json::Value {
        reqwest::get(self.admin_url(&format!("/api/messages/{id}")))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The admin listener's `/metrics` text.
    pub async fn metrics(&self) -> String {
        reqwest::get(self.admin_url("/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// A client of the admin API with the rights of `role` (`viewer`,
    /// `operator`, `admin`): logged in as the shipped configuration's demo
    /// user of that name, or a plain client when the configuration has no
    /// users (the admin API is then open to local callers).
    pub async fn admin_client(&self, role: &str) -> reqwest::Client {
        let env: HashMap<&str, &str> = self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let settings = medbus::settings::Settings::load(&self.config_dir.join("medbus.yaml"), &|name| {
            env.get(name).map(|v| v.to_string())
        })
        .unwrap_or_else(|errors| panic!("the settings of the running medbus: {errors:?}"));
        if settings.admin.is_open() {
            return reqwest::Client::new();
        }
        self.login(role, &demo_password(role)).await
    }

    /// Logs in as `name`: a client that sends the session cookie, and the
    /// CSRF header that requests which act need with it.
    pub async fn login(&self, name: &str, password: &str) -> reqwest::Client {
        let response = reqwest::Client::new()
            .post(self.admin_url("/api/login"))
            .json(&serde_json::json!({ "name": name, "password": password }))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            200,
            "login as `{name}`: {}",
            response.text().await.unwrap()
        );
        let cookie = response.headers()["set-cookie"].to_str().unwrap();
        let session = cookie.split(';').next().unwrap().to_string();
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::COOKIE, session.parse().unwrap());
        headers.insert("x-medbus-csrf", "1".parse().unwrap());
        reqwest::Client::builder().default_headers(headers).build().unwrap()
    }

    /// The SQLite journal file of the default settings.
    pub fn journal_file(&self) -> PathBuf {
        self.data_dir.join("journal.db")
    }

    pub async fn wait_healthy(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = reqwest::Client::new();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("medbus exited with {status} while starting:\n{}", self.logs());
            }
            if let Ok(response) = client.get(self.admin_url("/health")).send().await {
                if response.status() == 200 {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "medbus did not become healthy:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL: no flush, no goodbye.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then wait for the process to exit.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        self.child.wait().unwrap()
    }

    /// SIGHUP: reload the configuration.
    pub fn hangup(&self) {
        let status = Command::new("kill")
            .arg("-HUP")
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Starts the same configuration again, on the same ports and data dir.
    pub async fn restart(&mut self) {
        self.kill();
        self.child = spawn(&self.config_dir, &self.env, &self.log);
        self.wait_healthy().await;
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn spawn(dir: &Path, env: &[(String, String)], log: &Path) -> Child {
    let log_file = std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap();
    let mut command = Command::new(binary());
    command
        .args(["run", "-c", "medbus.yaml"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file);
    for (k, v) in env {
        command.env(k, v);
    }
    command.spawn().expect("start the medbus binary")
}

impl Drop for Medbus {
    fn drop(&mut self) {
        self.kill();
    }
}
