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

/// Points drawn on the plane join the training split; taken-out ones leave it;
/// a point outside the plane or with a class other than 0 or 1 is refused by path.
#[test]
fn hand_edited_points_change_the_training_split() {
    let spec = preset("playground-xor");
    let base = trainer(&spec).data().train.len();
    let mut json = serde_json::to_value(&spec).unwrap();
    json["data"]["points"] = serde_json::json!([[0.5, 0.5, 1.0], [-0.5, 0.25, 0.0]]);
    json["data"]["removed"] = serde_json::json!([0, 3, 4]);
    let edited = trainer(&ModelSpec::from_json(&json.to_string()).unwrap());
    let train = &edited.data().train;
    assert_eq!(train.len(), base - 3 + 2);
    assert_eq!(&train.x[train.x.len() - 4..], &[0.5, 0.5, -0.5, 0.25]);
    assert_eq!(&train.y[train.y.len() - 2..], &[1.0, 0.0]);
    for (points, path) in [(serde_json::json!([[2.0, 0.0, 1.0]]), "data.points[0]"), (serde_json::json!([[0.0, 0.0, 1.0], [0.0, 0.0, 0.5]]), "data.points[1]")]
    {
        json["data"]["points"] = points;
        let spec = ModelSpec::from_json(&json.to_string()).unwrap();
        let err = pollster::block_on(SpecTrainer::new(&spec, Device::Cpu)).err().unwrap().to_string();
        assert!(err.starts_with(&format!("invalid {path}:")), "{err}");
    }
}

fn table_spec(csv: &str, label: &str, task: &str, classes: usize) -> ModelSpec {
    let features = csv.lines().next().unwrap().split(',').count() - 1;
    let json = serde_json::json!({
        "name": "table", "input": [features],
        "layers": [{"type": "linear", "out": 16}, {"type": "activation", "fn": "relu"}, {"type": "linear", "out": classes}],
        "data": {"name": "table", "csv": csv, "label": label, "task": task, "trainRatio": 0.75},
        "optimizer": {"name": "adam", "lr": 0.03}, "training": {"batchSize": 16, "steps": 300}
    });
    ModelSpec::from_json(&json.to_string()).unwrap()
}

/// A CSV table trains (classes named by strings, features standardised), and
/// every kind of bad upload is refused with the row and column it is in.
#[test]
fn uploaded_tables_train_and_bad_ones_are_explained() {
    let mut csv = String::from("width,height,kind\n");
    for i in 0..200 {
        let (w, h) = ((i * 37 % 100) as f32, (i * 61 % 100) as f32 * 10.0);
        csv += &format!("{w},{h},{}\n", if w * 10.0 > h { "wide" } else { "tall" });
    }
    let mut t = trainer(&table_spec(&csv, "kind", "classification", 2));
    let x = &t.data().train.x;
    let mean = x.iter().step_by(2).sum::<f32>() / (x.len() / 2) as f32;
    assert!(mean.abs() < 1e-3, "standardised features (mean {mean})");
    t.train_to_end().unwrap();
    let acc = pollster::block_on(t.metrics()).unwrap().test_accuracy.unwrap();
    assert!(acc >= 0.9, "table test accuracy {acc}");

    let cases = [
        (csv.clone(), "kind", "ok"),
        (csv.replacen("37,", "abc,", 1), "kind", "\"abc\" is not a number"),
        (csv.replacen("\n0,0,tall", "\n,0,tall", 1), "kind", "the value is missing"),
        (csv.replacen("\n0,0,tall", "\n0,0", 1), "kind", "row 2 has 2 cells"),
        (csv.clone(), "colour", "no column \"colour\""),
        ("a,b\n1,2\n".to_string(), "b", "only 1 rows"),
        ("x".repeat(2 << 20), "kind", "the limit is 1048576"),
    ];
    for (text, label, expected) in cases {
        let spec = table_spec(&text, label, "classification", 2);
        match pollster::block_on(SpecTrainer::new(&spec, Device::Cpu)) {
            Ok(_) => assert_eq!(expected, "ok", "{expected}: accepted"),
            Err(e) => assert!(e.to_string().contains(expected), "{e} (expected {expected})"),
        }
    }
    let regression = table_spec(&csv, "kind", "regression", 1);
    let err = pollster::block_on(SpecTrainer::new(&regression, Device::Cpu)).err().unwrap().to_string();
    assert!(err.contains("is not a number to regress"), "{err}");
    let preview = nnlab_nn::data::table::preview(&csv).unwrap();
    assert_eq!((preview.columns.len(), preview.count, preview.numeric.clone()), (3, 200, vec![true, true, false]));
}
