use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    medbus::cli::main(medbus::cli::Cli::parse())
}
