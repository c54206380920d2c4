//! Builds the lab page into www-dist/: the wasm API (release; simd128, a
//! second module with relaxed SIMD, and a threaded package in pkg-threads/)
//! through wasm-pack (with its TypeScript declarations) and wasm-opt into
//! pkg/, a copy of the static files in www/, the UI and chart libraries from npm
//! (node_modules) into vendor/, the presets and the spec schema into models/,
//! the nnlab npm package into npm/nnlab/, the example tutorial into
//! examples/, and a gzip copy of every text and wasm file for the server.

use std::io::Write;
use std::path::Path;
use std::process::Command;

use crate::{Result, Running, exec, root, spawn};

/// npm files the page imports (see the import map in www/index.html).
const VENDOR: [(&str, &str); 9] = [
    ("preact/dist/preact.mjs", "preact.mjs"),
    ("preact/hooks/dist/hooks.mjs", "hooks.mjs"),
    ("@preact/signals-core/dist/signals-core.mjs", "signals-core.mjs"),
    ("@preact/signals/dist/signals.mjs", "signals.mjs"),
    ("htm/dist/htm.mjs", "htm.mjs"),
    ("uplot/dist/uPlot.esm.js", "uPlot.esm.js"),
    ("uplot/dist/uPlot.min.css", "uPlot.min.css"),
    ("idb/build/index.js", "idb.js"),
    ("fflate/esm/browser.js", "fflate.js"),
];

pub fn build() -> Result {
    // Run as Trunk's post-build hook (Trunk.toml), the site goes into Trunk's
    // staging folder, which Trunk then moves to www-dist/ itself.
    let staging = std::env::var_os("TRUNK_STAGING_DIR").map(std::path::PathBuf::from);
    let dist = staging.clone().unwrap_or_else(|| root().join("www-dist"));
    // The module twice: for every browser with simd128, and with relaxed SIMD
    // (fused multiply-add in the CPU backend's GEMM), which the worker loads
    // where the browser validates it (www/shared/wasm.js). Same source, same
    // bindings: one JS glue serves both.
    // Each module's wasm-opt (one core, a minute or two) runs while the next
    // module compiles.
    let built = root().join("target/wasm-pack");
    let plain_opt = wasm_pack(&built, &Variant::PLAIN)?;
    let relaxed = root().join("target/wasm-pack-relaxed");
    let relaxed_opt = wasm_pack(&relaxed, &Variant::RELAXED)?;
    // The threaded build has bindings of its own (shared memory, the worker
    // pool's start-up script), so it is a package of its own: pkg-threads/.
    let threads = root().join("target/wasm-pack-threads");
    let threads_opt = wasm_pack(&threads, &Variant::THREADS)?;
    for optimising in [plain_opt, relaxed_opt, threads_opt] {
        optimising.wait()?;
    }
    let glue = |dir: &Path| std::fs::read(dir.join("nnlab_web.js")).map_err(|e| e.to_string());
    if glue(&built)? != glue(&relaxed)? {
        return Err("the relaxed-SIMD build's JS bindings differ from the plain build's".into());
    }
    std::fs::copy(relaxed.join("nnlab_web_bg.wasm"), built.join("nnlab_web_relaxed_bg.wasm")).map_err(|e| e.to_string())?;
    if staging.is_none() && dist.exists() {
        std::fs::remove_dir_all(&dist).map_err(|e| format!("clearing {}: {e}", dist.display()))?;
    }
    copy_dir(&built, &dist.join("pkg"))?;
    copy_dir(&threads, &dist.join("pkg-threads"))?;
    copy_dir(&root().join("www"), &dist)?;
    copy_assets(&dist)?;
    // The npm package (www/npm/nnlab: package.json, index.js, embed.js,
    // types) gets the client, the worker and the module beside it.
    let package = dist.join("npm/nnlab");
    copy_dir(&built, &package.join("pkg"))?;
    copy_dir(&threads, &package.join("pkg-threads"))?;
    for part in ["shared", "worker"] {
        copy_dir(&root().join("www").join(part), &package.join(part))?;
    }
    std::fs::copy(root().join("www/client.js"), package.join("client.js")).map_err(|e| e.to_string())?;
    copy_dir(&root().join("examples"), &dist.join("examples"))?;
    compress_dir(&dist)?;
    println!("site built in {}", dist.display());
    Ok(())
}

/// One build of the wasm module: its own target folder (so the builds do
/// not invalidate each other's caches), its code-generation flags, and what
/// else cargo is told.
struct Variant {
    target: &'static str,
    rustflags: &'static str,
    cargo: &'static [&'static str],
    bootstrap: bool,
}

/// The relaxed-SIMD module's flags (the browser tests build with them too).
pub const RELAXED_RUSTFLAGS: &str = "-C target-feature=+simd128,+relaxed-simd";

/// The threaded module's flags, and its tests': relaxed SIMD, atomics and
/// shared memory (imported, so the pool's workers share it; it must declare
/// its maximum: 4 GiB, as much as a single-threaded module may grow to; the
/// thread-local storage symbols exported for wasm-bindgen's thread
/// start-up). std itself is rebuilt with atomics (`-Z build-std`, which
/// RUSTC_BOOTSTRAP lets the stable toolchain take).
pub const THREADS_RUSTFLAGS: &str = "-C target-feature=+simd128,+relaxed-simd,+atomics,+bulk-memory,+mutable-globals \
    -C link-arg=--shared-memory -C link-arg=--max-memory=4294967296 -C link-arg=--import-memory \
    -C link-arg=--export=__wasm_init_tls -C link-arg=--export=__tls_size -C link-arg=--export=__tls_align -C link-arg=--export=__tls_base";
