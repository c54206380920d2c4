//! Step plans (nnlab_nn::StepPlan) on wgpu/lavapipe: a recorded step replayed
//! gives the numbers eager execution gives, allocates nothing, submits once
//! per step, and refuses to replay what it cannot replay faithfully.
#![cfg(not(target_arch = "wasm32"))]

use nnlab_bench::training_workloads;
use nnlab_core::{Device, Error, GpuContext, GradStore, Result, Tensor};
use nnlab_nn::activation::ActivationLayer;
use nnlab_nn::gradients::{clip_coefficient, clip_grad_norm};
use nnlab_nn::layers::{BatchNorm, Dropout, Recurrent, RecurrentKind, Sequential};
use nnlab_nn::spec::{ModelSpec, SpecTrainer};
use nnlab_nn::{Activation, Linear, Module, Optimizer, OptimizerConfig, Param, StepInput, StepPlan, init::Init};

fn context() -> GpuContext {
    pollster::block_on(GpuContext::new()).expect("a wgpu adapter (install mesa-vulkan-drivers for lavapipe)")
}

const ADAM: OptimizerConfig = OptimizerConfig::Adam { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-7, weight_decay: 0.0, amsgrad: false, maximize: false };

fn params(model: &dyn Module) -> Vec<Param> {
    model.parameters().into_iter().map(|(_, p)| p).collect()
}

fn optimizer(model: &dyn Module, config: OptimizerConfig) -> Result<Optimizer> {
    Optimizer::new(config, params(model))
}

const ADAMW: OptimizerConfig = OptimizerConfig::AdamW { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-7, weight_decay: 0.01, amsgrad: false, maximize: false };
const AMSGRAD: OptimizerConfig = OptimizerConfig::Adam { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-7, weight_decay: 0.01, amsgrad: true, maximize: false };
const SGD: OptimizerConfig = OptimizerConfig::Sgd { lr: 0.1, momentum: 0.9, dampening: 0.0, nesterov: false, weight_decay: 1e-3, maximize: false };

fn adam(model: &dyn Module) -> Result<Optimizer> {
    optimizer(model, ADAM)
}

fn cross_entropy(model: &dyn Module, inputs: &[&Tensor]) -> Result<Tensor> {
    model.forward(inputs[0])?.cross_entropy(inputs[1])
}

/// Every parameter and buffer of the model, flattened.
fn values(model: &dyn Module) -> Vec<f32> {
    let tensors = model.parameters().into_iter().map(|(_, p)| p.get()).chain(model.buffers().into_iter().map(|(_, b)| b.get()));
    tensors.flat_map(|t| pollster::block_on(t.to_vec()).unwrap()).collect()
}

/// Trains `build()` for `steps` steps on the batches eagerly and with a plan
/// (recorded on the first step), checking both end in the same place.
/// Returns the plan's dispatches per step and how many fusion removed.
fn replay_matches_eager(name: &str, build: &dyn Fn(&Device) -> Result<Box<dyn Module>>, batches: &Batches, steps: usize) -> (usize, usize) {
    replay_matches_eager_with(name, ADAM, build, batches, steps, &|_, _| Ok(None))
}

/// Acts on a model's gradients between the backward pass and the update,
/// and may return a scale for the update to apply.
type Between = dyn Fn(&dyn Module, &mut GradStore) -> Result<Option<Tensor>>;

