//! Installs what the build and the tests need, skipping what is already there
//! at the right version, so a second run takes seconds. Versions are pinned
//! where a mismatch breaks the build (see the README's toolchain notes).

use std::path::Path;
use std::process::Command;

use crate::{Result, exec, output, root};

pub const WASM_BINDGEN: &str = "0.2.130";
pub const WASM_PACK: &str = "0.15.1";

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// What building and serving the site needs.
    Site,
    /// Plus browsers (Chromium, Firefox ESR), drivers and software Vulkan for the tests.
    Everything,
}

pub fn run(scope: Scope) -> Result {
    if scope == Scope::Everything {
        system_packages()?;
        lint_tools()?;
    }
    wasm_target()?;
    std_source()?;
    wasm_bindgen_cli()?;
    wasm_pack()?;
    npm_packages(&root(), ".bin/wasm-opt")
}

/// TF.js for the browser benchmark: kept out of the root packages so tests
/// and the site do not download it.
pub fn bench_packages() -> Result {
    npm_packages(&root().join("bench"), "@tensorflow/tfjs/dist/tf.min.js")
}

fn system_packages() -> Result {
    let wanted = [
        ("chromium", "/usr/bin/chromium"),
        ("chromium-driver", "/usr/bin/chromedriver"),
        ("mesa-vulkan-drivers", "/usr/share/vulkan/icd.d/lvp_icd.x86_64.json"),
        // The browser without WebGPU: the page's CPU fall-back in a second engine.
        ("firefox-esr", "/usr/bin/firefox-esr"),
    ];
    let missing: Vec<&str> = wanted.iter().filter(|(_, file)| !Path::new(file).exists()).map(|(pkg, _)| *pkg).collect();
    if missing.is_empty() {
        return Ok(());
    }
    if output("id", &["-u"]).map(|s| s.trim() != "0").unwrap_or(true) {
        return Err(format!("missing system packages {missing:?}: run as root or `apt-get install -y {}`", missing.join(" ")));
    }
    exec(Command::new("apt-get").arg("update").arg("-qq"))?;
    exec(Command::new("apt-get").args(["install", "-y", "-qq", "--no-install-recommends"]).args(&missing).env("DEBIAN_FRONTEND", "noninteractive"))
}

/// rustfmt and clippy, which the test command runs before the tests.
fn lint_tools() -> Result {
    let present = |tool: &str| output("cargo", &[tool, "--version"]).is_some();
    if present("fmt") && present("clippy") {
        return Ok(());
    }
    exec(Command::new("rustup").args(["component", "add", "rustfmt", "clippy"]))
}

fn wasm_target() -> Result {
    let installed = output("rustup", &["target", "list", "--installed"]).unwrap_or_default();
    if installed.lines().any(|l| l.trim() == "wasm32-unknown-unknown") {
        return Ok(());
    }
    exec(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))
}

/// The standard library's source: the threaded wasm build compiles std with
/// atomics (`-Z build-std`), which the shipped wasm32 std lacks.
fn std_source() -> Result {
    let sysroot = output("rustc", &["--print", "sysroot"]).unwrap_or_default();
    if Path::new(sysroot.trim()).join("lib/rustlib/src/rust/library/std").exists() {
        return Ok(());
    }
    exec(Command::new("rustup").args(["component", "add", "rust-src"]))
}

fn wasm_bindgen_cli() -> Result {
    let version = output("wasm-bindgen", &["--version"]).unwrap_or_default();
    let runner = output("wasm-bindgen-test-runner", &["--version"]).is_some();
    if version.contains(WASM_BINDGEN) && runner {
        return Ok(());
    }
    // `--locked` fails against the registry mirror (one locked dependency is missing).
    exec(Command::new("cargo").args(["install", "wasm-bindgen-cli", "--version", WASM_BINDGEN, "--force"]))
}

/// wasm-pack builds the site's module and the npm package.
fn wasm_pack() -> Result {
    if output("wasm-pack", &["--version"]).unwrap_or_default().contains(WASM_PACK) {
        return Ok(());
    }
    exec(Command::new("cargo").args(["install", "wasm-pack", "--version", WASM_PACK, "--locked", "--force"]))
}

/// `npm ci` in `dir` unless its node_modules is newer than the lock file and
/// holds `probe`.
fn npm_packages(dir: &Path, probe: &str) -> Result {
    let lock = dir.join("package-lock.json");
    let marker = dir.join("node_modules/.package-lock.json");
    let fresh = match (std::fs::metadata(&lock), std::fs::metadata(&marker)) {
        (Ok(l), Ok(m)) => m.modified().ok() >= l.modified().ok(),
        _ => false,
    };
    if fresh && dir.join("node_modules").join(probe).exists() {
        return Ok(());
    }
    let cmd = if lock.exists() { "ci" } else { "install" };
    exec(Command::new("npm").args([cmd, "--no-audit", "--no-fund", "--prefix"]).arg(dir))
}
