//! `cargo xtask <command>`: the project's entry points.
//!
//!   setup        install every tool the build and tests need (idempotent)
//!   build-site   build the playground into www-dist/
//!   serve        setup (site tools only), build the site and serve it on 127.0.0.1
//!   test         setup, then every test: native, browser (wasm) and end-to-end
//!   bench        the reference workloads natively (CPU, wgpu) and in headless
//!                Chromium against TensorFlow.js

mod bench;
mod serve;
mod setup;
mod site;
mod test;

use std::path::PathBuf;
use std::process::{Command, ExitCode};

pub type Result<T = ()> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.first().map(String::as_str) {
        Some("setup") => setup::run(setup::Scope::Everything),
        Some("build-site") => setup::run(setup::Scope::Site).and_then(|_| site::build()),
        Some("serve") => serve::command(&args[1..]),
        Some("test") => test::run(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        _ => {
            Err("usage: cargo xtask <setup | build-site | serve [--port N] | test [--skip-browser] | bench [--native | --browser | --views] [--only W1,W5]>"
                .into())
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (xtask lives one level below it).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask is inside the workspace").to_path_buf()
}

/// Runs a command in the workspace root with PATH preferring project tools,
/// failing with a message naming it.
pub fn exec(cmd: &mut Command) -> Result {
    spawn(cmd)?.wait()
}

/// A command started by `spawn`, running while the caller goes on.
pub struct Running {
    child: std::process::Child,
    shown: String,
    start: std::time::Instant,
    /// What the timing line names, for a command others ran beside.
    label: Option<String>,
}

/// Starts a command as `exec` runs it, without waiting for it.
pub fn spawn(cmd: &mut Command) -> Result<Running> {
    let shown = format!("{cmd:?}");
    println!("$ {shown}");
    let start = std::time::Instant::now();
    let child = cmd.current_dir(root()).env("PATH", tool_path()).spawn().map_err(|e| format!("could not start {shown}: {e}"))?;
    Ok(Running { child, shown, start, label: None })
}

impl Running {
    pub fn named(self, label: String) -> Running {
        Running { label: Some(label), ..self }
    }

    pub fn wait(mut self) -> Result {
        let status = self.child.wait().map_err(|e| format!("waiting for {}: {e}", self.shown))?;
        // Where a run's time goes, for keeping CI's within its limit.
        let seconds = self.start.elapsed().as_secs_f64();
        match &self.label {
            Some(label) => println!("({seconds:.0} s: {label})"),
            None => println!("({seconds:.0} s)"),
        }
        if status.success() { Ok(()) } else { Err(format!("{} failed with {status}", self.shown)) }
    }
}

/// Output of a command, or None when it cannot run.
pub fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).env("PATH", tool_path()).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

/// node_modules/.bin first (wasm-opt 132 must win over any system binaryen),
/// then cargo's bin folder, then the inherited PATH.
pub fn tool_path() -> String {
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let cargo_bin = std::env::var("CARGO_HOME").map(|h| format!("{h}/bin")).unwrap_or(format!("{home}/.cargo/bin"));
    format!("{}/node_modules/.bin:{cargo_bin}:{}", root().display(), std::env::var("PATH").unwrap_or_default())
}