/// `replay_matches_eager` with another optimizer, and `between` applied to
/// the gradients of every step.
fn replay_matches_eager_with(
    name: &str,
    config: OptimizerConfig,
    build: &dyn Fn(&Device) -> Result<Box<dyn Module>>,
    batches: &Batches,
    steps: usize,
    between: &Between,
) -> (usize, usize) {
    let ctx = context();
    let device = Device::Gpu(ctx.clone());
    let upload = |(x, shape, y): &(Vec<f32>, Vec<usize>, Vec<f32>)| {
        (Tensor::from_vec(x.clone(), shape, &device).unwrap(), Tensor::from_vec(y.clone(), &[y.len()], &device).unwrap())
    };
    let resident: Vec<(Tensor, Tensor)> = batches.iter().map(upload).collect();

    let eager = build(&device).unwrap();
    let mut eager_opt = optimizer(eager.as_ref(), config).unwrap();
    let mut eager_losses = Vec::new();
    for i in 0..steps {
        let (x, y) = &resident[i % resident.len()];
        let loss = cross_entropy(eager.as_ref(), &[x, y]).unwrap();
        let mut grads = loss.backward().unwrap();
        let scale = between(eager.as_ref(), &mut grads).unwrap();
        eager_opt.step_scaled(&grads, scale.as_ref()).unwrap();
        eager_losses.push(pollster::block_on(loss.to_scalar()).unwrap());
    }

    let planned = build(&device).unwrap();
    let mut opt = optimizer(planned.as_ref(), config).unwrap();
    // The recorded step reads its own input buffers; replays fill them.
    let (x0, y0) = upload(&batches[0]);
    let model = planned.as_ref();
    let (loss, plan) = StepPlan::record_with(model, &mut opt, &[&x0, &y0], &cross_entropy, &|g| between(model, g)).unwrap();
    let plan = plan.unwrap_or_else(|e| panic!("{name}: not replayable: {e}"));
    let mut losses = vec![pollster::block_on(loss.to_scalar()).unwrap()];
    let mut objects = None;
    for i in 1..steps {
        let (x, y) = &resident[i % resident.len()];
        let submits = ctx.submit_count();
        plan.replay(planned.as_ref(), &mut opt, &[StepInput::Device(x), StepInput::Device(y)]).unwrap();
        assert_eq!(ctx.submit_count(), submits + 1, "{name}: a replay is one submit");
        losses.push(pollster::block_on(plan.loss().to_scalar()).unwrap());
        // After the first replay's readback, nothing more is ever created.
        let now = (ctx.device_objects(), ctx.pool_stats(), ctx.live_buffers());
        assert_eq!(*objects.get_or_insert(now), now, "{name}: replay {i} allocated");
    }
    assert_eq!(opt.steps() as usize, steps);
    for (i, (a, b)) in losses.iter().zip(&eager_losses).enumerate() {
        assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "{name}: loss of step {i}: plan {a}, eager {b}");
    }
    for (i, (a, b)) in values(planned.as_ref()).iter().zip(values(eager.as_ref())).enumerate() {
        assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "{name}: value {i} after {steps} steps: plan {a}, eager {b}");
    }
    eprintln!("{name}: {} dispatches per step ({} fused away), {steps} steps agree", plan.dispatches(), plan.fused());
    (plan.dispatches(), plan.fused())
}

/// Builds a fresh model on a device.
type Build = Box<dyn Fn(&Device) -> Result<Box<dyn Module>>>;
/// Host batches: (inputs, input shape, labels).
type Batches = Vec<(Vec<f32>, Vec<usize>, Vec<f32>)>;

fn workload_batches(group: &str) -> (Build, Batches) {
    let w = training_workloads().into_iter().find(|w| w.group == group).unwrap();
    let shape: Vec<usize> = std::iter::once(w.batch).chain(w.input.iter().copied()).collect();
    let batches = w.batches().into_iter().map(|b| (b.x, shape.clone(), b.y)).collect();
    (Box::new(move |d: &Device| Ok(Box::new(w.model(d)?) as Box<dyn Module>)), batches)
}

#[test]
fn replay_equals_eager_on_the_benchmark_models() {
    for (group, steps) in [("W1", 12), ("W2", 4), ("W3", 4), ("W4", 4)] {
        let (build, batches) = workload_batches(group);
        replay_matches_eager(group, build.as_ref(), &batches, steps);
    }
}

