//! Training tools beyond the optimizers: pruning masks (ERK densities,
//! magnitude) that stay applied while training, freezing by name pattern,
//! annealed gradient noise, and bit-exact safetensors round trips.

use nnlab_core::{Device, Tensor};
use nnlab_nn::pruning::{erk_densities, Pruner};
use nnlab_nn::spec::{build, state_dict, ModelSpec, SpecTrainer};
use nnlab_nn::weights::{read_safetensors, to_safetensors};
use nnlab_nn::{gradients, Module, Param};

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
    let zeros = |t: &SpecTrainer| -> usize { t.model.parameters().iter().filter(|(_, p)| p.get().rank() >= 2).map(|(_, p)| values(&p.get()).iter().filter(|v| **v == 0.0).count()).sum() };
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
        let bad = ModelSpec { training: Some(nnlab_nn::spec::TrainingSpec { train_random: Some(count), train_only, ..spec.training.clone().unwrap() }), ..spec.clone() };
        let err = pollster::block_on(SpecTrainer::new(&bad, CPU)).err().unwrap().to_string();
        assert!(err.contains("training.trainRandom"), "{count}: {err}");
    }
}
