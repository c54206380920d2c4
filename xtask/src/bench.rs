//! `cargo xtask bench [--native | --browser] [--only W1,W5] [--contenders nnlab-webgpu,tfjs-webgpu] [--profile]`:
//! the reference workloads natively (CPU and wgpu, target/bench/native.json)
//! and in headless Chromium against TensorFlow.js (nnlab on WebGPU and wasm,
//! TF.js on WebGPU, wasm and plain JS, target/bench/browser.json).
//! `cargo xtask bench --views`: instead, what the lab page's inspection views
//! cost the training (steps/s with every view open against every view
//! folded, target/bench/views.json).
//! `cargo xtask bench --pfn`: instead, the PFN view's load time and the time
//! of one prediction on the CPU (target/bench/pfn.json).

use std::path::Path;
use std::process::Command;

use crate::{Result, exec, root, serve, setup, site};

/// The files TF.js needs on the page: its bundles and the wasm backend's binaries.
const TFJS_FILES: [&str; 6] = [
    "tfjs/dist/tf.min.js",
    "tfjs-backend-wasm/dist/tf-backend-wasm.min.js",
    "tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm",
    "tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm",
    "tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm",
    "tfjs-backend-webgpu/dist/tf-backend-webgpu.min.js",
];

pub fn run(args: &[String]) -> Result {
    let native_only = args.iter().any(|a| a == "--native");
    let browser_only = args.iter().any(|a| a == "--browser");
    // What `nnlab bench` takes: all but the flags that only concern the browser run.
    let mut rest: Vec<&String> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--native" | "--browser" | "--profile" | "--views" | "--pfn" => {}
            "--contenders" => {
                it.next();
            }
            _ => rest.push(a),
        }
    }
    setup::run(setup::Scope::Everything)?;
    if args.iter().any(|a| a == "--views") {
        return page_bench("bench/views.mjs", "VIEWS", "views.json");
    }
    if args.iter().any(|a| a == "--pfn") {
        return page_bench("bench/pfn.mjs", "PFN", "pfn.json");
    }
    if !browser_only {
        let mut cmd = Command::new("cargo");
        cmd.args(["run", "--release", "-p", "nnlab-cli", "--", "bench", "--json", "target/bench/native.json"]).args(&rest);
        exec(&mut cmd)?;
    }
    if !native_only {
        browser(&args.iter().collect::<Vec<_>>())?;
    }
    Ok(())
}

/// Builds and serves the site, then runs a page benchmark `script` with
/// `{PREFIX}_URL` set to the site and `{PREFIX}_JSON` to target/bench/`json`.
fn page_bench(script: &str, prefix: &str, json: &str) -> Result {
    site::build()?;
    let url = serve::in_background(root().join("www-dist"), serve::Isolation::On)?;
    let mut cmd = Command::new("node");
    cmd.arg(script).env(format!("{prefix}_URL"), &url).env(format!("{prefix}_JSON"), root().join("target/bench").join(json));
    exec(&mut cmd)
}

fn browser(args: &[&String]) -> Result {
    setup::bench_packages()?;
    site::build()?;
    // The page: bench/page, nnlab's wasm package and TF.js's bundles.
    let dir = root().join("target/bench/site");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| format!("clearing {}: {e}", dir.display()))?;
    }
    site::copy_dir(&root().join("bench/page"), &dir)?;
    site::copy_dir(&root().join("www-dist/pkg"), &dir.join("pkg"))?;
    site::copy_dir(&root().join("www-dist/pkg-threads"), &dir.join("pkg-threads"))?;
    std::fs::copy(root().join("www/shared/wasm.js"), dir.join("wasm.js")).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(dir.join("tfjs")).map_err(|e| e.to_string())?;
    for file in TFJS_FILES {
        let from = root().join("bench/node_modules/@tensorflow").join(file);
        let name = Path::new(file).file_name().expect("a file name");
        std::fs::copy(&from, dir.join("tfjs").join(name)).map_err(|e| format!("copying {}: {e}", from.display()))?;
    }
    // Threaded contenders run on the isolated server, the others on both.
    let url = serve::in_background(dir.clone(), serve::Isolation::On)?;
    let plain = serve::in_background(dir, serve::Isolation::Off)?;
    let mut cmd = Command::new("node");
    cmd.env("BENCH_PLAIN_URL", &plain);
    if args.iter().any(|a| *a == "--profile") {
        cmd.env("BENCH_PROFILE", "1");
    }
    cmd.arg("bench/run.mjs").env("BENCH_URL", &url).env("BENCH_JSON", root().join("target/bench/browser.json"));
    for (flag, var) in [("--only", "BENCH_ONLY"), ("--contenders", "BENCH_CONTENDERS")] {
        if let Some(pos) = args.iter().position(|a| *a == flag) {
            cmd.env(var, args.get(pos + 1).map(|s| s.as_str()).unwrap_or(""));
        }
    }
    exec(&mut cmd)
}