/// Optimizers whose update changes from step to step (SGD's dampening starts
/// from the first gradient, Adam's bias corrections) replay like eager steps,
/// as do those composed of elementwise ops (amsgrad, centered RMSprop).
#[test]
fn replay_follows_every_optimizer_option() {
    let (build, batches) = workload_batches("W1");
    let configs = [
        ("SGD dampening", OptimizerConfig::Sgd { lr: 0.1, momentum: 0.9, dampening: 0.5, nesterov: false, weight_decay: 1e-3, maximize: false }),
        ("SGD Nesterov", OptimizerConfig::Sgd { lr: 0.1, momentum: 0.9, dampening: 0.0, nesterov: true, weight_decay: 0.0, maximize: false }),
        ("Adam amsgrad", OptimizerConfig::Adam { lr: 1e-2, beta1: 0.9, beta2: 0.9, eps: 1e-7, weight_decay: 0.0, amsgrad: true, maximize: false }),
        ("AdamW maximize", OptimizerConfig::AdamW { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-7, weight_decay: 0.01, amsgrad: false, maximize: true }),
        ("RMSprop centered", OptimizerConfig::Rmsprop { lr: 1e-3, alpha: 0.9, eps: 1e-7, momentum: 0.5, weight_decay: 0.0, centered: true, maximize: false }),
    ];
    for (name, config) in configs {
        replay_matches_eager_with(name, config, build.as_ref(), &batches, 6, &|_, _| Ok(None));
    }
}

/// A GRU of 16 units over W3's sequences, its last state to 4 classes.
fn small_gru(d: &Device) -> Result<Box<dyn Module>> {
    let layers: Vec<Box<dyn Module>> = vec![
        Box::new(Recurrent::new(RecurrentKind::Gru, 8, 16, 1, false, true, 5, 0, d)?.last_step_only()),
        Box::new(Linear::new(16, 4, true, Init::GlorotUniform, 5, 1, d)?),
    ];
    Ok(Box::new(Sequential::new(layers)))
}

/// A GRU step (one recurrence kernel each way on a GPU) replays like eager
/// steps; a BatchNorm layer is a graph of elementwise ops (statistics,
/// normalisation), and the chains whose intermediates the backward pass does
/// not keep become single kernels.
#[test]
fn a_gru_step_replays_and_elementwise_chains_fuse() {
    let (_, batches) = workload_batches("W3");
    replay_matches_eager("GRU", &small_gru, &batches, 4);
    let (dispatches, fused) = replay_matches_eager("batchnorm", &batchnorm_mlp(Some(0.1)), &spiral_batches(), 4);
    assert!(fused > 0, "no elementwise chain of the BatchNorm step was fused ({dispatches} dispatches)");
}

/// Clipping gradients by their global norm (the parity-gru preset does) is
/// device ops between the backward pass and the update: a plan records it,
/// and replays clip like eager steps (at a bound the gradients exceed, so
/// every step clips), whether the gradients are scaled (`clip_grad_norm`) or
/// the update applies the coefficient (`clip_coefficient`, what the trainer
/// does: Adam's fused update takes it), and the two give the same weights.
/// The preset's trainer replays a plan on the GPU, with no dispatch per
/// parameter for the clip.
#[test]
fn clipped_steps_replay_like_eager_ones() {
    let (_, batches) = workload_batches("W3");
    let max = 0.05;
    let scaled = move |model: &dyn Module, grads: &mut GradStore| -> Result<Option<Tensor>> { clip_grad_norm(&params(model), grads, max).map(|_| None) };
    let by_update =
        move |model: &dyn Module, grads: &mut GradStore| -> Result<Option<Tensor>> { Ok(clip_coefficient(&params(model), grads, max)?.map(|(_, coef)| coef)) };
    let device = Device::Gpu(context());
    let (model, (x, shape, y)) = (small_gru(&device).unwrap(), &batches[0]);
    let (x, y) = (Tensor::from_vec(x.clone(), shape, &device).unwrap(), Tensor::from_vec(y.clone(), &[y.len()], &device).unwrap());
    let mut grads = cross_entropy(model.as_ref(), &[&x, &y]).unwrap().backward().unwrap();
    let norm = pollster::block_on(clip_grad_norm(&params(model.as_ref()), &mut grads, max).unwrap().unwrap().to_scalar()).unwrap();
    assert!(norm > 2.0 * max, "the first step's gradient norm {norm} does not exceed the bound {max}: nothing would clip");
    let (scaling, _) = replay_matches_eager_with("clipped GRU", ADAM, &small_gru, &batches, 6, &scaled);
    let (dispatches, _) = replay_matches_eager_with("clipped GRU, scaled by Adam", ADAM, &small_gru, &batches, 6, &by_update);
    assert!(dispatches < scaling, "the update's scale saves no dispatch: {dispatches} vs {scaling}");
    for (name, config) in [("Adam", ADAM), ("AdamW", ADAMW), ("Adam amsgrad", AMSGRAD), ("SGD", SGD)] {
        let train = |between: &Between| {
            let model = small_gru(&device).unwrap();
            let mut opt = optimizer(model.as_ref(), config).unwrap();
            for _ in 0..3 {
                let mut grads = cross_entropy(model.as_ref(), &[&x, &y]).unwrap().backward().unwrap();
                let scale = between(model.as_ref(), &mut grads).unwrap();
                opt.step_scaled(&grads, scale.as_ref()).unwrap();
            }
            values(model.as_ref())
        };
        for (i, (a, b)) in train(&by_update).iter().zip(train(&scaled)).enumerate() {
            assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "{name}: value {i}: scaled by the update {a}, gradients scaled {b}");
        }
    }

    let path = format!("{}/../models/parity-gru.json", env!("CARGO_MANIFEST_DIR"));
    let spec = ModelSpec::from_json(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(spec.training.as_ref().and_then(|t| t.clip_grad_norm).is_some(), "the parity-gru preset clips its gradients");
    let mut trainer = pollster::block_on(SpecTrainer::new(&spec, Device::Gpu(context()))).unwrap();
    trainer.train(3).unwrap();
    let preset = trainer.plan_dispatches().expect("the parity-gru preset replays a step plan");
    eprintln!("clipped GRU: {dispatches} dispatches per step ({scaling} scaling each gradient); the parity-gru preset: {preset}");
    assert!(preset <= dispatches + 6, "the parity-gru preset replays {preset} dispatches per step");
}

