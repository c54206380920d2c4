//! A model built from a spec, trained a little and saved, loads into the
//! generated PyTorch module and gives the same outputs there.
//!
//! With PyTorch at hand (`NNLAB_TORCH_PYTHON`, or the venv at
//! /work/.venv-torch), the test runs the generated module in Python. Without
//! it, the committed fixtures in tests/fixtures/export hold weights, an input
//! and the output PyTorch computed for them: loading those weights here must
//! reproduce that output. `NNLAB_REGENERATE_EXPORT=1` (with PyTorch) rewrites
//! the fixtures.
//!
//! Tolerance: 1e-4 absolute + 1e-3 relative (f32 on both sides; S4D uses an
//! FFT convolution in PyTorch and a direct one here).

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;

use nnlab_core::{Device, Tensor};
use nnlab_nn::Module;
use nnlab_nn::spec::{ModelSpec, SpecTrainer, build, pytorch, state_dict};
use nnlab_nn::weights::{load_params, read_safetensors, to_safetensors};
use nnlab_tests::{mismatch, torch_python};

/// Every layer type not already in a preset, in one model.
const KITCHEN_SINK: &str = r#"{
  "name": "kitchen-sink", "seed": 9, "input": [12],
  "layers": [
    { "type": "embedding", "num": 20, "dim": 8 },
    { "type": "positional_encoding", "kind": "learned", "maxLen": 12 },
    { "type": "layer_norm" },
    { "type": "attention", "heads": 2, "causal": true },
    { "type": "rnn", "hidden": 6, "layers": 2, "bidirectional": true, "nonlinearity": "relu" },
    { "type": "transformer_encoder", "heads": 3, "ff": 16, "causal": true },
    { "type": "activation", "fn": "leaky_relu", "slope": 0.2 },
    { "type": "tail", "steps": 4 },
    { "type": "flatten" },
    { "type": "batch_norm" },
    { "type": "linear", "out": 5 }
  ]
}"#;

const CONV_SINK: &str = r#"{
  "name": "conv-sink", "seed": 10, "input": [3, 9, 10],
  "layers": [
    { "type": "conv2d", "out": 6, "kernel": [3, 2], "stride": [2, 1], "padding": [1, 0], "dilation": [1, 2], "groups": 3 },
    { "type": "avg_pool2d", "kernel": 2, "stride": 1, "padding": 1 },
    { "type": "activation", "fn": "silu" },
    { "type": "conv_bn", "out": 6, "kernel": 3, "padding": "same", "groups": 6, "activation": "gelu_tanh" },
    { "type": "residual", "body": [{ "type": "conv2d", "out": 4, "kernel": 1 }], "shortcut": [{ "type": "conv2d", "out": 4, "kernel": 1, "bias": false }] },
    { "type": "flatten" },
    { "type": "dropout", "p": 0.3 },
    { "type": "linear", "out": 3 },
    { "type": "activation", "fn": "softmax" }
  ]
}"#;

const CONV1D_SINK: &str = r#"{
  "name": "conv1d-sink", "seed": 11, "input": [2, 17],
  "layers": [
    { "type": "conv1d", "out": 4, "kernel": 4, "padding": "same", "dilation": 2 },
    { "type": "batch_norm", "affine": false },
    { "type": "avg_pool1d", "kernel": 3, "stride": 2, "padding": 1 },
    { "type": "activation", "fn": "sigmoid" },
    { "type": "conv1d", "out": 2, "kernel": 3, "stride": 2 },
    { "type": "flatten" },
    { "type": "linear", "out": 2 }
  ]
}"#;

const TOL: (f32, f32) = (1e-4, 1e-3);

fn specs() -> Vec<ModelSpec> {
    let mut out: Vec<ModelSpec> = nnlab_tests::preset_files().iter().map(|(_, json)| ModelSpec::from_json(json).unwrap()).collect();
    out.extend([KITCHEN_SINK, CONV_SINK, CONV1D_SINK].iter().map(|j| ModelSpec::from_json(j).unwrap()));
    out.extend(nnlab_tests::option_specs().iter().map(|(_, json)| ModelSpec::from_json(json).unwrap()));
    out
}

/// A seeded input batch: token ids for an embedding, uniform values otherwise.
fn input_for(spec: &ModelSpec) -> Tensor {
    let shape: Vec<usize> = std::iter::once(2).chain(spec.input.iter().copied()).collect();
    let n: usize = shape.iter().product();
    let u = nnlab_core::random::sample(n, nnlab_core::random::RandomKind::Uniform { low: 0.0, high: 1.0 }, spec.seed, 77);
    let values = match spec.layers.first() {
        Some(nnlab_nn::spec::LayerSpec::Embedding { num, .. }) => u.iter().map(|v| (v * *num as f32).floor()).collect(),
        _ => u,
    };
    Tensor::from_vec(values, &shape, &Device::Cpu).unwrap()
}

