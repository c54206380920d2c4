//! `nnlab bench [--backend cpu|wgpu|all] [--only W1,W5] [--json PATH] [--profile] [--large]`: runs the
//! reference workloads (../shared/bench/workloads.json, implemented in
//! the nnlab-bench crate) with the shared timing protocol and prints a table.
//! `nnlab inspect SESSION_FILE [REQUEST_JSON]`: the inspection views' numbers
//! for a saved session, computed natively on the CPU (see inspect.rs).
//! `nnlab pfn train|predict|eval|classify`: prior-data fitted networks (see pfn.rs).
//! `nnlab experiment run CARD.json`: an experiment card's runs and checks (see experiment.rs).

mod args;
mod bench;
mod experiment;
mod inspect;
mod pfn;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (name, result) = match args.first().map(String::as_str) {
        Some("bench") => ("bench", bench::run(&args[1..])),
        Some("inspect") => ("inspect", inspect::run(&args[1..])),
        Some("pfn") => ("pfn", pfn::run(&args[1..])),
        Some("experiment") => ("experiment", experiment::run(&args[1..])),
        _ => {
            eprintln!("usage: nnlab bench [--backend cpu|wgpu|all] [--only W1,W2,...] [--json PATH] [--profile] [--large]");
            eprintln!("       nnlab inspect SESSION_FILE [REQUEST_JSON]");
            eprintln!("       nnlab pfn train|predict|eval|classify ... (nnlab pfn for details)");
            eprintln!("       nnlab experiment run CARD.json... [--backend cpu|wgpu] [--json OUT.json]");
            return ExitCode::FAILURE;
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nnlab {name}: {e}");
            ExitCode::FAILURE
        }
    }
}
