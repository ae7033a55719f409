//! Reading a new password for `medbus passwd`: twice and without echo on a
//! terminal; one line from a pipe, for scripts.

use std::io::{BufRead, IsTerminal};

pub fn read_new_password() -> Result<String, String> {
    if std::io::stdin().is_terminal() {
        let first = read_hidden("New password: ")?;
        let again = read_hidden("The same again: ")?;
        if first != again {
            return Err("the two passwords differ".into());
        }
        Ok(first)
    } else {
        read_line()
    }
}

fn read_line() -> Result<String, String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    let end = line.trim_end_matches(['\n', '\r']).len();
    line.truncate(end);
    Ok(line)
}

#[cfg(unix)]
fn read_hidden(prompt: &str) -> Result<String, String> {
    use rustix::termios::{tcgetattr, tcsetattr, LocalModes, OptionalActions};
    let stdin = std::io::stdin();
    let shown = tcgetattr(&stdin).map_err(|e| format!("cannot read the terminal's settings: {e}"))?;
    let mut hidden = shown.clone();
    hidden.local_modes.remove(LocalModes::ECHO);
    // The newline the user types is still echoed, so the next prompt starts on its own line.
    hidden.local_modes.insert(LocalModes::ECHONL);
    eprint!("{prompt}");
    tcsetattr(&stdin, OptionalActions::Now, &hidden).map_err(|e| format!("cannot hide the typing: {e}"))?;
    let read = read_line();
    let restored = tcsetattr(&stdin, OptionalActions::Now, &shown);
    let line = read?;
    restored.map_err(|e| format!("cannot restore the terminal's echo (run `stty echo`): {e}"))?;
    Ok(line)
}

#[cfg(not(unix))]
fn read_hidden(prompt: &str) -> Result<String, String> {
    eprint!("{prompt}(shown as typed) ");
    read_line()
}
