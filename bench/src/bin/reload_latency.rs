//! Measures how long a changed route file takes to serve: write the file,
//! then post to the route until its answer shows the change. `watch`: the
//! file watcher notices it; `api`: `POST /api/reload` right after writing.
//! Prints min, median, p95 and max over the rounds.
//!
//!   reload-latency <watch|api> <route file> <route url> <admin url> [rounds=20]

use std::time::{Duration, Instant};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, mode, file, url, admin, rest @ ..] = args.as_slice() else {
        eprintln!("usage: reload-latency <watch|api> <route file> <route url> <admin url> [rounds]");
        std::process::exit(2);
    };
    let rounds: usize = rest.first().map_or(20, |r| r.parse().expect("rounds: a number"));
    let template = std::fs::read_to_string(file).expect("the route file");
    let client = reqwest::Client::new();
    let mut took = Vec::new();
    for round in 0..rounds {
        let version = format!("{mode}-{round}-{}", std::process::id());
        let text = replace_version(&template, &version);
        let started = Instant::now();
        std::fs::write(file, text).unwrap();
        if mode == "api" {
            let status = client
                .post(format!("{admin}/api/reload"))
                .send()
                .await
                .unwrap()
                .status();
            assert!(status.is_success(), "reload answered {status}");
        }
        loop {
            let body = client.post(url).body("{}").send().await.unwrap().text().await.unwrap();
            if body.contains(&version) {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(10), "never served: {body}");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        took.push(started.elapsed());
        // Let the watcher settle so rounds do not overlap.
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    took.sort();
    let ms = |d: &Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{mode:>5}: min {:.0} ms, median {:.0} ms, p95 {:.0} ms, max {:.0} ms over {rounds} reloads",
        ms(&took[0]),
        ms(&took[took.len() / 2]),
        ms(&took[(took.len() * 95 / 100).min(took.len() - 1)]),
        ms(&took[took.len() - 1])
    );
}

/// The route's reply carries `"v":"..."`; put `version` there.
fn replace_version(route: &str, version: &str) -> String {
    let start = route.find("\"v\":\"").expect("a reply with \"v\":\"...\"") + 5;
    let end = start + route[start..].find('"').unwrap();
    format!("{}{version}{}", &route[..start], &route[end..])
}
