//! `medbus passwd` and `medbus token`: credentials for the `admin` section
//! of the settings. The hash goes to standard output alone, hints to
//! standard error, so that scripts can take the output as it is.

use super::{password, prompt, token};
use std::process::ExitCode;

pub fn passwd() -> ExitCode {
    let password = match prompt::read_new_password() {
        Ok(password) => password,
        Err(e) => {
            eprintln!("medbus passwd: {e}");
            return ExitCode::FAILURE;
        }
    };
    if password.chars().count() < password::MIN_LEN {
        eprintln!(
            "medbus passwd: the password is shorter than {} characters; expected a longer one",
            password::MIN_LEN
        );
        return ExitCode::FAILURE;
    }
    match password::hash(&password) {
        Ok(phc) => {
            println!("{phc}");
            eprintln!("add it to medbus.yaml, quoted: admin: {{ users: [{{ name: <name>, role: viewer|operator|admin, password: '<the hash>' }}] }}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("medbus passwd: {e}");
            ExitCode::FAILURE
        }
    }
}

pub fn token() -> ExitCode {
    let token = token::generate();
    println!("token: {token}");
    println!("token_hash: {}", token::hash_hex(&token));
    eprintln!(
        "give the token to the program that calls the admin API (`Authorization: Bearer <token>`): it is shown only now. \
         Add its hash to medbus.yaml: admin: {{ tokens: [{{ name: <name>, role: viewer|operator|admin, token_hash: <token_hash> }}] }}"
    );
    ExitCode::SUCCESS
}
