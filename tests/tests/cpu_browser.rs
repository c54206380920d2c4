//! The spec trainer on the CPU backend inside a browser (wasm32): what the
//! page runs where there is no WebGPU. `cargo xtask test` runs it in Chromium;
//! it needs no WebGPU, so it also runs in Firefox:
//! `wasm-pack test --headless --firefox tests -- --test cpu_browser`.
#![cfg(target_arch = "wasm32")]

use nnlab_core::Device;
use nnlab_nn::spec::{ModelSpec, SpecTrainer};
use wasm_bindgen_test::*;

// The threaded build blocks while a product runs on the pool, which a
// page's main thread may not do: it runs the tests in a worker, as the lab
// runs its training.
#[cfg(not(feature = "threads"))]
wasm_bindgen_test_configure!(run_in_browser);
#[cfg(feature = "threads")]
wasm_bindgen_test_configure!(run_in_dedicated_worker);

#[wasm_bindgen_test]
async fn a_preset_trains_on_the_cpu_in_the_browser() {
    nnlab_tests::threads::pool().await;
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
    nnlab_tests::threads::pool().await;
    let spec = ModelSpec::from_json(include_str!("../../models/digits-cnn.json")).unwrap();
    let mut a = SpecTrainer::new(&spec, Device::Cpu).await.unwrap();
    a.train(7).unwrap();
    let mut b = a.to_device(Device::Cpu).await.unwrap();
    a.train(5).unwrap();
    b.train(5).unwrap();
    let (ma, mb) = (a.metrics().await.unwrap(), b.metrics().await.unwrap());
    assert_eq!((ma.step, ma.train_loss.to_bits()), (mb.step, mb.train_loss.to_bits()));
}

/// The browser's packed simd128 GEMM against a plain f64 sum: edge tiles,
/// transposed operands, a batch, K past one packed block and N past one panel run.
#[wasm_bindgen_test]
async fn the_wasm_gemm_computes_products() {
    nnlab_tests::threads::pool().await;
    use nnlab_core::Tensor;
    for (batch, m, k, n, transposed) in
        [(1, 1, 1, 1, false), (1, 5, 3, 7, false), (1, 37, 53, 29, true), (3, 9, 17, 10, false), (1, 13, 300, 1030, true), (2, 97, 5, 8, false)]
    {
        let a = nnlab_tests::uniform(&[batch, m, k], 1);
        let b = nnlab_tests::uniform(&[batch, k, n], 2);
        let ta = Tensor::from_vec(a.clone(), &[batch, m, k], &Device::Cpu).unwrap();
        // A transposed B is stored [n, k] and read through a view.
        let tb = if transposed {
            let bt: Vec<f32> = (0..batch * n * k).map(|i| b[(i / (n * k)) * k * n + (i % k) * n + (i / k) % n]).collect();
            Tensor::from_vec(bt, &[batch, n, k], &Device::Cpu).unwrap().transpose(1, 2).unwrap()
        } else {
            Tensor::from_vec(b.clone(), &[batch, k, n], &Device::Cpu).unwrap()
        };
        let got = ta.matmul(&tb).unwrap().to_vec().await.unwrap();
        for bi in 0..batch {
            for i in 0..m {
                for j in 0..n {
                    let want: f64 = (0..k).map(|p| a[bi * m * k + i * k + p] as f64 * b[bi * k * n + p * n + j] as f64).sum();
                    let g = got[bi * m * n + i * n + j] as f64;
                    assert!((g - want).abs() <= 1e-4 * (1.0 + want.abs()), "[{batch}, {m}, {k}, {n}] at ({bi}, {i}, {j}): {g} vs {want}");
                }
            }
        }
    }
}
