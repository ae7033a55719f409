//! The `medbus` command line: run, check, reload, schema, test, passwd, token.

use crate::config::Diagnostic;
use crate::runtime::snapshot::{Snapshot, Source};
use crate::settings::{LogFormat, Settings};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser, Debug)]
#[command(
    name = "medbus",
    version,
    about = "Configuration-driven integration engine for health information exchange"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve every route of the configuration.
    Run {
        /// The settings file; folders in it are relative to its own folder.
        #[arg(short, long, default_value = "medbus.yaml")]
        config: PathBuf,
        /// Log as JSON lines instead of text (overrides the setting).
        #[arg(long)]
        log_json: bool,
    },
    /// Validate the whole configuration; print every error as file:line:column.
    Check {
        #[arg(short, long, default_value = "medbus.yaml")]
        config: PathBuf,
    },
    /// Ask the running medbus (its admin listener, from the settings) to
    /// reload its configuration; print every error when it is refused.
    /// Authenticates with the API token in MEDBUS_ADMIN_TOKEN (an operator's
    /// or admin's) when the admin API has users or tokens.
    Reload {
        #[arg(short, long, default_value = "medbus.yaml")]
        config: PathBuf,
    },
    /// Print the JSON Schema of route files.
    Schema,
    /// Run the unit tests written beside routes, scripts and mapping tables.
    Test {
        /// A folder of routes, one route file, or a script's or mapping
        /// table's test file; all routes when not given.
        target: Option<PathBuf>,
        #[arg(short, long, default_value = "medbus.yaml")]
        config: PathBuf,
    },
    /// Hash a password for `admin.users` in the settings: read it twice,
    /// unechoed, on a terminal, or one line from a pipe; print its argon2id
    /// hash.
    Passwd,
    /// Make an API token for `admin.tokens`: print the token (for the
    /// program that calls the admin API) and its hash (for the settings).
    Token,
}

/// The API token `medbus reload` sends.
pub const ADMIN_TOKEN_ENV: &str = "MEDBUS_ADMIN_TOKEN";

pub fn main(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Run { config, log_json } => run(&config, log_json),
        Command::Check { config } => check(&config),
        Command::Reload { config } => reload(&config),
        Command::Schema => {
            println!("{}", route_schema());
            ExitCode::SUCCESS
        }
        Command::Test { target, config } => crate::unit_test::run_cli(&config, target.as_deref()),
        Command::Passwd => crate::admin::auth::commands::passwd(),
        Command::Token => crate::admin::auth::commands::token(),
    }
}

/// The JSON Schema of a route file, pretty-printed.
pub fn route_schema() -> String {
    let schema = schemars::schema_for!(crate::config::RouteSpec);
    serde_json::to_string_pretty(&schema).expect("a schema serialises")
}

pub fn load_settings(config: &Path) -> Result<Settings, Vec<Diagnostic>> {
    Settings::load(config, &|name| std::env::var(name).ok())
}

fn print_errors(errors: &[Diagnostic]) {
    for error in errors {
        eprintln!("{error}");
    }
    eprintln!(
        "{} error{} found",
        errors.len(),
        if errors.len() == 1 { "" } else { "s" }
    );
}

fn check(config: &Path) -> ExitCode {
    let settings = match load_settings(config) {
        Ok(settings) => settings,
        Err(errors) => {
            print_errors(&errors);
            return ExitCode::FAILURE;
        }
    };
    match Snapshot::load(Arc::new(settings)) {
        Ok(snapshot) => {
            for warning in snapshot.settings.secrets.warnings() {
                eprintln!("warning: {warning}");
            }
            println!("ok: {}", summary(&snapshot));
            ExitCode::SUCCESS
        }
        Err(errors) => {
            print_errors(&errors);
            ExitCode::FAILURE
        }
    }
}

