//! A spec's loss and optimizer, with their PyTorch arguments, do the same in
//! nnlab and in the exported train.py (its `loss_fn` and `optimizer_for`,
//! given them as training.json holds them): the same loss values, the same
//! parameters after three steps.
//!
//! With PyTorch at hand (`NNLAB_TORCH_PYTHON`, or the venv at
//! /work/.venv-torch), the test runs train.py. Without it, the committed
//! tests/fixtures/export/options.safetensors holds what PyTorch computed;
//! `NNLAB_REGENERATE_EXPORT=1` (with PyTorch) rewrites it.

use std::path::PathBuf;
use std::process::Command;

use nnlab_core::{Device, Tensor};
use nnlab_nn::data::Target;
use nnlab_nn::spec::{LossSpec, loss_of};
use nnlab_nn::weights::{read_safetensors, to_safetensors};
use nnlab_nn::{Optimizer, OptimizerConfig, Param};
use nnlab_tests::{mismatch, torch_python};

/// (name, the loss as a spec writes it, classes for a classification loss)
const CASES: [(&str, &str, Option<usize>); 6] = [
    ("ce_options", r#"{ "name": "cross_entropy", "labelSmoothing": 0.1, "ignoreIndex": 2, "weight": [0.5, 1, 2, 1.5], "reduction": "sum" }"#, Some(4)),
    ("ce_weighted_mean", r#"{ "name": "cross_entropy", "ignoreIndex": 0, "weight": [3, 1, 0.25, 2] }"#, Some(4)),
    ("bce_pos_weight", r#"{ "name": "bce_with_logits", "posWeight": [0.5, 2, 3], "reduction": "sum" }"#, None),
    ("bce_one_pos_weight", r#"{ "name": "bce_with_logits", "posWeight": [4] }"#, None),
    ("huber_sum", r#"{ "name": "huber", "delta": 0.5, "reduction": "sum" }"#, None),
    ("mse_sum", r#"{ "name": "mse", "reduction": "sum" }"#, None),
];

/// (name, the optimizer as a spec writes it)
const OPTIMIZERS: [(&str, &str); 5] = [
    ("sgd_dampening", r#"{ "name": "sgd", "lr": 0.1, "momentum": 0.9, "dampening": 0.4, "weightDecay": 0.01 }"#),
    ("sgd_nesterov_maximize", r#"{ "name": "sgd", "lr": 0.1, "momentum": 0.8, "nesterov": true, "maximize": true }"#),
    ("adam_amsgrad", r#"{ "name": "adam", "lr": 0.01, "beta2": 0.5, "amsgrad": true, "weightDecay": 0.01 }"#),
    ("adamw_amsgrad_maximize", r#"{ "name": "adamw", "lr": 0.01, "beta2": 0.5, "amsgrad": true, "maximize": true }"#),
    ("rmsprop_centered", r#"{ "name": "rmsprop", "lr": 0.01, "alpha": 0.8, "momentum": 0.5, "centered": true, "maximize": true }"#),
];

const RUNNER: &str = r#"
import importlib.util, json, sys
import torch
from safetensors.torch import load_file, save_file
spec = importlib.util.spec_from_file_location("train", sys.argv[1])
train = importlib.util.module_from_spec(spec); spec.loader.exec_module(train)
io = load_file(sys.argv[3])
cases = json.load(open(sys.argv[2]))
out = {}
for case in cases["losses"]:
    loss = train.loss_fn(case["loss"], case["classes"], {})
    out[case["name"]] = loss(io[case["name"] + ".out"], io[case["name"] + ".y"]).detach().reshape([1])
for case in cases["optimizers"]:
    p = torch.nn.Parameter(io["p"].clone())
    opt = train.optimizer_for(case["optimizer"], [p])
    for t in range(3):
        p.grad = io["g%d" % t].clone()
        opt.step()
    out[case["name"]] = p.detach().clone()
save_file(out, sys.argv[4])
"#;

/// The parameter the optimizers start from and the gradients of their three steps.
fn optimizer_io() -> Vec<(String, Tensor)> {
    let wave = |k: f32, scale: f32| Tensor::from_vec((0..7).map(|i| ((i as f32 + 1.0) * k).sin() * scale).collect(), &[7], &Device::Cpu).unwrap();
    vec![("p".into(), wave(0.3, 1.0)), ("g0".into(), wave(1.1, 3.0)), ("g1".into(), wave(0.7, 1.0)), ("g2".into(), wave(2.3, 0.1))]
}

/// The parameter after three steps of `config` in nnlab.
fn after_three_steps(config: OptimizerConfig, io: &[(String, Tensor)]) -> Vec<f32> {
    let p = Param::new(io[0].1.clone());
    let mut opt = Optimizer::new(config, vec![p.clone()]).unwrap();
    for (_, g) in &io[1..] {
        opt.step(&p.get().mul(g).unwrap().sum_all().unwrap().backward().unwrap()).unwrap();
    }
    pollster::block_on(p.get().to_vec()).unwrap()
}

/// The model's output and the targets of one case, the same on both sides.
fn batch(name: &str, classes: Option<usize>) -> (Tensor, Tensor) {
    let wave = |n: usize, k: f32| (0..n).map(|i| ((i as f32 + 1.0) * k).sin() * 2.0).collect::<Vec<f32>>();
    let cpu = Device::Cpu;
    match classes {
        Some(c) => {
            let out = Tensor::from_vec(wave(8 * c, 0.7), &[8, c], &cpu).unwrap();
            let y = Tensor::from_vec((0..8).map(|i| ((i * 5 + 1) % c) as f32).collect(), &[8], &cpu).unwrap();
            (out, y)
        }
        None if name.starts_with("bce") => {
            let out = Tensor::from_vec(wave(18, 0.9), &[6, 3], &cpu).unwrap();
            let y = Tensor::from_vec((0..18).map(|i| ((i * 7) % 3 == 0) as u8 as f32).collect(), &[6, 3], &cpu).unwrap();
            (out, y)
        }
        None => (Tensor::from_vec(wave(18, 0.9), &[6, 3], &cpu).unwrap(), Tensor::from_vec(wave(18, 0.4), &[6, 3], &cpu).unwrap()),
    }
}

fn fixture_path() -> PathBuf {
    PathBuf::from(format!("{}/fixtures/export/options.safetensors", env!("CARGO_MANIFEST_DIR")))
}

#[test]
fn spec_losses_and_optimizers_match_the_exported_training_script() {
    let mut ours = Vec::new();
    let mut io = Vec::new();
    for (name, json, classes) in CASES {
        let loss: LossSpec = serde_json::from_str(json).unwrap();
        let (out, y) = batch(name, classes);
        let target = classes.map_or(Target::Regression, Target::Classes);
        let value = pollster::block_on(loss_of(&loss, target, &out, &y).unwrap().to_vec()).unwrap()[0];
        ours.push((name, vec![value]));
        io.push((format!("{name}.out"), out));
        io.push((format!("{name}.y"), y));
    }
    let steps_io = optimizer_io();
    for (name, json) in OPTIMIZERS {
        ours.push((name, after_three_steps(serde_json::from_str(json).unwrap(), &steps_io)));
    }
    io.extend(steps_io);
    let torch_values: Vec<(String, Tensor)> = match torch_python() {
        Some(python) => {
            let dir = std::env::temp_dir().join(format!("nnlab-losses-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let train_py = PathBuf::from(format!("{}/../crates/nn/src/spec/train.py", env!("CARGO_MANIFEST_DIR")));
            std::fs::copy(&train_py, dir.join("train.py")).unwrap();
            // train.py imports the exported module; its losses and optimizers do not need it.
            std::fs::write(dir.join("model.py"), "class Model:\n    pass\n").unwrap();
            let value = |json: &str| serde_json::from_str::<serde_json::Value>(json).unwrap();
            let losses: Vec<_> =
                CASES.iter().map(|(name, json, classes)| serde_json::json!({ "name": name, "loss": value(json), "classes": classes })).collect();
            let optimizers: Vec<_> = OPTIMIZERS.iter().map(|(name, json)| serde_json::json!({ "name": name, "optimizer": value(json) })).collect();
            let cases = serde_json::json!({ "losses": losses, "optimizers": optimizers });
            std::fs::write(dir.join("cases.json"), serde_json::to_string(&cases).unwrap()).unwrap();
            std::fs::write(dir.join("io.safetensors"), pollster::block_on(to_safetensors(&io, None)).unwrap()).unwrap();
            std::fs::write(dir.join("run.py"), RUNNER).unwrap();
            let out = Command::new(&python).current_dir(&dir).args(["run.py", "train.py", "cases.json", "io.safetensors", "out.safetensors"]).output().unwrap();
            assert!(out.status.success(), "PyTorch failed:\n{}", String::from_utf8_lossy(&out.stderr));
            let (values, _) = read_safetensors(&std::fs::read(dir.join("out.safetensors")).unwrap()).unwrap();
            let _ = std::fs::remove_dir_all(&dir);
            let values: Vec<(String, Tensor)> = values.iter().map(|(k, v)| (k.clone(), v.to_tensor(&Device::Cpu).unwrap())).collect();
            if std::env::var("NNLAB_REGENERATE_EXPORT").is_ok() {
                std::fs::write(fixture_path(), pollster::block_on(to_safetensors(&values, None)).unwrap()).unwrap();
            }
            values
        }
        None => {
            let bytes = std::fs::read(fixture_path()).unwrap_or_else(|e| panic!("no loss fixture ({e}); regenerate with NNLAB_REGENERATE_EXPORT=1"));
            read_safetensors(&bytes).unwrap().0.iter().map(|(k, v)| (k.clone(), v.to_tensor(&Device::Cpu).unwrap())).collect()
        }
    };
    for (name, values) in ours {
        let theirs = torch_values.iter().find(|(k, _)| k == name).unwrap_or_else(|| panic!("{name}: no PyTorch value"));
        let theirs = pollster::block_on(theirs.1.to_vec()).unwrap();
        if let Some((i, a, b)) = mismatch(&values, &theirs, 1e-5, 1e-5) {
            panic!("{name}[{i}]: nnlab {a} vs PyTorch {b}");
        }
        eprintln!("{name}: nnlab {:?} PyTorch {:?}", &values[..values.len().min(3)], &theirs[..theirs.len().min(3)]);
    }
}
