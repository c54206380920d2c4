//! `nnlab bench [--backend cpu|wgpu|all] [--only W1,W5] [--json PATH] [--profile] [--large]`: runs the
//! reference workloads (../shared/bench/workloads.json, implemented in
//! the nnlab-bench crate) with the shared timing protocol and prints a table.

mod bench;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("bench") => match bench::run(&args[1..]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("nnlab bench: {e}");
                ExitCode::FAILURE
            }
        },
        _ => {
            eprintln!("usage: nnlab bench [--backend cpu|wgpu|all] [--only W1,W2,...] [--json PATH] [--profile] [--large]");
            ExitCode::FAILURE
        }
    }
}
