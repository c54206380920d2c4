//! The parity suite on native wgpu (lavapipe in CI; WGPU_BACKEND=vulkan makes a
//! missing driver fail loudly instead of skipping).

use nnlab_core::{Device, GpuContext, Tensor};
use nnlab_tests::coverage::Family;

fn context() -> GpuContext {
    pollster::block_on(GpuContext::new()).expect("a wgpu adapter (install mesa-vulkan-drivers for lavapipe)")
}

/// One test per parity family (tests/src/parity.rs), each reporting all of its failing cases.
macro_rules! gpu_matches_cpu {
    ($($test:ident: $family:ident),* $(,)?) => {$(
        #[test]
        fn $test() {
            let ctx = context();
            let report = pollster::block_on(nnlab_tests::parity::run_family(&ctx, Family::$family));
            eprintln!("{} {:?} parity cases passed on {}", report.passed.len(), Family::$family, ctx.info());
            report.assert_clean(Family::$family, ctx.info());
        }
    )*};
}

gpu_matches_cpu!(
    gpu_matches_cpu_on_unary_ops: Unary,
    gpu_matches_cpu_on_binary_ops: Binary,
    gpu_matches_cpu_on_reductions: Reductions,
    gpu_matches_cpu_on_matmuls: Matmul,
    gpu_matches_cpu_on_random_draws: Random,
    gpu_matches_cpu_on_optimizer_updates: Optimizers,
    gpu_matches_cpu_on_convolutions_pooling_and_rows: Spatial,
    gpu_matches_cpu_on_indexing_and_copies: Movement,
);

#[test]
fn a_training_step_is_one_submission() {
    let ctx = context();
    let gpu = Device::Gpu(ctx.clone());
    let x = Tensor::randn(&[16, 2], 0.0, 1.0, 1, 0, &gpu).unwrap();
    let w = Tensor::randn(&[8, 2], 0.0, 0.5, 2, 0, &gpu).unwrap().requires_grad_();
    let labels = Tensor::bernoulli(&[16], 0.5, 3, 0, &gpu).unwrap();
    let before = ctx.submit_count();
    let loss = x.matmul(&w.t().unwrap()).unwrap().tanh().unwrap().cross_entropy(&labels).unwrap();
    let g = loss.backward().unwrap();
    let _ = g.get(&w).unwrap();
    assert_eq!(ctx.submit_count(), before, "nothing is submitted before a readback");
    let value = pollster::block_on(loss.to_scalar()).unwrap();
    assert!(value.is_finite());
    assert_eq!(ctx.submit_count(), before + 1, "forward, backward and readback form one command buffer");
}

/// The GPU cannot validate indices without a readback; a bad one must show as
/// NaN rather than as some other row.
#[test]
fn out_of_range_indices_poison_the_gpu_result() {
    let gpu = Device::Gpu(context());
    let x = Tensor::ones(&[4, 3], &gpu).unwrap();
    let idx = Tensor::from_vec(vec![1.0, 4.0, 1.5], &[3], &gpu).unwrap();
    let v = pollster::block_on(x.index_select(0, &idx).unwrap().to_vec()).unwrap();
    assert_eq!(&v[..3], &[1.0; 3]);
    assert!(v[3..].iter().all(|x| x.is_nan()), "{v:?}");
}

/// The same for class labels: a label that is no class index gives a NaN loss
/// on the GPU (which the trainers report) and an error naming it on the CPU.
#[test]
fn invalid_labels_poison_the_gpu_loss_and_are_named_on_the_cpu() {
    let gpu = Device::Gpu(context());
    let logits = [0.5, -1.0, 2.0, 0.0, 1.0, 3.0];
    let loss =
        |labels: Vec<f32>, d: &Device| Tensor::from_vec(logits.to_vec(), &[2, 3], d).unwrap().cross_entropy_rows(&Tensor::from_vec(labels, &[2], d).unwrap());
    let v = pollster::block_on(loss(vec![2.0, 3.0], &gpu).unwrap().to_vec()).unwrap();
    assert!(v[0].is_finite() && v[1].is_nan(), "{v:?}");
    let v = pollster::block_on(loss(vec![0.5, 1.0], &gpu).unwrap().to_vec()).unwrap();
    assert!(v[0].is_nan() && v[1].is_finite(), "{v:?}");
    let e = loss(vec![2.0, 3.0], &Device::Cpu).unwrap_err();
    assert!(e.to_string().contains("label 3 is not a class index below 3"), "{e}");
}

#[test]
fn oversized_buffers_are_refused_before_allocating() {
    let ctx = context();
    let max = ctx.limits().max_storage_buffer_binding_size as usize;
    let err = Tensor::rand_uniform(&[max / 4 + 1], 0.0, 1.0, 0, 0, &Device::Gpu(ctx)).unwrap_err();
    assert!(err.to_string().contains("exceeds"), "{err}");
}