pub const BUILD_STD: &str = "build-std=panic_abort,std";

impl Variant {
    /// simd128: every browser with WebAssembly SIMD (the .cargo/config flags).
    const PLAIN: Variant = Variant { target: "target", rustflags: "", cargo: &[], bootstrap: false };
    /// Relaxed SIMD's fused multiply-add in the GEMM.
    const RELAXED: Variant = Variant { target: "target/wasm-relaxed", rustflags: RELAXED_RUSTFLAGS, cargo: &[], bootstrap: false };
    /// The thread pool's build (see THREADS_RUSTFLAGS).
    const THREADS: Variant =
        Variant { target: "target/wasm-threads", rustflags: THREADS_RUSTFLAGS, cargo: &["--features", "threads", "-Z", BUILD_STD], bootstrap: true };
}

/// wasm-pack builds the module and its bindings into `out` (with the
/// wasm-bindgen on PATH, never downloading one); wasm-opt 132 from npm
/// optimises it in place, started here and left running.
fn wasm_pack(out: &Path, variant: &Variant) -> Result<Running> {
    let mut cmd = Command::new("wasm-pack");
    cmd.args(["build", "crates/web", "--target", "web", "--release", "--mode", "no-install", "--no-opt", "--no-pack", "--out-name", "nnlab_web", "--out-dir"])
        .arg(out)
        .env("CARGO_TARGET_DIR", root().join(variant.target));
    if !variant.rustflags.is_empty() {
        cmd.env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS", variant.rustflags);
    }
    if !variant.cargo.is_empty() {
        cmd.arg("--").args(variant.cargo);
    }
    if variant.bootstrap {
        cmd.env("RUSTC_BOOTSTRAP", "1");
    }
    exec(&mut cmd)?;
    // Its .gitignore would keep the module out of a published package.
    let _ = std::fs::remove_file(out.join(".gitignore"));
    let bg = out.join("nnlab_web_bg.wasm");
    spawn(
        Command::new("wasm-opt")
            .args([
                "-O3",
                "--enable-simd",
                "--enable-relaxed-simd",
                "--enable-threads",
                "--enable-bulk-memory",
                "--enable-nontrapping-float-to-int",
                "--enable-sign-ext",
                "--enable-mutable-globals",
                "--enable-reference-types",
                "--enable-multivalue",
            ])
            .arg(&bg)
            .arg("-o")
            .arg(&bg),
    )
    .map(|running| running.named(format!("wasm-opt {}", bg.display())))
}

/// The npm libraries and the model presets, beside the page's own files.
pub fn copy_assets(dist: &Path) -> Result {
    let vendor = dist.join("vendor");
    std::fs::create_dir_all(&vendor).map_err(|e| e.to_string())?;
    for (from, to) in VENDOR {
        let src = root().join("node_modules").join(from);
        std::fs::copy(&src, vendor.join(to)).map_err(|e| format!("copying {} (is `npm ci` done?): {e}", src.display()))?;
    }
    let models = dist.join("models");
    std::fs::create_dir_all(&models).map_err(|e| e.to_string())?;
    for entry in std::fs::read_dir(root().join("models")).map_err(|e| e.to_string())? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.extension().is_some_and(|e| e == "json" || e == "safetensors") {
            std::fs::copy(&path, models.join(path.file_name().expect("a file"))).map_err(|e| e.to_string())?;
        }
    }
    copy_dir(&root().join("models/tables"), &models.join("tables"))?;
    copy_dir(&root().join("models/experiments"), &models.join("experiments"))?;
    // The gallery's list of cards, so the page needs no directory listing.
    let mut cards: Vec<String> = std::fs::read_dir(root().join("models/experiments"))
        .map_err(|e| e.to_string())?
        .filter_map(|e| {
            let path = e.ok()?.path();
            (path.extension()? == "json").then(|| path.file_stem().map(|s| s.to_string_lossy().into_owned()))?
        })
        .collect();
    cards.sort();
    let names: Vec<String> = cards.iter().map(|c| format!("\"{c}\"")).collect();
    std::fs::write(models.join("experiments/index.json"), format!("{{\"cards\":[{}]}}\n", names.join(","))).map_err(|e| e.to_string())?;
    Ok(())
}

/// Writes `name.gz` beside every file worth compressing.
fn compress_dir(dir: &Path) -> Result {
    for entry in std::fs::read_dir(dir).map_err(|e| e.to_string())? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            compress_dir(&path)?;
        } else if path.extension().is_some_and(|e| ["wasm", "js", "mjs", "css", "html", "json", "ts"].iter().any(|x| e == *x)) {
            let bytes = std::fs::read(&path).map_err(|e| e.to_string())?;
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            gz.write_all(&bytes).map_err(|e| e.to_string())?;
            let mut out = path.clone().into_os_string();
            out.push(".gz");
            std::fs::write(out, gz.finish().map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

pub fn copy_dir(from: &Path, to: &Path) -> Result {
    std::fs::create_dir_all(to).map_err(|e| e.to_string())?;
    for entry in std::fs::read_dir(from).map_err(|e| format!("reading {}: {e}", from.display()))? {
        let entry = entry.map_err(|e| e.to_string())?;
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target).map_err(|e| format!("copying {}: {e}", entry.path().display()))?;
        }
    }
    Ok(())
}
