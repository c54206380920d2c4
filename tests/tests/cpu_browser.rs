//! The spec trainer on the CPU backend inside a browser (wasm32): what the
//! page runs where there is no WebGPU. `cargo xtask test` runs it in Chromium;
//! it needs no WebGPU, so it also runs in Firefox:
//! `wasm-pack test --headless --firefox tests -- --test cpu_browser`.
#![cfg(target_arch = "wasm32")]

use nnlab_core::Device;
use nnlab_nn::spec::{ModelSpec, SpecTrainer};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn a_preset_trains_on_the_cpu_in_the_browser() {
    let spec = ModelSpec::from_json(include_str!("../../models/playground-xor.json")).unwrap();
    let mut t = SpecTrainer::new(&spec, Device::Cpu).await.unwrap();
    t.train_to_end().unwrap();
    let acc = t.metrics().await.unwrap().test_accuracy.unwrap();
    assert!(acc >= 0.9, "xor test accuracy {acc}");
}

/// A run moved to a new trainer continues bit-exactly in wasm too (the
/// page's backend switch and, later, its saved sessions rely on it).
#[wasm_bindgen_test]
async fn a_moved_run_continues_bit_exactly_in_the_browser() {
    let spec = ModelSpec::from_json(include_str!("../../models/digits-cnn.json")).unwrap();
    let mut a = SpecTrainer::new(&spec, Device::Cpu).await.unwrap();
    a.train(7).unwrap();
    let mut b = a.to_device(Device::Cpu).await.unwrap();
    a.train(5).unwrap();
    b.train(5).unwrap();
    let (ma, mb) = (a.metrics().await.unwrap(), b.metrics().await.unwrap());
    assert_eq!((ma.step, ma.train_loss.to_bits()), (mb.step, mb.train_loss.to_bits()));
}
