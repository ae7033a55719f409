use clap::Parser;
use std::process::ExitCode;

// Messages are many small trees (JSON values, script maps, strings): the
// system allocator was a quarter of the CPU profile under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    medbus::cli::main(medbus::cli::Cli::parse())
}
