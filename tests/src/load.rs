//! Load for crash tests: many senders posting to a route until the process
//! is killed under them.

use crate::Medbus;
use serde_json::Value;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Posts small JSON bodies to `path` from `senders` tasks for `run_for`,
/// then SIGKILLs the process; returns the message id of every 200 answer.
pub async fn post_until_killed(medbus: &mut Medbus, path: &str, senders: usize, run_for: Duration) -> HashSet<String> {
    let acked = Arc::new(Mutex::new(HashSet::new()));
    let client = reqwest::Client::new();
    let url = medbus.url(path);
    let mut tasks = Vec::new();
    for sender in 0..senders {
        let (client, url, acked) = (client.clone(), url.clone(), acked.clone());
        tasks.push(tokio::spawn(async move {
            for n in 0.. {
                let body = format!("{{\"sender\":{sender},\"n\":{n}}}");
                let Ok(response) = client.post(&url).body(body).send().await else {
                    return;
                };
                if response.status() != 200 {
                    continue;
                }
                let Ok(body) = response.json::<Value>().await else {
                    return;
                };
                acked.lock().unwrap().insert(body["id"].as_str().unwrap().to_string());
            }
        }));
    }
    tokio::time::sleep(run_for).await;
    medbus.kill();
    for task in tasks {
        let _ = task.await;
    }
    let ids = acked.lock().unwrap().clone();
    ids
}
