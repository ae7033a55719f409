//! Outbound HTTP for `call` steps and `http` destinations. Live requests go
//! through one shared client; under `medbus test` every request is answered
//! from the test's recorded responses and kept for its assertions.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct OutboundRequest {
    /// The call's or destination's name; recorded responses are keyed by it.
    pub name: String,
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    #[serde(skip)]
    pub timeout: Duration,
}

/// An answer to an outbound request; in `medbus test`, a recorded one.
#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutboundResponse {
    /// HTTP status.
    #[serde(default = "ok_status")]
    pub status: u16,
    /// Response headers as `[name, value]` pairs.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// Response body text.
    #[serde(default)]
    pub body: String,
}

fn ok_status() -> u16 {
    200
}

#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("connection failed: {0}")]
    Connect(String),
    #[error("{0}")]
    Other(String),
}

#[derive(Clone)]
pub enum Outbound {
    Live(reqwest::Client),
    Recorded(Arc<Recorder>),
}

impl Outbound {
    pub fn live() -> Outbound {
        let client = reqwest::Client::builder()
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .expect("the HTTP client's TLS backend is compiled in");
        Outbound::Live(client)
    }

    pub async fn send(&self, request: OutboundRequest) -> Result<OutboundResponse, OutboundError> {
        match self {
            Outbound::Live(client) => send_live(client, request).await,
            Outbound::Recorded(recorder) => recorder.answer(request),
        }
    }
}

async fn send_live(client: &reqwest::Client, request: OutboundRequest) -> Result<OutboundResponse, OutboundError> {
    let method = reqwest::Method::from_bytes(request.method.as_bytes())
        .map_err(|_| OutboundError::Other(format!("bad HTTP method `{}`", request.method)))?;
    let mut builder = client
        .request(method, &request.url)
        .timeout(request.timeout)
        .body(request.body);
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    let response = builder.send().await.map_err(|e| classify(e, request.timeout))?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = response.text().await.map_err(|e| classify(e, request.timeout))?;
    Ok(OutboundResponse { status, headers, body })
}

fn classify(error: reqwest::Error, timeout: Duration) -> OutboundError {
    // The URL may carry a secret in its query; errors are logged and journaled.
    let error = error.without_url();
    if error.is_timeout() {
        OutboundError::Timeout(timeout)
    } else if error.is_connect() {
        OutboundError::Connect(error_chain(&error))
    } else {
        OutboundError::Other(error_chain(&error))
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

/// Answers requests from recorded responses, by request name, in order;
/// the last response for a name repeats. Keeps every request it saw.
#[derive(Default)]
pub struct Recorder {
    responses: Mutex<HashMap<String, Vec<OutboundResponse>>>,
    pub seen: Mutex<Vec<OutboundRequest>>,
}

impl Recorder {
    pub fn new(responses: HashMap<String, Vec<OutboundResponse>>) -> Self {
        Recorder {
            responses: Mutex::new(responses),
            seen: Mutex::new(Vec::new()),
        }
    }

    fn answer(&self, request: OutboundRequest) -> Result<OutboundResponse, OutboundError> {
        let name = request.name.clone();
        self.seen.lock().unwrap().push(request);
        let mut responses = self.responses.lock().unwrap();
        let queue = responses
            .get_mut(&name)
            .ok_or_else(|| OutboundError::Connect(format!("the test recorded no response for `{name}`")))?;
        match queue.len() {
            0 => Err(OutboundError::Connect(format!(
                "the test recorded no response for `{name}`"
            ))),
            1 => Ok(queue[0].clone()),
            _ => Ok(queue.remove(0)),
        }
    }
}
