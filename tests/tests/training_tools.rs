//! Training tools beyond the optimizers: pruning masks (ERK densities,
//! magnitude) that stay applied while training, freezing by name pattern,
//! annealed gradient noise, and bit-exact safetensors round trips.

use nnlab_core::{Device, Tensor};
use nnlab_nn::pruning::{Gradual, Pruner, erk_densities};
use nnlab_nn::spec::{ModelSpec, SpecTrainer, build, state_dict};
use nnlab_nn::weights::{read_safetensors, to_safetensors};
use nnlab_nn::{Module, Param, gradients};

const CPU: Device = Device::Cpu;

fn values(t: &Tensor) -> Vec<f32> {
    pollster::block_on(t.to_vec()).unwrap()
}

fn preset(name: &str) -> ModelSpec {
    ModelSpec::from_json(&std::fs::read_to_string(format!("{}/../models/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()).unwrap()
}

#[test]
fn erk_gives_small_layers_more_density_and_meets_the_budget() {
    let shapes = vec![vec![16, 1, 3, 3], vec![32, 16, 3, 3], vec![10, 512]];
    let d = erk_densities(&shapes, 0.2);
    let numel: Vec<f32> = shapes.iter().map(|s| s.iter().product::<usize>() as f32).collect();
    let kept: f32 = d.iter().zip(&numel).map(|(d, n)| d * n).sum();
    assert!((kept / numel.iter().sum::<f32>() - 0.2).abs() < 1e-3, "overall density {d:?}");
    assert!(d[0] > d[1], "the small first layer is denser: {d:?}");
    assert!(d.iter().all(|&x| (0.0..=1.0).contains(&x)));
    // A budget only reachable by keeping a layer dense.
    let d = erk_densities(&[vec![2, 2], vec![100, 100]], 0.5);
    assert_eq!(d[0], 1.0);
}

#[test]
fn pruning_masks_stay_applied_while_training() {
    let mut spec = preset("digits-cnn.json");
    let training = spec.training.as_mut().unwrap();
    training.steps = 20;
    training.prune = Some(nnlab_nn::spec::PruneSpec::RandomErk { density: 0.3 });
    let mut t = pollster::block_on(SpecTrainer::new(&spec, CPU)).unwrap();
    let zeros = |t: &SpecTrainer| -> usize {
        t.model.parameters().iter().filter(|(_, p)| p.get().rank() >= 2).map(|(_, p)| values(&p.get()).iter().filter(|v| **v == 0.0).count()).sum()
    };
    let total: usize = t.model.parameters().iter().filter(|(_, p)| p.get().rank() >= 2).map(|(_, p)| p.get().numel()).sum();
    let before = zeros(&t);
    assert!((before as f32 / total as f32 - 0.7).abs() < 0.02, "{before} of {total} pruned");
    t.train_to_end().unwrap();
    assert!(zeros(&t) >= before, "pruned weights stay zero");
}

#[test]
fn magnitude_pruning_keeps_the_largest_weights() {
    let w = Param::new(Tensor::from_vec(vec![0.1, -3.0, 0.5, 2.0, -0.2, 1.0], &[2, 3], &CPU).unwrap());
    let p = pollster::block_on(Pruner::magnitude(&[("w".into(), w.clone())], 0.5)).unwrap();
    assert_eq!(values(&w.get()), vec![0.0, -3.0, 0.0, 2.0, 0.0, 1.0]);
    assert_eq!(p.density(), 0.5);
}

#[test]
fn training_only_batchnorm_affine_parameters_leaves_the_rest() {
    // digits-cnn's BatchNorm layers are layers 1 and 5; everything else is frozen.
    let mut spec = preset("digits-cnn.json");
    let training = spec.training.as_mut().unwrap();
    training.steps = 10;
    training.train_only = vec!["1.*".into(), "5.*".into()];
    let mut t = pollster::block_on(SpecTrainer::new(&spec, CPU)).unwrap();
    let snapshot = |t: &SpecTrainer| -> Vec<(String, Vec<f32>)> { t.model.parameters().iter().map(|(n, p)| (n.clone(), values(&p.get()))).collect() };
    let before = snapshot(&t);
    t.train_to_end().unwrap();
    for ((name, b), (_, a)) in before.iter().zip(snapshot(&t)) {
        let trained = name.starts_with("1.") || name.starts_with("5.");
        assert_eq!(b != &a, trained, "{name}: trained = {trained}");
    }
    let bad = ModelSpec { training: Some(nnlab_nn::spec::TrainingSpec { train_only: vec!["nothing*".into()], ..spec.training.clone().unwrap() }), ..spec };
    let err = pollster::block_on(SpecTrainer::new(&bad, CPU)).err().unwrap().to_string();
    assert!(err.contains("training.trainOnly"), "{err}");
}

#[test]
fn gradient_noise_is_added_and_anneals() {
    let p = Param::new(Tensor::zeros(&[2000], &CPU).unwrap());
    let spread = |step: u32| -> f32 {
        let mut g = p.get().sum_all().unwrap().backward().unwrap(); // gradient of ones
        gradients::add_gradient_noise(std::slice::from_ref(&p), &mut g, 1.0, step, 3).unwrap();
        let v = values(g.get(&p.get()).unwrap());
        let mean = v.iter().sum::<f32>() / v.len() as f32;
        assert!((mean - 1.0).abs() < 0.1, "noise has zero mean");
        (v.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / v.len() as f32).sqrt()
    };
    let (early, late) = (spread(0), spread(1000));
    assert!((early - 1.0).abs() < 0.1, "sigma at step 0 is sqrt(eta) = 1, got {early}");
    let expected = (1.0 / 1001f32.powf(0.55)).sqrt();
    assert!((late - expected).abs() < 0.1 * expected, "sigma anneals to {expected}, got {late}");
}

#[test]
fn safetensors_round_trips_are_bit_exact() {
    let spec = preset("digits-mobilenet.json");
    let (model, _) = build(&spec, &CPU).unwrap();
    model.forward(&Tensor::rand_uniform(&[4, 1, 8, 8], 0.0, 1.0, 3, 0, &CPU).unwrap()).unwrap(); // move BN statistics
    let saved = state_dict(&model);
    let bytes = pollster::block_on(to_safetensors(&saved, None)).unwrap();
    let (loaded, _) = read_safetensors(&bytes).unwrap();
    assert_eq!(loaded.len(), saved.len());
    for (name, t) in &saved {
        let bits: Vec<u32> = values(t).iter().map(|v| v.to_bits()).collect();
        let back: Vec<u32> = loaded[name].values.iter().map(|v| v.to_bits()).collect();
        assert_eq!(bits, back, "{name}");
        assert_eq!(loaded[name].shape, t.shape(), "{name}");
    }
    // Loading into a fresh model reproduces its outputs exactly.
    let (fresh, _) = build(&ModelSpec { seed: 99, ..spec }, &CPU).unwrap();
    nnlab_nn::weights::load_params(&fresh.parameters(), &loaded, "").unwrap();
    for (n, b) in fresh.buffers() {
        b.set(loaded[&n].to_tensor(&CPU).unwrap());
    }
    model.set_training(false);
    fresh.set_training(false);
    let x = Tensor::rand_uniform(&[2, 1, 8, 8], 0.0, 1.0, 4, 0, &CPU).unwrap();
    assert_eq!(values(&model.forward(&x).unwrap()), values(&fresh.forward(&x).unwrap()));
    // A file with the wrong shapes is refused by name.
    let (other, _) = build(&preset("digits-cnn.json"), &CPU).unwrap();
    let err = nnlab_nn::weights::load_params(&other.parameters(), &loaded, "").unwrap_err().to_string();
    assert!(err.contains("invalid weights."), "{err}");
}

#[test]
fn train_random_trains_exactly_that_many_entries_and_keeps_the_rest() {
    let mut spec = preset("digits-cnn.json");
    let training = spec.training.as_mut().unwrap();
    training.steps = 10;
    training.train_random = Some(96);
    let mut t = pollster::block_on(SpecTrainer::new(&spec, CPU)).unwrap();
    let flat = |t: &SpecTrainer| -> Vec<f32> { t.model.parameters().iter().flat_map(|(_, p)| values(&p.get())).collect() };
    let before = flat(&t);
    t.train_to_end().unwrap();
    let changed = before.iter().zip(flat(&t)).filter(|(b, a)| **b != *a).count();
    // An entry chosen may, rarely, end where it started; none outside changes.
    assert!((90..=96).contains(&changed), "{changed} entries changed");
    for (count, train_only) in [(0, vec![]), (1_000_000, vec![]), (200, vec!["1.*".to_string()])] {
        let bad = ModelSpec {
            training: Some(nnlab_nn::spec::TrainingSpec { train_random: Some(count), train_only, ..spec.training.clone().unwrap() }),
            ..spec.clone()
        };
        let err = pollster::block_on(SpecTrainer::new(&bad, CPU)).err().unwrap().to_string();
        assert!(err.contains("training.trainRandom"), "{count}: {err}");
    }
}

#[test]
fn gradual_pruning_follows_its_schedule_by_magnitude() {
    // The schedule: dense until `start`, the cubic ramp, `density` from `end` on.
    let g = Gradual { density: 0.2, start: 10, end: 30, every: 5 };
    assert_eq!((g.target(9), g.target(10), g.target(12), g.target(31)), (None, Some(1.0), None, None));
    assert!((g.target(20).unwrap() - 0.3).abs() < 1e-6 && (g.target(30).unwrap() - 0.2).abs() < 1e-6);
    assert!((g.in_force(23) - 0.3).abs() < 1e-6 && g.in_force(5) == 1.0 && (g.in_force(99) - 0.2).abs() < 1e-6);

    // The largest magnitudes are kept, found on the device without a sort.
    let w = Param::new(Tensor::from_vec(vec![0.1, -3.0, 0.5, 2.0, -0.2, 1.0], &[2, 3], &CPU).unwrap());
    let mut p = Pruner::gradual(&[("w".into(), w.clone())], Gradual { density: 0.5, start: 1, end: 1, every: 1 }).unwrap();
    assert_eq!(values(&w.get()), vec![0.1, -3.0, 0.5, 2.0, -0.2, 1.0], "dense before the schedule starts");
    p.after_step(1).unwrap();
    assert_eq!(values(&w.get()), vec![0.0, -3.0, 0.0, 2.0, 0.0, 1.0]);

    // In a run: each weight tensor ends with exactly its share of non-zeros,
    // and a run restored mid-schedule keeps its pruned weights at zero.
    let mut spec = preset("digits-cnn.json");
    let training = spec.training.as_mut().unwrap();
    training.steps = 30;
    training.prune = Some(nnlab_nn::spec::PruneSpec::Gradual { density: 0.2, start: 10, end: 30, every: 5 });
    let mut t = pollster::block_on(SpecTrainer::new(&spec, CPU)).unwrap();
    let nonzero = |t: &SpecTrainer| -> Vec<(usize, usize)> {
        t.model
            .parameters()
            .iter()
            .filter(|(_, p)| p.get().rank() >= 2)
            .map(|(_, p)| (values(&p.get()).iter().filter(|v| **v != 0.0).count(), p.get().numel()))
            .collect()
    };
    t.train(9).unwrap();
    assert!(nonzero(&t).iter().all(|(k, n)| k == n), "dense before step 10");
    t.train(11).unwrap();
    for (k, n) in nonzero(&t) {
        assert_eq!(k, (0.3 * n as f32).round() as usize, "density 0.3 after step 20");
    }
    let state = pollster::block_on(t.export_state()).unwrap();
    let mut resumed = pollster::block_on(SpecTrainer::new(&spec, CPU)).unwrap();
    resumed.import_state(&state).unwrap();
    resumed.train(2).unwrap();
    assert!(nonzero(&resumed).iter().all(|(k, n)| *k <= (0.3 * *n as f32).round() as usize), "the restored masks hold");
    t.train_to_end().unwrap();
    for (k, n) in nonzero(&t) {
        assert_eq!(k, (0.2 * n as f32).round() as usize, "density 0.2 at the end");
    }
}

#[test]
fn sigma_w_sets_the_weight_scale_and_zero_biases() {
    use nnlab_nn::spec::LayerSpec;
    let mut spec = preset("playground-circle.json");
    spec.layers[0] = LayerSpec::Linear { out: 256, bias: true, sigma_w: Some(2.0) };
    let (model, _) = build(&spec, &CPU).unwrap();
    let params = model.parameters();
    let w = values(&params[0].1.get());
    let fan_in = spec.input.iter().product::<usize>() as f32;
    let std = (w.iter().map(|v| v * v).sum::<f32>() / w.len() as f32).sqrt();
    assert!(w.len() == 256 * fan_in as usize && (std / (2.0 / fan_in.sqrt()) - 1.0).abs() < 0.1, "std {std} over {} weights", w.len());
    assert!(values(&params[1].1.get()).iter().all(|b| *b == 0.0), "zero biases");
    spec.layers[0] = LayerSpec::Linear { out: 256, bias: true, sigma_w: Some(-1.0) };
    let err = nnlab_nn::spec::infer(&spec).err().unwrap().to_string();
    assert!(err.contains("sigmaW"), "{err}");
}

#[test]
fn a_fixed_subset_needs_a_ratio() {
    let mut spec = preset("digits-cnn.json");
    spec.training.as_mut().unwrap().subset_fixed = true;
    let err = nnlab_nn::spec::limits::check(&spec).err().unwrap().to_string();
    assert!(err.contains("training.subsetFixed"), "{err}");
}

#[test]
fn the_bias_loss_trains_on_feature_maps_and_needs_them() {
    use nnlab_nn::spec::LossSpec;
    let bias = Some(LossSpec::BiasLoss { alpha: 0.3, beta: 0.3 });
    let mut spec = preset("digits-cnn.json");
    spec.loss = bias.clone();
    let mut t = pollster::block_on(SpecTrainer::new(&spec, CPU)).unwrap();
    let before = pollster::block_on(t.metrics()).unwrap();
    t.train(20).unwrap();
    let after = pollster::block_on(t.metrics()).unwrap();
    assert!(after.train_loss.is_finite() && after.train_loss < before.train_loss, "{} -> {}", before.train_loss, after.train_loss);
    // The same steps with cross-entropy end elsewhere: the weights differ.
    spec.loss = Some(LossSpec::default_for(true));
    let mut plain = pollster::block_on(SpecTrainer::new(&spec, CPU)).unwrap();
    plain.train(20).unwrap();
    assert_ne!(pollster::block_on(plain.metrics()).unwrap().train_loss, after.train_loss);
    // An MLP has no feature maps to weigh.
    let mut mlp = preset("playground-circle.json");
    mlp.loss = bias;
    let err = pollster::block_on(SpecTrainer::new(&mlp, CPU)).err().unwrap().to_string();
    assert!(err.contains("loss") && err.contains("feature maps"), "{err}");
}