fn reload(config: &Path) -> ExitCode {
    let settings = match load_settings(config) {
        Ok(settings) => settings,
        Err(errors) => {
            print_errors(&errors);
            return ExitCode::FAILURE;
        }
    };
    let mut admin = settings.admin_addr;
    if admin.ip().is_unspecified() {
        admin.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let url = format!("http://{admin}/api/reload");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let token = std::env::var(ADMIN_TOKEN_ENV).ok().filter(|t| !t.is_empty());
    let answer = runtime.block_on(async {
        let mut request = reqwest::Client::new().post(&url);
        if let Some(token) = &token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        Ok::<_, reqwest::Error>((status, response.text().await?))
    });
    let (status, body) = match answer {
        Ok(answer) => answer,
        Err(e) => {
            eprintln!("cannot reach medbus at {url}: {e}");
            return ExitCode::FAILURE;
        }
    };
    if status == 401 || status == 403 {
        let why = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|answer| answer["error"]["message"].as_str().map(str::to_string))
            .unwrap_or(body);
        eprintln!(
            "medbus at {url} refused the reload ({status}): {why}; expected {ADMIN_TOKEN_ENV} to hold an operator's API token (medbus token, docs/admin-auth.md)"
        );
        return ExitCode::FAILURE;
    }
    let Ok(report) = serde_json::from_str::<serde_json::Value>(&body) else {
        eprintln!("unexpected answer from {url} ({status}): {body}");
        return ExitCode::FAILURE;
    };
    print_reload_report(&report)
}

fn print_reload_report(report: &serde_json::Value) -> ExitCode {
    let list = |key: &str| {
        let ids: Vec<&str> = report["routes"][key]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        if ids.is_empty() {
            "none".to_string()
        } else {
            ids.join(", ")
        }
    };
    match report["status"].as_str() {
        Some("applied") => {
            println!(
                "applied in {} ms: added {}; changed {}; removed {}; {} unchanged",
                report["took_ms"],
                list("added"),
                list("changed"),
                list("removed"),
                report["routes"]["unchanged"]
            );
            for setting in report["restart_required"].as_array().into_iter().flatten() {
                println!(
                    "restart required: {} changed from {} to {}; the running value stays until medbus restarts",
                    setting["setting"].as_str().unwrap_or("?"),
                    setting["running"],
                    setting["configured"]
                );
            }
            ExitCode::SUCCESS
        }
        _ => {
            let errors = report["errors"].as_array().cloned().unwrap_or_default();
            for error in &errors {
                eprintln!("{}", error["text"].as_str().unwrap_or("?"));
            }
            eprintln!(
                "reload refused: {} error{} found; the running configuration stays",
                errors.len(),
                if errors.len() == 1 { "" } else { "s" }
            );
            ExitCode::FAILURE
        }
    }
}

pub fn summary(snapshot: &Snapshot) -> String {
    let count = |kind: &str| {
        snapshot
            .routes
            .iter()
            .filter(|r| source_kind(&r.source) == kind)
            .count()
    };
    let kinds: Vec<String> = ["http", "soap", "mllp", "file", "timer"]
        .into_iter()
        .map(|kind| (kind, count(kind)))
        .filter(|(_, n)| *n > 0)
        .map(|(kind, n)| format!("{n} {kind}"))
        .collect();
    format!(
        "{} routes ({}) on {} listener(s), {} mapping table(s)",
        snapshot.routes.len(),
        kinds.join(", "),
        snapshot.http_addrs().len() + snapshot.mllp_addrs().len(),
        snapshot.resources.mappings.len(),
    )
}

fn source_kind(source: &Source) -> &'static str {
    match source {
        Source::Http { .. } => "http",
        Source::Soap { .. } => "soap",
        Source::Mllp { .. } => "mllp",
        Source::File { .. } => "file",
        Source::Timer { .. } => "timer",
    }
}

fn init_logging(settings: &Settings, json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_new(&settings.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    if json || settings.log_format == LogFormat::Json {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn run(config: &Path, log_json: bool) -> ExitCode {
    let settings = match load_settings(config) {
        Ok(settings) => settings,
        Err(errors) => {
            print_errors(&errors);
            return ExitCode::FAILURE;
        }
    };
    init_logging(&settings, log_json);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    match runtime.block_on(crate::server::run(settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(crate::server::StartError::Config(errors)) => {
            print_errors(&errors);
            ExitCode::FAILURE
        }
        Err(crate::server::StartError::Other(e)) => {
            tracing::error!("medbus stopped: {e:#}");
            eprintln!("medbus: {e:#}");
            ExitCode::FAILURE
        }
    }
}
