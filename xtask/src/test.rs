//! The formatter and the linter first, then every test, in order of cost:
//! native Rust tests (CPU, and wgpu on lavapipe; again with the thread pool),
//! the GPU parity suite inside headless Chromium (wasm-bindgen-test, WebGPU on
//! SwiftShader) on each of the three wasm builds, then the end-to-end tests
//! of the built page in headless Chromium (WebGPU and CPU) and Firefox ESR
//! (CPU).

use std::process::Command;

use crate::{Result, exec, root, serve, setup, site};

pub fn run(args: &[String]) -> Result {
    let skip_browser = args.iter().any(|a| a == "--skip-browser");
    setup::run(setup::Scope::Everything)?;
    let runtime_dir = std::env::temp_dir().join(format!("nnlab-xdg-{}", std::process::id()));
    std::fs::create_dir_all(&runtime_dir).map_err(|e| e.to_string())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&runtime_dir, std::fs::Permissions::from_mode(0o700)).map_err(|e| e.to_string())?;
    }
    let env = |cmd: &mut Command| {
        // Vulkan only: a missing lavapipe must fail, not fall back to GL silently.
        cmd.env("WGPU_BACKEND", "vulkan").env("XDG_RUNTIME_DIR", &runtime_dir);
    };

    // One style for every editor, and no lint left for the next change to trip on.
    exec(Command::new("cargo").args(["fmt", "--all", "--check"]))?;
    exec(Command::new("cargo").args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))?;

    let mut native = Command::new("cargo");
    native.args(["test", "--workspace", "--exclude", "xtask"]);
    env(&mut native);
    exec(&mut native)?;
    // The products split across a thread pool (the browser's threaded build
    // runs the same code on Web Workers): the core's tests, the gradient
    // checks and the parity suite again.
    let mut threads = Command::new("cargo");
    threads.args(["test", "-p", "nnlab-core", "-p", "nnlab-tests", "--features", "threads", "--lib", "--test", "gradcheck", "--test", "parity_native"]);
    env(&mut threads);
    exec(&mut threads)?;
    exec(Command::new("cargo").args(["clippy", "-p", "nnlab-core", "--features", "threads", "--all-targets", "--", "-D", "warnings"]))?;
    if skip_browser {
        return Ok(());
    }

    let browser = || {
        let mut cmd = Command::new("cargo");
        cmd.args([
            "test",
            "-p",
            "nnlab-tests",
            "--target",
            "wasm32-unknown-unknown",
            "--test",
            "parity_browser",
            "--test",
            "cpu_browser",
            "--test",
            "gradcheck",
        ]);
        env(&mut cmd);
        cmd.env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER", "wasm-bindgen-test-runner")
            .env("CHROMEDRIVER", "/usr/bin/chromedriver")
            .env("WASM_BINDGEN_TEST_WEBDRIVER_JSON", root().join("tests/webdriver.json"))
            .env("WASM_BINDGEN_TEST_TIMEOUT", "600");
        cmd
    };
    // The plain simd128 build (.cargo/config.toml), then the relaxed-SIMD one
    // the page loads in most browsers: its GEMM fuses multiply-adds, so its
    // products round differently and must meet the same tolerances.
    exec(&mut browser())?;
    exec(
        browser()
            .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS", site::RELAXED_RUSTFLAGS)
            .env("CARGO_TARGET_DIR", root().join("target/wasm-relaxed-tests")),
    )?;
    // The threaded build the isolated page loads: the same tests in a worker,
    // on a pool of Web Workers (tests/src/threads.rs).
    exec(
        browser()
            .args(["--features", "threads", "-Z", site::BUILD_STD])
            .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS", site::THREADS_RUSTFLAGS)
            .env("RUSTC_BOOTSTRAP", "1")
            .env("CARGO_TARGET_DIR", root().join("target/wasm-threads-tests")),
    )?;

    site::build()?;
    // The page as `cargo xtask serve` serves it (isolated: the threaded
    // build), and as a host without the isolation headers would.
    let url = serve::in_background(root().join("www-dist"), serve::Isolation::On)?;
    let plain = serve::in_background(root().join("www-dist"), serve::Isolation::Off)?;
    let mut e2e = Command::new("node");
    e2e.arg("tests/e2e/lab.mjs").env("NNLAB_URL", &url).env("NNLAB_PLAIN_URL", &plain).env("SCREENSHOT_DIR", root().join("target/e2e"));
    // The CLI the native tests built and ran (crates/cli/tests), rather than
    // `cargo run -p nnlab-cli`, whose features for that package alone would
    // build it again.
    e2e.env("NNLAB_CLI", root().join("target/debug/nnlab"));
    env(&mut e2e);
    exec(&mut e2e)?;
    println!("all tests passed; screenshots in target/e2e/");
    Ok(())
}