/// The model after a few optimizer steps (on its dataset when the spec has
/// one, else on random targets), in evaluation mode.
fn trained_model(spec: &ModelSpec) -> Box<dyn Module> {
    if spec.data.is_some() {
        let mut t = pollster::block_on(SpecTrainer::new(spec, Device::Cpu)).unwrap();
        t.train(5).unwrap();
        t.model.set_training(false);
        return Box::new(t.model);
    }
    let (model, _) = build(spec, &Device::Cpu).unwrap();
    let x = input_for(spec);
    for _ in 0..3 {
        let loss = model.forward(&x).unwrap().square().unwrap().mean_all().unwrap();
        let grads = loss.backward().unwrap();
        let _g = nnlab_core::no_grad();
        for (_, p) in model.parameters() {
            if let Some(g) = grads.get(&p.get()) {
                p.set(p.get().sub(&g.mul_scalar(0.05).unwrap()).unwrap());
            }
        }
    }
    model.set_training(false);
    Box::new(model)
}

const RUNNER: &str = r#"
import importlib.util, sys
import torch
from safetensors.torch import load_file, save_file
spec = importlib.util.spec_from_file_location("exported", sys.argv[1])
module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)
model = module.Model()
model.load_state_dict(load_file(sys.argv[2]))
model.eval()
io = load_file(sys.argv[3])
with torch.no_grad():
    y = model(io["input"])
save_file({"output": y.contiguous()}, sys.argv[4])
"#;

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(format!("{}/fixtures/export/{name}.safetensors", env!("CARGO_MANIFEST_DIR")))
}

fn values(t: &Tensor) -> Vec<f32> {
    pollster::block_on(t.to_vec()).unwrap()
}

#[test]
fn exported_models_match_pytorch() {
    let python = torch_python();
    let regenerate = std::env::var("NNLAB_REGENERATE_EXPORT").is_ok();
    for spec in specs() {
        let name = spec.name.clone();
        if let Some(python) = python.as_deref() {
            let model = trained_model(&spec);
            let x = input_for(&spec);
            let y = model.forward(&x).unwrap();
            let dir = std::env::temp_dir().join(format!("nnlab-export-{}-{name}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let weights = state_dict(model.as_ref());
            std::fs::write(dir.join("model.py"), pytorch::module_source(&spec).unwrap()).unwrap();
            std::fs::write(dir.join("weights.safetensors"), pollster::block_on(to_safetensors(&weights, None)).unwrap()).unwrap();
            std::fs::write(dir.join("io.safetensors"), pollster::block_on(to_safetensors(&[("input".into(), x.clone())], None)).unwrap()).unwrap();
            std::fs::write(dir.join("run.py"), RUNNER).unwrap();
            let out = Command::new(python)
                .arg(dir.join("run.py"))
                .arg(dir.join("model.py"))
                .arg(dir.join("weights.safetensors"))
                .arg(dir.join("io.safetensors"))
                .arg(dir.join("out.safetensors"))
                .output()
                .unwrap();
            assert!(out.status.success(), "{name}: PyTorch failed:\n{}", String::from_utf8_lossy(&out.stderr));
            let (torch_out, _) = read_safetensors(&std::fs::read(dir.join("out.safetensors")).unwrap()).unwrap();
            let torch_y = &torch_out["output"];
            assert_eq!(torch_y.shape, y.shape(), "{name}: output shape");
            if let Some((i, a, b)) = mismatch(&values(&y), &torch_y.values, TOL.0, TOL.1) {
                panic!("{name}: output[{i}] nnlab {a} vs PyTorch {b}");
            }
            if regenerate {
                let mut named: Vec<(String, Tensor)> = weights.iter().map(|(n, t)| (format!("w.{n}"), t.clone())).collect();
                named.push(("input".into(), x));
                named.push(("torch_output".into(), torch_y.to_tensor(&Device::Cpu).unwrap()));
                std::fs::create_dir_all(fixture_path(&name).parent().unwrap()).unwrap();
                std::fs::write(fixture_path(&name), pollster::block_on(to_safetensors(&named, None)).unwrap()).unwrap();
            }
            let _ = std::fs::remove_dir_all(&dir);
        }
        // The fixture path, which CI takes: PyTorch's weights and output.
        let bytes = std::fs::read(fixture_path(&name)).unwrap_or_else(|e| panic!("{name}: no export fixture ({e}); regenerate with NNLAB_REGENERATE_EXPORT=1"));
        let (stored, _) = read_safetensors(&bytes).unwrap();
        let weights: HashMap<_, _> = stored.iter().filter_map(|(k, v)| k.strip_prefix("w.").map(|n| (n.to_string(), v.clone()))).collect();
        let (model, _) = build(&spec, &Device::Cpu).unwrap();
        load_params(&model.parameters(), &weights, "").unwrap();
        for (n, b) in model.buffers() {
            b.set(weights[&n].to_tensor(&Device::Cpu).unwrap());
        }
        assert_eq!(weights.len(), model.parameters().len() + model.buffers().len(), "{name}: every tensor in the file is used");
        model.set_training(false);
        let y = model.forward(&stored["input"].to_tensor(&Device::Cpu).unwrap()).unwrap();
        if let Some((i, a, b)) = mismatch(&values(&y), &stored["torch_output"].values, TOL.0, TOL.1) {
            panic!("{name}: output[{i}] nnlab {a} vs PyTorch {b} (fixture)");
        }
    }
}
