//! Load for MLLP listeners: N connections, each sending one HL7 v2 message,
//! waiting for its ACK and checking it before sending the next, as MLLP
//! senders do. Every message gets its own MSH-10 (`B<pid>-<connection>-<n>`);
//! an ACK must carry an accepted MSA-1 (AA or CA) and that id in MSA-2.
//! Prints one line of figures (`messages=.. msg_per_s=.. p99_ms=..`) and one
//! for people; exits 1 if any message failed or none was acknowledged.
//!
//!   mllp-load --addr 127.0.0.1:2575 --connections 8 --seconds 10 \
//!     --message bench/fixtures/adt-a01.hl7 [--warmup 1]

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use medbus_bench::mllp::frame::{FrameReader, END, START};
use medbus_bench::mllp::hl7;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const FAILURES_SHOWN: usize = 5;

#[derive(Parser)]
struct Args {
    /// The MLLP listener.
    #[arg(long, default_value = "127.0.0.1:2575")]
    addr: String,
    #[arg(long, default_value_t = 1)]
    connections: usize,
    /// How long to measure, after the warm-up.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Seconds of sending before measuring starts.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// The HL7 v2 message to send; LF or CRLF line ends are sent as CR.
    #[arg(long)]
    message: PathBuf,
    /// Stop each connection after this many measured messages.
    #[arg(long)]
    messages: Option<u64>,
    /// The MSA-1 codes that count as acknowledged.
    #[arg(long, value_delimiter = ',', default_value = "AA,CA")]
    accept: Vec<String>,
    /// How long to wait for an ACK before giving up on the connection.
    #[arg(long, default_value_t = 5000)]
    timeout_ms: u64,
    /// How many patients the messages are spread over: PID-3's first id becomes
    /// `BP<n>` for n cycling below this (a receiver that keeps one patient's
    /// messages in order then has that many lanes). 0 keeps the file's id.
    #[arg(long, default_value_t = 1000)]
    patients: u64,
}

/// The message split around its MSH-10 and its patient id (PID-3.1), ready to
/// frame with any control id and patient.
struct Template {
    head: Vec<u8>,
    middle: Vec<u8>,
    tail: Vec<u8>,
    /// The file's own patient id, when messages keep it.
    patient: Vec<u8>,
}

impl Template {
    fn load(path: &Path) -> Result<Template, String> {
        let text = std::fs::read(path).map_err(|err| format!("{}: {err}", path.display()))?;
        let message = hl7::normalise_segments(&text);
        let id = hl7::field_range(&message, b"MSH", 10)
            .ok_or_else(|| format!("{}: no MSH segment with an MSH-10 field", path.display()))?;
        let patient = hl7::field_range(&message, b"PID", 3)
            .map(|field| {
                let end = message[field.clone()]
                    .iter()
                    .position(|&b| b == b'^' || b == b'~')
                    .map_or(field.end, |i| field.start + i);
                field.start..end
            })
            .unwrap_or(message.len()..message.len());
        Ok(Template {
            head: message[..id.start].to_vec(),
            middle: message[id.end..patient.start].to_vec(),
            tail: message[patient.end..].to_vec(),
            patient: message[patient].to_vec(),
        })
    }

    fn frame(&self, control_id: &str, patient: Option<u64>, out: &mut Vec<u8>) {
        out.clear();
        out.push(START);
        out.extend_from_slice(&self.head);
        out.extend_from_slice(control_id.as_bytes());
        out.extend_from_slice(&self.middle);
        match patient {
            Some(n) if !self.patient.is_empty() => out.extend_from_slice(format!("BP{n}").as_bytes()),
            _ => out.extend_from_slice(&self.patient),
        }
        out.extend_from_slice(&self.tail);
        out.extend_from_slice(&END);
    }
}

struct Plan {
    template: Template,
    patients: u64,
    measure_from: Instant,
    until: Instant,
    limit: Option<u64>,
    accept: Vec<Vec<u8>>,
    timeout: Duration,
    failures_shown: AtomicUsize,
}

#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    errors: u64,
    mismatches: u64,
    finished: Option<Instant>,
}

enum Reply {
    Accepted,
    WrongControlId,
    Rejected,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let template = Template::load(&args.message).unwrap_or_else(|err| fail(&err));
    let streams = connect_all(&args.addr, args.connections)
        .await
        .unwrap_or_else(|err| fail(&format!("cannot connect to {}: {err}", args.addr)));
    let started = Instant::now();
    let measure_from = started + Duration::from_secs_f64(args.warmup);
    let plan = Arc::new(Plan {
        template,
        patients: args.patients,
        measure_from,
        until: measure_from + Duration::from_secs_f64(args.seconds),
        limit: args.messages,
        accept: args.accept.iter().map(|code| code.as_bytes().to_vec()).collect(),
        timeout: Duration::from_millis(args.timeout_ms),
        failures_shown: AtomicUsize::new(0),
    });
    let tasks: Vec<_> = streams
        .into_iter()
        .enumerate()
        .map(|(connection, stream)| tokio::spawn(send_messages(connection, stream, plan.clone())))
        .collect();
    let mut total = Tally::default();
    for task in tasks {
        let tally = task.await.expect("a connection's task");
        total.latencies.extend(tally.latencies);
        total.errors += tally.errors;
        total.mismatches += tally.mismatches;
        total.finished = total.finished.max(tally.finished);
    }
    let elapsed = total
        .finished
        .map_or(Duration::ZERO, |end| end.saturating_duration_since(measure_from));
    report(&args, &mut total, elapsed);
    if total.errors + total.mismatches > 0 || total.latencies.is_empty() {
        std::process::exit(1);
    }
}

