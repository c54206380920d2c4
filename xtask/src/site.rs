//! Builds the playground into www-dist/: the wasm API (release, SIMD) through
//! wasm-bindgen and wasm-opt into pkg/, next to a copy of the static files in www/.

use std::path::Path;
use std::process::Command;

use crate::{exec, root, Result};

pub fn build() -> Result {
    let dist = root().join("www-dist");
    exec(Command::new("cargo").args(["build", "--release", "-p", "nnlab-web", "--target", "wasm32-unknown-unknown"]))?;
    let wasm = root().join("target/wasm32-unknown-unknown/release/nnlab_web.wasm");
    if dist.exists() {
        std::fs::remove_dir_all(&dist).map_err(|e| format!("clearing {}: {e}", dist.display()))?;
    }
    let pkg = dist.join("pkg");
    exec(Command::new("wasm-bindgen").arg("--target").arg("web").arg("--no-typescript").arg("--out-dir").arg(&pkg).arg(&wasm))?;
    let bg = pkg.join("nnlab_web_bg.wasm");
    exec(Command::new("wasm-opt").arg("-O3").arg("--enable-simd").arg("--enable-bulk-memory").arg("--enable-nontrapping-float-to-int").arg("--enable-sign-ext").arg("--enable-mutable-globals").arg("--enable-reference-types").arg("--enable-multivalue").arg(&bg).arg("-o").arg(&bg))?;
    copy_dir(&root().join("www"), &dist)?;
    println!("site built in {}", dist.display());
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