/// Linear, BatchNorm (with this momentum; None: a cumulative average), tanh, linear.
fn batchnorm_mlp(momentum: Option<f32>) -> impl Fn(&Device) -> Result<Box<dyn Module>> {
    move |dev: &Device| {
        let mut bn = BatchNorm::new(8, true, dev)?;
        bn.momentum = momentum;
        let layers: Vec<Box<dyn Module>> = vec![
            Box::new(Linear::new(2, 8, true, Init::GlorotUniform, 1, 0, dev)?),
            Box::new(bn),
            Box::new(ActivationLayer::new(Activation::Tanh)),
            Box::new(Linear::new(8, 2, true, Init::GlorotUniform, 1, 1, dev)?),
        ];
        Ok(Box::new(Sequential::new(layers)) as Box<dyn Module>)
    }
}

fn mlp_with(extra: impl Fn() -> Result<Box<dyn Module>> + 'static) -> Build {
    Box::new(move |d: &Device| {
        let layers: Vec<Box<dyn Module>> = vec![
            Box::new(Linear::new(2, 8, true, Init::GlorotUniform, 1, 0, d)?),
            extra()?,
            Box::new(ActivationLayer::new(Activation::Tanh)),
            Box::new(Linear::new(8, 2, true, Init::GlorotUniform, 1, 1, d)?),
        ];
        Ok(Box::new(Sequential::new(layers)) as Box<dyn Module>)
    })
}

fn spiral_batches() -> Batches {
    let (_, batches) = workload_batches("W1");
    batches
}

#[test]
fn replay_carries_batchnorm_running_statistics() {
    // With momentum and as a cumulative average (the factor 1 / batches changes every step).
    for momentum in [Some(0.1), None] {
        replay_matches_eager(if momentum.is_some() { "batchnorm" } else { "batchnorm cumulative" }, &batchnorm_mlp(momentum), &spiral_batches(), 8);
    }
}

#[test]
fn a_step_that_draws_random_numbers_is_not_replayable() {
    let ctx = context();
    let device = Device::Gpu(ctx);
    let model = mlp_with(|| Ok(Box::new(Dropout::new(0.5, 7)?) as Box<dyn Module>))(&device).unwrap();
    let mut opt = adam(model.as_ref()).unwrap();
    let (x, _, y) = &spiral_batches()[0];
    let (x, y) = (Tensor::from_vec(x.clone(), &[32, 2], &device).unwrap(), Tensor::from_vec(y.clone(), &[32], &device).unwrap());
    let (loss, plan) = StepPlan::record(model.as_ref(), &mut opt, &[&x, &y], &cross_entropy).unwrap();
    assert!(matches!(plan, Err(Error::NotReplayable(ref m)) if m.contains("random")), "{:?}", plan.err());
    // The step itself ran.
    assert!(pollster::block_on(loss.to_scalar()).unwrap().is_finite());
    assert_eq!(opt.steps(), 1);
}

