//! Shared test helpers and the CPU-vs-GPU parity suite. The suite is a library
//! function so the same cases run natively (lavapipe) and in headless Chromium
//! (SwiftShader) through wasm-bindgen-test.

pub mod coverage;
pub mod parity;
pub mod plan_fusion;
pub mod threads;

use nnlab_core::{Device, Tensor};

/// The preset specs in models/ as (file name, JSON text), sorted by name:
/// every JSON file but the schema, the page's preset index and the PFN specs (pfn-*).
pub fn preset_files() -> Vec<(String, String)> {
    let dir = format!("{}/../models", env!("CARGO_MANIFEST_DIR"));
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("models/ exists")
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.path().extension().is_some_and(|x| x == "json")
                && !e.file_name().to_string_lossy().ends_with(".schema.json")
                && e.file_name() != "presets.json"
                && !e.file_name().to_string_lossy().starts_with("pfn-")
        })
        .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read_to_string(e.path()).expect("a readable preset")))
        .collect();
    out.sort();
    out
}

/// Specs that use the layers' PyTorch options (tests/fixtures/specs), as
/// (file name, JSON text), sorted by name.
pub fn option_specs() -> Vec<(String, String)> {
    let dir = format!("{}/fixtures/specs", env!("CARGO_MANIFEST_DIR"));
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("tests/fixtures/specs exists")
        .filter_map(|e| e.ok())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read_to_string(e.path()).expect("a readable spec")))
        .collect();
    out.sort();
    out
}

/// Deterministic values in [-1, 1) for tests (the core's Philox generator).
pub fn uniform(shape: &[usize], seed: u64) -> Vec<f32> {
    nnlab_core::random::sample(shape.iter().product(), nnlab_core::random::RandomKind::Uniform { low: -1.0, high: 1.0 }, seed, 0)
}

/// Distinct values at least 0.05 apart (no ties for max/min/argmax, no kinks
/// near zero), shuffled deterministically. The grid is shifted by a
/// seed-dependent fraction of its spacing so two inputs never share a value.
pub fn distinct(shape: &[usize], seed: u64) -> Vec<f32> {
    let n: usize = shape.iter().product();
    let keys = uniform(&[n], seed);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| keys[a].total_cmp(&keys[b]));
    let mut out = vec![0.0; n];
    for (rank, &i) in order.iter().enumerate() {
        let shift = 0.01 + 0.03 * ((seed as f32 * 0.618_034).fract());
        out[i] = (rank as f32 - n as f32 / 2.0) * 0.05 + shift;
    }
    out
}

pub fn cpu_tensor(data: Vec<f32>, shape: &[usize]) -> Tensor {
    Tensor::from_vec(data, shape, &Device::Cpu).expect("valid test tensor")
}

/// Largest violation of |a - b| <= atol + rtol |b|, as (index, a, b), if any.
pub fn mismatch(a: &[f32], b: &[f32], atol: f32, rtol: f32) -> Option<(usize, f32, f32)> {
    if a.len() != b.len() {
        return Some((usize::MAX, a.len() as f32, b.len() as f32));
    }
    a.iter().zip(b).enumerate().find_map(|(i, (&x, &y))| {
        let ok = (x.is_nan() && y.is_nan()) || x == y || (x - y).abs() <= atol + rtol * y.abs();
        (!ok).then_some((i, x, y))
    })
}

/// A Python with torch and safetensors: `NNLAB_TORCH_PYTHON`, or the venv
/// at /work/.venv-torch; None when there is none.
pub fn torch_python() -> Option<String> {
    let candidate = std::env::var("NNLAB_TORCH_PYTHON")
        .ok()
        .or_else(|| std::path::Path::new("/work/.venv-torch/bin/python").exists().then(|| "/work/.venv-torch/bin/python".to_string()))?;
    let ok = std::process::Command::new(&candidate).args(["-c", "import torch, safetensors"]).output().is_ok_and(|o| o.status.success());
    ok.then_some(candidate)
}
