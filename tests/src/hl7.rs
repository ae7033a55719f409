//! HL7 v2 senders for black-box tests: python-hl7's `mllp_send` (nobody here
//! wrote it; installed by .ci/run from tests/hl7/requirements.txt).

use std::path::Path;
use std::process::Command;

/// Sends the messages in `bytes` (each starting with MSH; LF line ends are
/// fine) to 127.0.0.1:`port` with `mllp_send --loose`, one connection, each
/// after the ACK of the one before. Returns its output, the ACKs, with CR as LF.
pub fn mllp_send(port: u16, bytes: &[u8], dir: &Path) -> String {
    let file = dir.join(format!("mllp-send-{}.hl7", crate::free_port()));
    std::fs::write(&file, bytes).unwrap();
    let output = Command::new("mllp_send")
        .args(["--loose", "-p", &port.to_string(), "-f"])
        .arg(&file)
        .arg("127.0.0.1")
        .output()
        .expect(
            "mllp_send (python-hl7) is needed; install it with \
             `python3 -m pip install -r tests/hl7/requirements.txt` (.ci/run does)",
        );
    assert!(
        output.status.success(),
        "mllp_send failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).replace('\r', "\n")
}