#[test]
fn replay_follows_weights_replaced_between_steps() {
    let ctx = context();
    let device = Device::Gpu(ctx);
    let build = mlp_with(|| Ok(Box::new(ActivationLayer::new(Activation::Relu)) as Box<dyn Module>));
    let (planned, eager) = (build(&device).unwrap(), build(&device).unwrap());
    let (mut opt, mut eager_opt) = (adam(planned.as_ref()).unwrap(), adam(eager.as_ref()).unwrap());
    let (xv, _, yv) = &spiral_batches()[0];
    let upload = || (Tensor::from_vec(xv.clone(), &[32, 2], &device).unwrap(), Tensor::from_vec(yv.clone(), &[32], &device).unwrap());
    let ((x, y), (xs, ys)) = (upload(), upload());
    let eager_step = |opt: &mut Optimizer| opt.step(&cross_entropy(eager.as_ref(), &[&x, &y]).unwrap().backward().unwrap()).unwrap();

    let (_, plan) = StepPlan::record(planned.as_ref(), &mut opt, &[&xs, &ys], &cross_entropy).unwrap();
    let plan = plan.unwrap();
    eager_step(&mut eager_opt);
    let inputs = [StepInput::Host(xv), StepInput::Host(yv)];
    // Loading weights replaces a parameter's tensor; the next replay starts from them.
    for model in [&planned, &eager] {
        let (_, p) = &model.parameters()[0];
        p.set(Tensor::full(0.25, p.get().shape(), &device).unwrap());
    }
    plan.replay(planned.as_ref(), &mut opt, &inputs).unwrap();
    eager_step(&mut eager_opt);
    // An eager step in between (a shorter last batch does this) is followed too.
    let loss = cross_entropy(planned.as_ref(), &[&x, &y]).unwrap();
    opt.step(&loss.backward().unwrap()).unwrap();
    eager_step(&mut eager_opt);
    plan.replay(planned.as_ref(), &mut opt, &inputs).unwrap();
    eager_step(&mut eager_opt);
    for (i, (a, b)) in values(planned.as_ref()).iter().zip(values(eager.as_ref())).enumerate() {
        assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "value {i}: plan {a}, eager {b}");
    }

    // What a plan cannot follow is refused before anything runs.
    assert!(plan.replay(planned.as_ref(), &mut opt, &[StepInput::Host(&[0.0; 3]), StepInput::Host(yv)]).is_err());
    opt.lr = 0.5;
    assert!(matches!(plan.replay(planned.as_ref(), &mut opt, &inputs), Err(Error::NotReplayable(m)) if m.contains("learning rate")));
    opt.lr = 1e-2;
    let (_, p) = &planned.parameters()[0];
    p.set(Tensor::zeros(&[3, 3], &device).unwrap());
    assert!(matches!(plan.replay(planned.as_ref(), &mut opt, &inputs), Err(Error::NotReplayable(m)) if m.contains("shape")));
}

#[test]
fn the_backward_pass_computes_no_gradient_for_the_data() {
    // The same step with the input batch as data and as a tensor that takes a
    // gradient: the data's gradient (a matmul per layer input) must not run.
    let ctx = context();
    let device = Device::Gpu(ctx);
    let (x, _, y) = &spiral_batches()[0];
    let y = Tensor::from_vec(y.clone(), &[32], &device).unwrap();
    let dispatches = |wants_grad: bool| {
        let model = mlp_with(|| Ok(Box::new(ActivationLayer::new(Activation::Relu)) as Box<dyn Module>))(&device).unwrap();
        let mut opt = adam(model.as_ref()).unwrap();
        let x = Tensor::from_vec(x.clone(), &[32, 2], &device).unwrap();
        let x = if wants_grad { x.requires_grad_() } else { x };
        let (_, plan) = StepPlan::record(model.as_ref(), &mut opt, &[&x, &y], &cross_entropy).unwrap();
        plan.unwrap().dispatches()
    };
    let (data, differentiated) = (dispatches(false), dispatches(true));
    assert!(data < differentiated, "{data} dispatches with a data input, {differentiated} with a differentiated one");
}

