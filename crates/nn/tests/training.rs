//! The trainer learns the playground datasets on the CPU, and rejects bad settings by name.

use nnlab_core::Device;
use nnlab_nn::{Trainer, TrainerConfig};

fn train_to_accuracy(config: &TrainerConfig, steps: usize) -> f32 {
    let mut t = Trainer::new(config, Device::Cpu).unwrap();
    t.train(steps).unwrap();
    let m = pollster::block_on(t.metrics()).unwrap();
    m.test_accuracy.unwrap()
}

/// The playground's default setup (spiral, noise 0.1, 2 hidden tanh layers of
/// 8, Adam lr 0.03, batch 32) passes 95% test accuracy within 3,500-7,500 steps
/// for seeds 1-6; 12,000 leaves headroom.
#[test]
fn spiral_with_two_tanh_layers_of_eight_reaches_95_percent() {
    let mut t = Trainer::new(&TrainerConfig::default(), Device::Cpu).unwrap();
    let mut best = 0.0f32;
    for _ in 0..24 {
        t.train(500).unwrap();
        best = best.max(pollster::block_on(t.metrics()).unwrap().test_accuracy.unwrap());
        if best >= 0.95 {
            break;
        }
    }
    assert!(best >= 0.95, "spiral test accuracy {best} after {} steps", t.steps_done());
}

#[test]
fn easy_datasets_are_learned_quickly() {
    for dataset in ["circle", "xor", "gauss"] {
        let config = TrainerConfig { dataset: dataset.into(), ..Default::default() };
        let acc = train_to_accuracy(&config, 600);
        assert!(acc >= 0.9, "{dataset}: test accuracy {acc}");
    }
}

#[test]
fn regression_loss_falls() {
    for dataset in ["reg-plane", "reg-gauss"] {
        let config = TrainerConfig { dataset: dataset.into(), optimizer: "sgd".into(), learning_rate: 0.05, ..Default::default() };
        let mut t = Trainer::new(&config, Device::Cpu).unwrap();
        let before = pollster::block_on(t.metrics()).unwrap().test_loss;
        t.train(800).unwrap();
        let after = pollster::block_on(t.metrics()).unwrap();
        assert!(after.test_accuracy.is_none());
        assert!(after.test_loss < before * 0.5, "{dataset}: {before} -> {}", after.test_loss);
    }
}

#[test]
fn invalid_settings_are_named_errors() {
    let cases: [(&str, TrainerConfig); 6] = [
        ("batchSize", TrainerConfig { batch_size: 0.0, ..Default::default() }),
        ("learningRate", TrainerConfig { learning_rate: f64::NAN, ..Default::default() }),
        ("learningRate", TrainerConfig { learning_rate: -0.1, ..Default::default() }),
        ("hidden[1]", TrainerConfig { hidden: vec![8.0, 0.0], ..Default::default() }),
        ("dataset", TrainerConfig { dataset: "moons".into(), ..Default::default() }),
        ("activation", TrainerConfig { activation: "swish".into(), ..Default::default() }),
    ];
    for (path, config) in cases {
        let err = Trainer::new(&config, Device::Cpu).err().unwrap_or_else(|| panic!("{path} accepted")).to_string();
        assert!(err.starts_with(&format!("invalid {path}:")), "{err}");
    }
    assert!(TrainerConfig::from_json("{\"batchSize\": \"ten\"}").is_err());
}

#[test]
fn divergence_is_reported_not_hidden() {
    let config = TrainerConfig { dataset: "reg-plane".into(), optimizer: "sgd".into(), learning_rate: 10.0, momentum: 0.99, ..Default::default() };
    let mut t = Trainer::new(&config, Device::Cpu).unwrap();
    t.train(300).unwrap();
    let err = pollster::block_on(t.metrics()).unwrap_err();
    assert!(err.to_string().contains("NaN or infinite"), "{err}");
}
