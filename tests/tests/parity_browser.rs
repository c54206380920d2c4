//! The parity suite inside headless Chromium (WebGPU on SwiftShader), run by
//! wasm-bindgen-test-runner: `cargo xtask test` sets it up.
#![cfg(target_arch = "wasm32")]

use nnlab_core::{Device, GpuContext, Tensor};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn gpu_matches_cpu_in_the_browser() {
    let ctx = GpuContext::new().await.expect("a WebGPU adapter (Chromium needs --enable-unsafe-webgpu and SwiftShader flags)");
    let report = nnlab_tests::parity::run_all(&ctx).await;
    assert!(report.failed.is_empty(), "parity failures in the browser on {}:\n{}", ctx.info(), report.failed.join("\n"));
    assert!(report.passed.len() > 200);
}

#[wasm_bindgen_test]
async fn readback_awaits_without_blocking() {
    let ctx = GpuContext::new().await.unwrap();
    let t = Tensor::arange(5, &Device::Gpu(ctx)).unwrap().mul_scalar(2.0).unwrap();
    assert_eq!(t.to_vec().await.unwrap(), vec![0.0, 2.0, 4.0, 6.0, 8.0]);
}
