//! The parity suite inside headless Chromium (WebGPU on SwiftShader), run by
//! wasm-bindgen-test-runner: `cargo xtask test` sets it up.
#![cfg(target_arch = "wasm32")]

use nnlab_core::{Device, GpuContext, Tensor};
use nnlab_tests::coverage::Family;
use wasm_bindgen_test::*;

// The threaded build blocks while a product runs on the pool, which a
// page's main thread may not do: it runs the tests in a worker, as the lab
// runs its training.
#[cfg(not(feature = "threads"))]
wasm_bindgen_test_configure!(run_in_browser);
#[cfg(feature = "threads")]
wasm_bindgen_test_configure!(run_in_dedicated_worker);

/// One test per parity family (tests/src/parity.rs), each reporting all of its failing cases.
macro_rules! gpu_matches_cpu_in_the_browser {
    ($($test:ident: $family:ident),* $(,)?) => {$(
        #[wasm_bindgen_test]
        async fn $test() {
            nnlab_tests::threads::pool().await;
            let ctx = GpuContext::new().await.expect("a WebGPU adapter (Chromium needs --enable-unsafe-webgpu and SwiftShader flags)");
            let report = nnlab_tests::parity::run_family(&ctx, Family::$family).await;
            report.assert_clean(Family::$family, &format!("{} in the browser", ctx.info()));
        }
    )*};
}

gpu_matches_cpu_in_the_browser!(
    unary_ops_in_the_browser: Unary,
    binary_ops_in_the_browser: Binary,
    reductions_in_the_browser: Reductions,
    matmuls_in_the_browser: Matmul,
    random_draws_in_the_browser: Random,
    optimizer_updates_in_the_browser: Optimizers,
    convolutions_pooling_and_rows_in_the_browser: Spatial,
    indexing_and_copies_in_the_browser: Movement,
);

#[wasm_bindgen_test]
async fn readback_awaits_without_blocking() {
    nnlab_tests::threads::pool().await;
    let ctx = GpuContext::new().await.unwrap();
    let t = Tensor::arange(5, &Device::Gpu(ctx)).unwrap().mul_scalar(2.0).unwrap();
    assert_eq!(t.to_vec().await.unwrap(), vec![0.0, 2.0, 4.0, 6.0, 8.0]);
}

/// Matmul epilogue fusion follows its rules in Chromium as natively
/// (tests/src/plan_fusion.rs).
#[wasm_bindgen_test]
async fn sums_fold_into_the_matmuls_they_add_to_in_the_browser() {
    nnlab_tests::threads::pool().await;
    let ctx = GpuContext::new().await.unwrap();
    let mut failures = Vec::new();
    for case in nnlab_tests::plan_fusion::cases() {
        failures.extend(nnlab_tests::plan_fusion::check(&ctx, &case).await.err());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A step of a GRU (one recurrence kernel each way) and a BatchNorm layer,
/// recorded as a plan with the BatchNorm's elementwise chains fused into
/// generated kernels, replays in Chromium as eager steps run.
#[wasm_bindgen_test]
async fn a_fused_step_plan_replays_like_eager_steps() {
    nnlab_tests::threads::pool().await;
    use nnlab_nn::activation::ActivationLayer;
    use nnlab_nn::layers::{BatchNorm, Recurrent, RecurrentKind, Sequential};
    use nnlab_nn::{Activation, Linear, Module, Optimizer, OptimizerConfig, StepInput, StepPlan, init::Init};
    let device = Device::Gpu(GpuContext::new().await.unwrap());
    let build = || -> Box<dyn Module> {
        let gru = Recurrent::new(RecurrentKind::Gru, 3, 6, 1, false, true, 7, 0, &device).unwrap().last_step_only();
        Box::new(Sequential::new(vec![
            Box::new(gru),
            Box::new(BatchNorm::new(6, true, &device).unwrap()),
            Box::new(ActivationLayer::new(Activation::Tanh)),
            Box::new(Linear::new(6, 2, true, Init::GlorotUniform, 7, 1, &device).unwrap()),
        ]))
    };
    let adam = |m: &dyn Module| {
        Optimizer::new(
            OptimizerConfig::Adam { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-7, weight_decay: 0.0, amsgrad: false, maximize: false },
            m.parameters().into_iter().map(|(_, p)| p).collect(),
        )
        .unwrap()
    };
    let loss_fn = |m: &dyn Module, t: &[&Tensor]| m.forward(t[0])?.cross_entropy(t[1]);
    let batch = |i: usize| {
        let x: Vec<f32> = (0..4 * 5 * 3).map(|j| (((j * 7 + i * 13) % 11) as f32 - 5.0) / 5.0).collect();
        let y: Vec<f32> = (0..4).map(|j| ((i + j) % 2) as f32).collect();
        (Tensor::from_vec(x, &[4, 5, 3], &device).unwrap(), Tensor::from_vec(y, &[4], &device).unwrap())
    };
    let params = |m: &dyn Module| m.parameters().into_iter().map(|(_, p)| p.get()).collect::<Vec<_>>();

    let eager = build();
    let mut eager_opt = adam(eager.as_ref());
    let mut eager_losses = Vec::new();
    for i in 0..3 {
        let (x, y) = batch(i);
        let loss = loss_fn(eager.as_ref(), &[&x, &y]).unwrap();
        eager_opt.step(&loss.backward().unwrap()).unwrap();
        eager_losses.push(loss.to_scalar().await.unwrap());
    }

    let planned = build();
    let mut opt = adam(planned.as_ref());
    let (x0, y0) = batch(0);
    let (loss, plan) = StepPlan::record(planned.as_ref(), &mut opt, &[&x0, &y0], &loss_fn).unwrap();
    let plan = plan.unwrap();
    assert!(plan.fused() > 0, "nothing was fused");
    let mut losses = vec![loss.to_scalar().await.unwrap()];
    for i in 1..3 {
        let (x, y) = batch(i);
        plan.replay(planned.as_ref(), &mut opt, &[StepInput::Device(&x), StepInput::Device(&y)]).unwrap();
        losses.push(plan.loss().to_scalar().await.unwrap());
    }
    for (a, b) in losses.iter().zip(&eager_losses) {
        assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "loss: plan {a}, eager {b}");
    }
    for (p, e) in params(planned.as_ref()).iter().zip(params(eager.as_ref())) {
        for (a, b) in p.to_vec().await.unwrap().iter().zip(e.to_vec().await.unwrap()) {
            assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "parameter: plan {a}, eager {b}");
        }
    }
}