async fn connect_all(addr: &str, connections: usize) -> io::Result<Vec<TcpStream>> {
    let mut streams = Vec::with_capacity(connections);
    for _ in 0..connections {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        streams.push(stream);
    }
    Ok(streams)
}

async fn send_messages(connection: usize, mut stream: TcpStream, plan: Arc<Plan>) -> Tally {
    let (read, mut write) = stream.split();
    let mut reader = FrameReader::new(read);
    let mut tally = Tally::default();
    let mut frame = Vec::new();
    let mut measured = 0;
    for seq in 1.. {
        let sent_at = Instant::now();
        if sent_at >= plan.until || plan.limit.is_some_and(|limit| measured >= limit) {
            break;
        }
        let control_id = format!("B{}-{connection}-{seq}", std::process::id());
        let patient = (plan.patients > 0).then(|| (seq * 7919 + connection as u64) % plan.patients);
        plan.template.frame(&control_id, patient, &mut frame);
        let reply = match write.write_all(&frame).await {
            Ok(()) => tokio::time::timeout(plan.timeout, reader.next_frame()).await,
            Err(err) => Ok(Err(err)),
        };
        let took = sent_at.elapsed();
        let ack = match reply {
            Ok(Ok(Some(ack))) => ack,
            broken => {
                tally.errors += 1;
                plan.show_failure(connection, &control_id, &connection_failure(broken));
                break;
            }
        };
        match judge(ack, &control_id, &plan.accept) {
            Reply::Accepted if sent_at >= plan.measure_from => {
                tally.latencies.push(took);
                measured += 1;
            }
            Reply::Accepted => {}
            Reply::WrongControlId => {
                tally.mismatches += 1;
                plan.show_failure(
                    connection,
                    &control_id,
                    &format!("ACK for another control id:{}", printable(ack)),
                );
            }
            Reply::Rejected => {
                tally.errors += 1;
                plan.show_failure(connection, &control_id, &format!("ACK not accepted:{}", printable(ack)));
            }
        }
    }
    tally.finished = Some(Instant::now());
    tally
}

fn connection_failure<T>(broken: Result<io::Result<Option<T>>, tokio::time::error::Elapsed>) -> String {
    match broken {
        Err(_) => "no ACK before the timeout; connection abandoned".into(),
        Ok(Err(err)) => format!("connection failed: {err}"),
        Ok(Ok(_)) => "connection closed by the listener".into(),
    }
}

fn judge(ack: &[u8], control_id: &str, accept: &[Vec<u8>]) -> Reply {
    let code = hl7::field(ack, b"MSA", 1).unwrap_or_default();
    if !accept.iter().any(|accepted| accepted == code) {
        Reply::Rejected
    } else if hl7::field(ack, b"MSA", 2) != Some(control_id.as_bytes()) {
        Reply::WrongControlId
    } else {
        Reply::Accepted
    }
}

impl Plan {
    fn show_failure(&self, connection: usize, control_id: &str, what: &str) {
        if self.failures_shown.fetch_add(1, Ordering::Relaxed) < FAILURES_SHOWN {
            eprintln!("mllp-load: connection {connection}, message {control_id}: {what}");
        }
    }
}

fn printable(ack: &[u8]) -> String {
    let text = String::from_utf8_lossy(ack);
    text.split('\r')
        .filter(|segment| !segment.is_empty())
        .map(|segment| format!("\n    {segment}"))
        .collect()
}

fn report(args: &Args, total: &mut Tally, elapsed: Duration) {
    total.latencies.sort_unstable();
    let messages = total.latencies.len();
    let rate = if elapsed.is_zero() {
        0.0
    } else {
        messages as f64 / elapsed.as_secs_f64()
    };
    let p50 = millis(percentile(&total.latencies, 0.50));
    let p99 = millis(percentile(&total.latencies, 0.99));
    let max = millis(total.latencies.last().copied().unwrap_or_default());
    let figures = format!(
        "connections={} seconds={:.2} messages={messages} errors={} mismatches={} msg_per_s={rate:.1} p50_ms={p50:.3} p99_ms={p99:.3} max_ms={max:.3}",
        args.connections,
        elapsed.as_secs_f64(),
        total.errors,
        total.mismatches
    );
    let summary = format!(
        "{} connection(s) to {} for {:.1} s: {rate:.0} msg/s; send to ACK p50 {p50:.3} ms, p99 {p99:.3} ms, max {max:.3} ms; {} errors, {} control-id mismatches",
        args.connections,
        args.addr,
        elapsed.as_secs_f64(),
        total.errors,
        total.mismatches
    );
    let _ = std::io::stdout().write_all(format!("{figures}\n{summary}\n").as_bytes());
}

fn percentile(sorted: &[Duration], share: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (share * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn fail(message: &str) -> ! {
    eprintln!("mllp-load: {message}");
    std::process::exit(1);
}