/// A recurrent layer's step costs the same dispatches at any sequence length
/// (one recurrence kernel each way, not a product and a cell per step), for
/// each cell, one direction and both.
#[test]
fn a_recurrent_step_costs_the_same_dispatches_at_any_length() {
    let ctx = context();
    let device = Device::Gpu(ctx);
    let y = Tensor::from_vec(vec![0.0, 1.0, 1.0, 0.0], &[4], &device).unwrap();
    for kind in [RecurrentKind::RnnTanh, RecurrentKind::Gru, RecurrentKind::Lstm] {
        for bidirectional in [false, true] {
            let dispatches = |steps: usize| {
                let layers: Vec<Box<dyn Module>> = vec![
                    Box::new(Recurrent::new(kind, 3, 8, 1, bidirectional, true, 5, 0, &device).unwrap().last_step_only()),
                    Box::new(Linear::new(if bidirectional { 16 } else { 8 }, 2, true, Init::GlorotUniform, 5, 1, &device).unwrap()),
                ];
                let model = Sequential::new(layers);
                let mut opt = adam(&model).unwrap();
                let x = Tensor::rand_uniform(&[4, steps, 3], -1.0, 1.0, 9, 0, &device).unwrap();
                let (_, plan) = StepPlan::record(&model, &mut opt, &[&x, &y], &cross_entropy).unwrap();
                plan.unwrap().dispatches()
            };
            let (short, long) = (dispatches(3), dispatches(40));
            assert_eq!(short, long, "{kind:?} (bidirectional {bidirectional}): {short} dispatches for 3 steps, {long} for 40");
            eprintln!("{kind:?} (bidirectional {bidirectional}): {short} dispatches per step at any length");
        }
    }
}

