//! The spec trainer learns the playground presets (MLPs on the 2D sets) on the
//! CPU, rejects bad settings by path, reports divergence, and moves a run
//! between trainers with its weights, optimizer state and batch order.

use nnlab_core::Device;
use nnlab_nn::spec::{ModelSpec, SpecTrainer};

fn preset(name: &str) -> ModelSpec {
    let path = format!("{}/../../models/{name}.json", env!("CARGO_MANIFEST_DIR"));
    ModelSpec::from_json(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn trainer(spec: &ModelSpec) -> SpecTrainer {
    pollster::block_on(SpecTrainer::new(spec, Device::Cpu)).unwrap()
}

/// The playground's default (spiral, noise 0.1, two tanh layers of 8, Adam
/// 0.03, batch 32) passes 95% test accuracy well within the preset's steps.
#[test]
fn spiral_with_two_tanh_layers_of_eight_reaches_95_percent() {
    let spec = preset("playground-spiral");
    let mut t = trainer(&spec);
    let mut best = 0.0f32;
    while t.steps_done() < spec.training.as_ref().unwrap().steps as u64 && best < 0.95 {
        t.train(500).unwrap();
        best = best.max(pollster::block_on(t.metrics()).unwrap().test_accuracy.unwrap());
    }
    assert!(best >= 0.95, "spiral test accuracy {best} after {} steps", t.steps_done());
}

#[test]
fn easy_sets_are_learned_within_their_presets_steps() {
    for name in ["playground-circle", "playground-xor", "playground-gauss"] {
        let mut t = trainer(&preset(name));
        t.train_to_end().unwrap();
        let acc = pollster::block_on(t.metrics()).unwrap().test_accuracy.unwrap();
        assert!(acc >= 0.9, "{name}: test accuracy {acc}");
    }
}

#[test]
fn regression_loss_falls() {
    for name in ["playground-reg-plane", "playground-reg-gauss"] {
        let mut t = trainer(&preset(name));
        let before = pollster::block_on(t.metrics()).unwrap().test_loss;
        t.train_to_end().unwrap();
        let after = pollster::block_on(t.metrics()).unwrap();
        assert!(after.test_accuracy.is_none());
        assert!(after.test_loss < before * 0.5, "{name}: {before} -> {}", after.test_loss);
    }
}

#[test]
fn invalid_settings_are_errors_that_name_their_path() {
    let spec = preset("playground-spiral");
    let cases: [(&str, &str, serde_json::Value); 7] = [
        ("training.batchSize", "/training/batchSize", 0.into()),
        ("training.batchSize", "/training/batchSize", 100_000.into()),
        ("optimizer.lr", "/optimizer/lr", (-0.1).into()),
        ("layers[0].out", "/layers/0/out", 0.into()),
        ("layers[0].out", "/layers/0/out", 100_000.into()),
        ("data.noise", "/data/noise", 3.into()),
        ("data.trainRatio", "/data/trainRatio", 1.into()),
    ];
    for (path, pointer, value) in cases {
        let mut json = serde_json::to_value(&spec).unwrap();
        *json.pointer_mut(pointer).unwrap() = value;
        let edited = ModelSpec::from_json(&json.to_string()).unwrap();
        let err = pollster::block_on(SpecTrainer::new(&edited, Device::Cpu)).err().unwrap_or_else(|| panic!("{path} accepted")).to_string();
        assert!(err.starts_with(&format!("invalid {path}:")), "{err}");
    }
    let unknown = spec.to_json().replace("\"spiral\"", "\"moons\"");
    let err = ModelSpec::from_json(&unknown).unwrap_err().to_string();
    assert!(err.starts_with("invalid data.set:") || err.starts_with("invalid data:"), "{err}");
}

#[test]
fn divergence_is_reported_not_hidden() {
    let mut json = serde_json::to_value(preset("playground-reg-plane")).unwrap();
    json["optimizer"] = serde_json::json!({"name": "sgd", "lr": 10.0, "momentum": 0.99});
    let mut t = trainer(&ModelSpec::from_json(&json.to_string()).unwrap());
    t.train(300).unwrap();
    let err = pollster::block_on(t.metrics()).unwrap_err();
    assert!(err.to_string().contains("NaN or infinite"), "{err}");
}

/// A run moved to a new trainer (another backend, a reload) continues with
/// exactly the losses it would have had: weights, moments, step count and
/// the batch order all travel.
#[test]
fn a_moved_run_continues_bit_exactly() {
    let spec = preset("playground-spiral");
    let mut a = trainer(&spec);
    a.train(37).unwrap();
    let state = pollster::block_on(a.export_state()).unwrap();
    let mut b = pollster::block_on(a.to_device(Device::Cpu)).unwrap();
    a.train(50).unwrap();
    b.train(50).unwrap();
    let (ma, mb) = (pollster::block_on(a.metrics()).unwrap(), pollster::block_on(b.metrics()).unwrap());
    assert_eq!(mb.step, 87);
    assert_eq!(ma.train_loss.to_bits(), mb.train_loss.to_bits(), "{} vs {}", ma.train_loss, mb.train_loss);

    // A state that does not fit is refused and changes nothing.
    let mut c = trainer(&spec);
    let before = pollster::block_on(c.export_state()).unwrap();
    let mut bad = state.clone();
    bad.tensors[0].values[0] = f32::NAN;
    assert!(c.import_state(&bad).unwrap_err().to_string().contains("NaN"));
    let mut bad = state.clone();
    bad.tensors[1].shape = vec![3];
    assert!(c.import_state(&bad).is_err());
    let mut bad = state;
    bad.tensors.pop();
    assert!(c.import_state(&bad).is_err());
    assert_eq!(pollster::block_on(c.export_state()).unwrap(), before);
}
