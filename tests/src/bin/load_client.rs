//! Posts JSON to a URL at a fixed rate over a number of connections for a
//! while, then prints one JSON line: answers that were 2xx with an `id`
//! (ok), everything else (failed, with the first few reasons) and the ok
//! answers per second. `--ids FILE` writes every acknowledged id, one a line.

use clap::Parser;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
struct Args {
    #[arg(long)]
    url: String,
    /// Requests per second, over all connections.
    #[arg(long, default_value_t = 500)]
    rate: u32,
    #[arg(long, default_value_t = 8)]
    connections: u32,
    /// How long to send, e.g. 10s or 1500ms.
    #[arg(long, value_parser = humantime_duration)]
    duration: Duration,
    #[arg(long)]
    ids: Option<std::path::PathBuf>,
}

fn humantime_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let number: u64 = number.parse().map_err(|_| format!("bad duration `{text}`"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(number)),
        "s" | "" => Ok(Duration::from_secs(number)),
        _ => Err(format!("bad duration `{text}`; expected e.g. 10s or 500ms")),
    }
}

#[derive(Default)]
struct Tally {
    ok: u64,
    failed: u64,
    reasons: Vec<String>,
    ids: Vec<String>,
    ok_per_second: Vec<u64>,
}

impl Tally {
    fn ok(&mut self, id: String, second: usize) {
        self.ok += 1;
        self.ids.push(id);
        if self.ok_per_second.len() <= second {
            self.ok_per_second.resize(second + 1, 0);
        }
        self.ok_per_second[second] += 1;
    }

    fn failed(&mut self, reason: String) {
        self.failed += 1;
        if self.reasons.len() < 10 {
            self.reasons.push(reason);
        }
    }
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let tally = Arc::new(Mutex::new(Tally::default()));
    let started = Instant::now();
    let every = Duration::from_secs_f64(f64::from(args.connections) / f64::from(args.rate.max(1)));
    let mut senders = Vec::new();
    for connection in 0..args.connections {
        let (url, tally) = (args.url.clone(), tally.clone());
        let client = reqwest::Client::builder().pool_max_idle_per_host(1).build().unwrap();
        let until = started + args.duration;
        senders.push(tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            let mut n = 0u64;
            while Instant::now() < until {
                ticks.tick().await;
                n += 1;
                let body = format!("{{\"connection\":{connection},\"n\":{n},\"sex\":\"1\"}}");
                let outcome = send(&client, &url, body).await;
                let second = started.elapsed().as_secs() as usize;
                let mut tally = tally.lock().unwrap();
                match outcome {
                    Ok(id) => tally.ok(id, second),
                    Err(reason) => tally.failed(reason),
                }
            }
        }));
    }
    for sender in senders {
        sender.await.unwrap();
    }
    let tally = tally.lock().unwrap();
    if let Some(file) = &args.ids {
        std::fs::write(file, tally.ids.join("\n")).unwrap();
    }
    let summary = serde_json::json!({
        "ok": tally.ok,
        "failed": tally.failed,
        "reasons": tally.reasons,
        "ok_per_second": tally.ok_per_second,
        "seconds": started.elapsed().as_secs_f64(),
    });
    println!("{summary}");
}

async fn send(client: &reqwest::Client, url: &str, body: String) -> Result<String, String> {
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    let status = response.status();
    let text = response.text().await.map_err(|e| format!("answer unreadable: {e}"))?;
    if !status.is_success() {
        return Err(format!("{status}: {text}"));
    }
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("not JSON ({e}): {text}"))?;
    value["id"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("no id in {text}"))
}