#[test]
fn sums_fold_into_the_matmuls_they_add_to_only_where_the_rules_allow() {
    let ctx = context();
    let failures: Vec<String> =
        nnlab_tests::plan_fusion::cases().iter().filter_map(|case| pollster::block_on(nnlab_tests::plan_fusion::check(&ctx, case)).err()).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A step's parameter updates run as one Adam dispatch over arenas (two
/// where two parameters share one gradient, as an LSTM's two biases do):
/// the LSTM benchmark (W3) and a GRU of the parity-gru preset's size step in
/// at most 20 dispatches.
#[test]
fn parameter_updates_run_as_one_dispatch() {
    let ctx = context();
    let device = Device::Gpu(ctx);
    let count = |model: &dyn Module, x: Tensor, y: Tensor| {
        let mut opt = adam(model).unwrap();
        let (_, plan) = StepPlan::record(model, &mut opt, &[&x, &y], &cross_entropy).unwrap();
        let plan = plan.unwrap();
        (plan.dispatches(), plan.kernels().iter().filter(|k| **k == "adam_main").count())
    };
    let (build, batches) = workload_batches("W3");
    let (x, shape, y) = &batches[0];
    let lstm = count(
        build(&device).unwrap().as_ref(),
        Tensor::from_vec(x.clone(), shape, &device).unwrap(),
        Tensor::from_vec(y.clone(), &[y.len()], &device).unwrap(),
    );
    assert!(lstm.0 <= 20 && lstm.1 == 2, "W3: {} dispatches, {} of them updates", lstm.0, lstm.1);
    let layers: Vec<Box<dyn Module>> = vec![
        Box::new(Recurrent::new(RecurrentKind::Gru, 1, 32, 1, false, true, 4, 0, &device).unwrap().last_step_only()),
        Box::new(Linear::new(32, 2, true, Init::GlorotUniform, 4, 1, &device).unwrap()),
    ];
    let bits = Tensor::from_vec((0..32 * 5).map(|i| ((i * 7) % 3 % 2) as f32).collect(), &[32, 5, 1], &device).unwrap();
    let labels = Tensor::from_vec((0..32).map(|i| (i % 2) as f32).collect(), &[32], &device).unwrap();
    let gru = count(&Sequential::new(layers), bits, labels);
    assert!(gru.0 <= 20 && gru.1 == 1, "GRU: {} dispatches, {} of them updates", gru.0, gru.1);
    eprintln!("W3: {} dispatches per step, {} of them updates; GRU of parity-gru's size: {}, {}", lstm.0, lstm.1, gru.0, gru.1);
}

/// In the sine-s4d preset's step, pooled buffers that end as gradients held
/// temporaries earlier, which some dispatches read beside another gradient
/// they write: those updates stay apart (WebGPU refuses a buffer bound both
/// read-only and writable in one dispatch), the rest fuse, and replays
/// match eager steps.
#[test]
fn updates_whose_slots_a_dispatch_would_read_and_write_stay_apart() {
    let path = format!("{}/../models/sine-s4d.json", env!("CARGO_MANIFEST_DIR"));
    let spec = nnlab_nn::spec::ModelSpec::from_json(&std::fs::read_to_string(path).unwrap()).unwrap();
    let build = |d: &Device| -> Result<Box<dyn Module>> { Ok(Box::new(nnlab_nn::spec::build(&spec, d)?.0) as Box<dyn Module>) };
    let x = nnlab_tests::uniform(&[32, 32, 1], 5);
    let batches: Batches = vec![(x, vec![32, 32, 1], (0..32).map(|i| (i % 4) as f32).collect())];
    replay_matches_eager("S4D", &build, &batches, 4);
    let device = Device::Gpu(context());
    let model = build(&device).unwrap();
    let mut opt = adam(model.as_ref()).unwrap();
    let (x, shape, y) = &batches[0];
    let (x, y) = (Tensor::from_vec(x.clone(), shape, &device).unwrap(), Tensor::from_vec(y.clone(), &[y.len()], &device).unwrap());
    let (_, plan) = StepPlan::record(model.as_ref(), &mut opt, &[&x, &y], &cross_entropy).unwrap();
    let updates = plan.unwrap().kernels().iter().filter(|k| **k == "adam_main").count();
    let params = model.parameters().len();
    assert!(updates > 1 && updates < params, "{updates} update dispatches for {params} parameters");
}

/// Two plans of different batch sizes take turns, each starting from the
/// state the other left as views of its arenas (recording copies it into
/// buffers of its own first), and end where eager steps do.
#[test]
fn plans_take_turns_with_the_state_in_each_others_arenas() {
    let ctx = context();
    let device = Device::Gpu(ctx);
    let (build, batches) = workload_batches("W1");
    let (planned, eager) = (build(&device).unwrap(), build(&device).unwrap());
    let (mut opt, mut eager_opt) = (adam(planned.as_ref()).unwrap(), adam(eager.as_ref()).unwrap());
    let (xv, _, yv) = &batches[0];
    let upload = |n: usize| (Tensor::from_vec(xv[..2 * n].to_vec(), &[n, 2], &device).unwrap(), Tensor::from_vec(yv[..n].to_vec(), &[n], &device).unwrap());
    // Batch size, and whether that size's plan is recorded at this step: the
    // half-size plan is recorded from the state the full-size replay left.
    let mut plans: Vec<(usize, StepPlan)> = Vec::new();
    for n in [32, 32, 16, 32, 16, 16] {
        let (x, y) = upload(n);
        eager_opt.step(&cross_entropy(eager.as_ref(), &[&x, &y]).unwrap().backward().unwrap()).unwrap();
        match plans.iter().find(|(size, _)| *size == n) {
            Some((_, plan)) => plan.replay(planned.as_ref(), &mut opt, &[StepInput::Device(&x), StepInput::Device(&y)]).unwrap(),
            None => {
                let (_, plan) = StepPlan::record(planned.as_ref(), &mut opt, &[&x, &y], &cross_entropy).unwrap();
                plans.push((n, plan.unwrap()));
            }
        }
    }
    for (i, (a, b)) in values(planned.as_ref()).iter().zip(values(eager.as_ref())).enumerate() {
        assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "value {i}: plans {a}, eager {b}");
    }
}