/// 10,000 training steps of the playground's default model on the GPU: after
/// warm-up the buffer pool serves every allocation (no buffer is created) and
/// the buffers in existence (live plus pooled) stay the same. Full batches
/// replay a step plan and each epoch's shorter last batch runs eagerly, so
/// both paths and the hand-over between them are soaked; which of the two ran
/// last moves some buffers between live and pooled, never their total.
#[test]
fn a_ten_thousand_step_soak_keeps_gpu_memory_flat() {
    let ctx = context();
    let mut t = playground(Device::Gpu(ctx.clone()));
    let mut round = |steps: usize| {
        t.train(steps).unwrap();
        pollster::block_on(t.metrics()).unwrap();
        let (created, pooled, _) = ctx.pool_stats();
        (created, ctx.live_buffers() + pooled)
    };
    let warm = round(500);
    for _ in 0..19 {
        let now = round(500);
        assert_eq!(now, warm, "(buffers created, buffers live or pooled) changed during the soak");
    }
    assert!(t.plan_dispatches().is_some(), "full batches replay a step plan");
}

/// The playground's default preset (spiral MLP) on `device`.
fn playground(device: Device) -> nnlab_nn::spec::SpecTrainer {
    let path = format!("{}/../models/playground-spiral.json", env!("CARGO_MANIFEST_DIR"));
    let spec = nnlab_nn::spec::ModelSpec::from_json(&std::fs::read_to_string(path).unwrap()).unwrap();
    pollster::block_on(nnlab_nn::spec::SpecTrainer::new(&spec, device)).unwrap()
}

/// Losing the GPU mid-training: readback reports `DeviceLost`, and the
/// trainer continues on the CPU from the weights of its last snapshot.
#[test]
fn a_lost_device_falls_back_to_the_cpu_with_the_saved_weights() {
    use nnlab_core::Error;
    use nnlab_nn::Module;
    let ctx = context();
    let mut t = playground(Device::Gpu(ctx.clone()));
    t.train(300).unwrap();
    pollster::block_on(t.snapshot()).unwrap();
    let saved: Vec<Vec<f32>> = t.model.parameters().iter().map(|(_, p)| pollster::block_on(p.get().to_vec()).unwrap()).collect();
    let trained = pollster::block_on(t.metrics()).unwrap();
    t.train(20).unwrap();
    ctx.destroy();
    let _ = t.train(5);
    let err = pollster::block_on(t.metrics()).unwrap_err();
    assert!(matches!(err, Error::DeviceLost(_)), "{err}");

    assert_eq!(pollster::block_on(t.fall_back_to_cpu()).unwrap(), 300);
    assert_eq!(t.device().name(), "cpu");
    let restored: Vec<Vec<f32>> = t.model.parameters().iter().map(|(_, p)| pollster::block_on(p.get().to_vec()).unwrap()).collect();
    assert_eq!(restored, saved, "the CPU continues from the snapshot's weights");
    let m = pollster::block_on(t.metrics()).unwrap();
    assert!((m.test_loss - trained.test_loss).abs() < 1e-4, "{} vs {}", m.test_loss, trained.test_loss);
    t.train(50).unwrap();
    let m = pollster::block_on(t.metrics()).unwrap();
    assert_eq!(m.step, 350);
    assert!(m.test_loss.is_finite());
}

/// Switching backend mid-run keeps the weights, the optimizer state and the
/// step: the GPU continues where the CPU stopped, within float tolerance.
#[test]
fn a_run_moves_between_cpu_and_gpu() {
    let ctx = context();
    let mut cpu = playground(Device::Cpu);
    cpu.train(200).unwrap();
    let mut gpu = pollster::block_on(cpu.to_device(Device::Gpu(ctx))).unwrap();
    let (mc, mg) = (pollster::block_on(cpu.metrics()).unwrap(), pollster::block_on(gpu.metrics()).unwrap());
    assert_eq!(mg.step, 200);
    assert!((mc.train_loss - mg.train_loss).abs() < 1e-4, "{} vs {}", mc.train_loss, mg.train_loss);
    cpu.train(100).unwrap();
    gpu.train(100).unwrap();
    let back = pollster::block_on(gpu.to_device(Device::Cpu)).unwrap();
    let (mc, mb) = (pollster::block_on(cpu.metrics()).unwrap(), pollster::block_on(back.metrics()).unwrap());
    assert_eq!(mb.step, 300);
    assert!((mc.train_loss - mb.train_loss).abs() < 1e-2 * mc.train_loss.max(0.1), "{} vs {}", mc.train_loss, mb.train_loss);
}
