//! Every layer, loss and optimizer against PyTorch 2.15 reference fixtures
//! (tests/fixtures/torch, written by tests/fixtures/generate_torch.py).
//!
//! Both sides compute in f32; they differ only in summation order and in
//! transcendental implementations. Forward outputs must agree within
//! 1e-5 absolute + 1e-4 relative, gradients (which accumulate over whole
//! batches and sequences) within 1e-4 absolute + 1e-3 relative.

use std::collections::HashMap;

use nnlab_core::{Device, GradStore, PadMode, Pool2dParams, Result, Tensor};
use nnlab_nn::layers::*;
use nnlab_nn::loss::Reduction;
use nnlab_nn::weights::{StoredTensor, read_safetensors};
use nnlab_nn::{Activation, Linear, Module, Optimizer, OptimizerConfig, Param, activation, gradients, loss};
use nnlab_tests::mismatch;
use serde_json::Value;

const FORWARD: (f32, f32) = (1e-5, 1e-4);
const GRADIENT: (f32, f32) = (1e-4, 1e-3);

struct Fixture {
    name: String,
    config: Value,
    tensors: HashMap<String, StoredTensor>,
}

impl Fixture {
    fn load(name: &str) -> Fixture {
        let path = format!("{}/fixtures/torch/{name}.safetensors", env!("CARGO_MANIFEST_DIR"));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let (tensors, meta) = read_safetensors(&bytes).unwrap();
        let config = serde_json::from_str(&meta["config"]).unwrap();
        Fixture { name: name.into(), config, tensors }
    }

    fn tensor(&self, key: &str) -> Tensor {
        self.tensors.get(key).unwrap_or_else(|| panic!("{}: no tensor {key}", self.name)).to_tensor(&Device::Cpu).unwrap()
    }

    fn list(&self, key: &str) -> Vec<String> {
        self.config[key].as_array().map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect()).unwrap_or_default()
    }

    fn arg(&self, key: &str) -> &Value {
        &self.config["args"][key]
    }

    fn usize(&self, key: &str) -> usize {
        self.arg(key).as_u64().unwrap_or_else(|| panic!("{}: args.{key}", self.name)) as usize
    }

    /// A 2-element spatial argument given as a number or a list.
    fn pair(&self, key: &str, default: usize) -> [usize; 2] {
        match self.arg(key) {
            Value::Number(n) => [n.as_u64().unwrap() as usize; 2],
            Value::Array(a) => [a[0].as_u64().unwrap() as usize, a[1].as_u64().unwrap() as usize],
            _ => [default; 2],
        }
    }

    fn expect(&self, what: &str, got: &Tensor, tol: (f32, f32)) {
        let want = &self.tensors.get(what).unwrap_or_else(|| panic!("{}: no tensor {what}", self.name));
        assert_eq!(got.shape(), want.shape.as_slice(), "{}: shape of {what}", self.name);
        let got = pollster::block_on(got.to_vec()).unwrap();
        if let Some((i, a, b)) = mismatch(&got, &want.values, tol.0, tol.1) {
            panic!("{}: {what}[{i}] = {a}, PyTorch {b}", self.name);
        }
    }

    /// Loads the fixture's weights, runs `forward` on its inputs, and checks
    /// outputs and the gradients of sum(output * r) for inputs and parameters.
    fn check(&self, params: Vec<(String, Param)>, forward: impl Fn(&[Tensor]) -> Result<Vec<Tensor>>) {
        for (name, p) in &params {
            p.set(self.tensor(&format!("param.{name}")));
        }
        let grads_listed = self.list("grads");
        let inputs: Vec<Tensor> = self
            .list("inputs")
            .iter()
            .map(|n| {
                let t = self.tensor(n);
                if grads_listed.contains(&format!("grad.{n}")) { t.requires_grad_() } else { t }
            })
            .collect();
        let outputs = forward(&inputs).unwrap_or_else(|e| panic!("{}: forward failed: {e}", self.name));
        let mut total = Tensor::scalar(0.0, &Device::Cpu).unwrap();
        for (name, out) in self.list("outputs").iter().zip(&outputs) {
            self.expect(name, out, FORWARD);
            total = total.add(&out.mul(&self.tensor(&format!("r.{name}"))).unwrap().sum_all().unwrap()).unwrap();
        }
        let grads = total.backward().unwrap();
        for (name, t) in self.list("inputs").iter().zip(&inputs) {
            if grads_listed.contains(&format!("grad.{name}")) {
                self.expect(&format!("grad.{name}"), grads.get(t).unwrap(), GRADIENT);
            }
        }
        for (name, p) in &params {
            self.expect(&format!("grad.param.{name}"), grads.get(&p.get()).unwrap_or_else(|| panic!("{}: no gradient for {name}", self.name)), GRADIENT);
        }
    }
}

fn single(f: impl Fn(&Tensor) -> Result<Tensor>) -> impl Fn(&[Tensor]) -> Result<Vec<Tensor>> {
    move |x| Ok(vec![f(&x[0])?])
}

const CPU: Device = Device::Cpu;

type UnaryCase = Box<dyn Fn(&Tensor) -> Result<Tensor>>;
type LossCase = fn(&[Tensor]) -> Result<Tensor>;

#[test]
fn linear_and_convolutions() {
    let fx = Fixture::load("linear");
    let m = Linear::new(5, 3, true, nnlab_nn::init::Init::TorchDefault, 0, 0, &CPU).unwrap();
    fx.check(m.parameters(), single(|x| m.forward(x)));

    let fx = Fixture::load("conv1d");
    let m = Conv1d::new(3, 4, 3, 2, 1, 1, 1, true, 0, 0, &CPU).unwrap();
    fx.check(m.parameters(), single(|x| m.forward(x)));

    for case in ["conv2d", "conv2d_same", "conv2d_depthwise"] {
        let fx = Fixture::load(case);
        let padding = if fx.arg("padding") == "same" { Padding::Same } else { Padding::Explicit(fx.pair("padding", 0)) };
        let bias = fx.arg("bias").as_bool().unwrap_or(true);
        let groups = fx.arg("groups").as_u64().unwrap_or(1) as usize;
        let m = Conv2d::new(
            fx.usize("in_channels"),
            fx.usize("out_channels"),
            fx.pair("kernel_size", 1),
            fx.pair("stride", 1),
            padding,
            fx.pair("dilation", 1),
            groups,
            bias,
            0,
            0,
            &CPU,
        )
        .unwrap();
        fx.check(m.parameters(), single(|x| m.forward(x)));
    }
}

#[test]
fn pooling() {
    for (case, kind) in [("maxpool2d", PoolKind::Max), ("avgpool2d", PoolKind::Avg)] {
        let fx = Fixture::load(case);
        let k = fx.pair("kernel_size", 1);
        let m = Pool::new2d(kind, k, Some(fx.pair("stride", k[0])), fx.pair("padding", 0));
        fx.check(vec![], single(|x| m.forward(x)));
    }
    for (case, kind) in [("maxpool1d", PoolKind::Max), ("avgpool1d", PoolKind::Avg)] {
        let fx = Fixture::load(case);
        let k = fx.usize("kernel_size");
        let m = Pool::new1d(kind, k, fx.arg("stride").as_u64().map(|s| s as usize), 0);
        fx.check(vec![], single(|x| m.forward(x)));
    }
    let fx = Fixture::load("global_avgpool2d");
    fx.check(vec![], single(|x| GlobalAvgPool2d.forward(x)));
}

#[test]
fn pooling_options() {
    let cases = [
        "maxpool2d_ceil_dilation",
        "avgpool2d_ceil_padding_not_counted",
        "avgpool2d_ceil_padding_counted",
        "maxpool1d_dilation_ceil",
        "avgpool1d_padding_not_counted",
        "adaptive_avgpool2d",
        "adaptive_maxpool2d",
        "adaptive_avgpool1d_larger",
        "adaptive_maxpool1d",
    ];
    for case in cases {
        let fx = Fixture::load(case);
        let module = fx.config["module"].as_str().unwrap();
        let kind = if module.contains("Max") { PoolKind::Max } else { PoolKind::Avg };
        let dims = if module.ends_with("1d") { 1 } else { 2 };
        // 1D arguments as the 2D ones of a [1, length] window.
        let axes =
            |key: &str, default: usize| if dims == 1 { [if key == "stride" { 1 } else { default }, fx.pair(key, default)[1]] } else { fx.pair(key, default) };
        let m: Box<dyn Module> = if module.starts_with("Adaptive") {
            Box::new(AdaptivePool { kind, dims, output: if dims == 1 { [1, fx.usize("output_size")] } else { fx.pair("output_size", 1) } })
        } else {
            let kernel = axes("kernel_size", 1);
            let stride = if fx.arg("stride").is_null() { kernel } else { axes("stride", 1) };
            let params = Pool2dParams {
                dilation: axes("dilation", 1),
                ceil_mode: fx.arg("ceil_mode").as_bool().unwrap_or(false),
                count_include_pad: fx.arg("count_include_pad").as_bool().unwrap_or(true),
                ..Pool2dParams::new(kernel, stride, axes("padding", 0))
            };
            Box::new(Pool { kind, dims, params })
        };
        fx.check(vec![], single(|x| m.forward(x)));
    }
}

#[test]
fn max_pooling_indices() {
    let fx = Fixture::load("maxpool2d_indices");
    let m = Pool { kind: PoolKind::Max, dims: 2, params: Pool2dParams::new([3, 3], [2, 2], [1, 1]) };
    fx.check(vec![], |x| {
        let (out, indices) = m.forward_with_indices(&x[0])?;
        Ok(vec![out, indices])
    });
    let fx = Fixture::load("maxpool1d_indices");
    let params = Pool2dParams { dilation: [1, 2], ceil_mode: true, ..Pool2dParams::new([1, 2], [1, 2], [0, 0]) };
    let m = Pool { kind: PoolKind::Max, dims: 1, params };
    fx.check(vec![], |x| {
        let (out, indices) = m.forward_with_indices(&x[0])?;
        Ok(vec![out, indices])
    });
}

#[test]
fn padding_modes_and_log_softmax() {
    let mode_of = |name: &str| match name {
        "reflect" | "ReflectionPad" => PadMode::Reflect,
        "replicate" | "ReplicationPad" => PadMode::Replicate,
        "circular" | "CircularPad" => PadMode::Circular,
        _ => PadMode::Constant(0.0),
    };
    for case in ["pad_constant2d", "pad_reflect2d", "pad_replicate1d", "pad_circular2d"] {
        let fx = Fixture::load(case);
        let module = fx.config["module"].as_str().unwrap();
        let sides: Vec<usize> = fx.arg("padding").as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
        // torch lists (left, right) of the last axis first.
        let pads = sides.chunks(2).rev().map(|p| (p[0], p[1])).collect();
        let mode = match mode_of(&module[..module.len() - 2]) {
            PadMode::Constant(_) => PadMode::Constant(fx.arg("value").as_f64().unwrap() as f32),
            m => m,
        };
        let m = Pad { pads, mode };
        fx.check(vec![], single(|x| m.forward(x)));
    }
    for case in ["conv2d_padding_reflect", "conv2d_padding_replicate_same"] {
        let fx = Fixture::load(case);
        let padding = if fx.arg("padding") == "same" { Padding::Same } else { Padding::Explicit(fx.pair("padding", 0)) };
        let mut m =
            Conv2d::new(fx.usize("in_channels"), fx.usize("out_channels"), fx.pair("kernel_size", 1), [1, 1], padding, [1, 1], 1, true, 0, 0, &CPU).unwrap();
        m.padding_mode = mode_of(fx.arg("padding_mode").as_str().unwrap());
        fx.check(m.parameters(), single(|x| m.forward(x)));
    }
    let fx = Fixture::load("conv1d_padding_circular_same");
    let mut m = Conv1d::new(2, 3, 4, 1, 0, 1, 1, true, 0, 0, &CPU).unwrap().same().unwrap();
    m.padding_mode = PadMode::Circular;
    fx.check(m.parameters(), single(|x| m.forward(x)));
    let fx = Fixture::load("act_log_softmax");
    fx.check(vec![], single(|x| Activation::LogSoftmax.apply(x)));
}

#[test]
fn embedding() {
    let fx = Fixture::load("embedding");
    let m = Embedding::new(10, 4, 0, 0, &CPU).unwrap();
    fx.check(m.parameters(), single(|x| m.forward(x)));
}

#[test]
fn embedding_options() {
    for case in ["embedding_padding_idx", "embedding_padding_idx_negative", "embedding_max_norm"] {
        let fx = Fixture::load(case);
        let m = Embedding::with(10, 4, fx.arg("padding_idx").as_i64(), fx.arg("max_norm").as_f64().map(|v| v as f32), 0, 0, &CPU).unwrap();
        fx.check(m.parameters(), single(|x| m.forward(x)));
    }
    // A new padding row starts at zero.
    let m = Embedding::with(10, 4, Some(-3), None, 0, 0, &CPU).unwrap();
    assert_eq!(pollster::block_on(m.weight.get().narrow(0, 7, 1).unwrap().to_vec()).unwrap(), vec![0.0; 4]);
}

#[test]
fn normalisation() {
    for case in ["batchnorm1d_train", "batchnorm1d_eval", "batchnorm2d_train", "batchnorm2d_noaffine"] {
        let fx = Fixture::load(case);
        let m = BatchNorm::new(fx.usize("num_features"), fx.arg("affine").as_bool().unwrap_or(true), &CPU).unwrap();
        for (name, b) in m.buffers() {
            b.set(fx.tensor(&format!("param.{name}")));
        }
        m.set_training(fx.config["mode"] == "train");
        fx.check(m.parameters(), single(|x| m.forward(x)));
        if fx.config["mode"] == "train" {
            for (name, b) in m.buffers() {
                fx.expect(&format!("after.{name}"), &b.get(), FORWARD);
            }
        }
    }
    let fx = Fixture::load("layernorm");
    let m = LayerNorm::new(6, &CPU).unwrap();
    fx.check(m.parameters(), single(|x| m.forward(x)));
}

#[test]
fn normalisation_options() {
    for case in ["layernorm_shape", "layernorm_no_affine", "layernorm_no_bias"] {
        let fx = Fixture::load(case);
        let shape: Vec<usize> = match fx.arg("normalized_shape") {
            Value::Array(a) => a.iter().map(|v| v.as_u64().unwrap() as usize).collect(),
            v => vec![v.as_u64().unwrap() as usize],
        };
        let flag = |key: &str| fx.arg(key).as_bool().unwrap_or(true);
        let m = LayerNorm::with(&shape, flag("elementwise_affine"), flag("bias"), &CPU).unwrap();
        fx.check(m.parameters(), single(|x| m.forward(x)));
    }
    for case in ["batchnorm_cumulative", "batchnorm_untracked_eval"] {
        let fx = Fixture::load(case);
        let mut m = BatchNorm::new(fx.usize("num_features"), true, &CPU).unwrap();
        m.momentum = fx.arg("momentum").as_f64().map(|v| v as f32);
        m.track_running_stats = fx.arg("track_running_stats").as_bool().unwrap_or(true);
        for (name, b) in m.buffers() {
            b.set(fx.tensor(&format!("param.{name}")));
        }
        m.set_training(fx.config["mode"] == "train");
        fx.check(m.parameters(), single(|x| m.forward(x)));
        for name in fx.list("after") {
            let (_, b) = m.buffers().into_iter().find(|(n, _)| format!("after.{n}") == name).unwrap();
            fx.expect(&name, &b.get(), FORWARD);
        }
    }
}

#[test]
fn activations() {
    let cases: [(&str, UnaryCase); 8] = [
        ("act_relu6", Box::new(|x| Activation::Relu6.apply(x))),
        ("act_leaky_relu", Box::new(|x| activation::leaky_relu(x, 0.1))),
        ("act_gelu", Box::new(|x| Activation::Gelu.apply(x))),
        ("act_gelu_tanh", Box::new(|x| Activation::GeluTanh.apply(x))),
        ("act_silu", Box::new(|x| Activation::Silu.apply(x))),
        ("act_tanh", Box::new(|x| Activation::Tanh.apply(x))),
        ("act_sigmoid", Box::new(|x| Activation::Sigmoid.apply(x))),
        ("act_softmax", Box::new(|x| Activation::Softmax.apply(x))),
    ];
    for (case, f) in cases {
        Fixture::load(case).check(vec![], single(f));
    }
}

#[test]
fn recurrent_layers() {
    for case in ["rnn_tanh", "rnn_relu", "gru", "lstm", "lstm_bidirectional"] {
        let fx = Fixture::load(case);
        let kind = match (fx.config["module"].as_str().unwrap(), fx.arg("nonlinearity").as_str()) {
            ("RNN", Some("relu")) => RecurrentKind::RnnRelu,
            ("RNN", _) => RecurrentKind::RnnTanh,
            ("GRU", _) => RecurrentKind::Gru,
            _ => RecurrentKind::Lstm,
        };
        let m = Recurrent::new(
            kind,
            fx.usize("input_size"),
            fx.usize("hidden_size"),
            fx.usize("num_layers"),
            fx.arg("bidirectional").as_bool().unwrap(),
            fx.arg("batch_first").as_bool().unwrap(),
            0,
            0,
            &CPU,
        )
        .unwrap();
        fx.check(m.parameters(), |x| {
            let out = m.run(&x[0])?;
            // The last-step mode gives the output's last time step, computed without stacking.
            let time_axis = if m.batch_first { 1 } else { 0 };
            let steps = out.output.shape()[time_axis];
            let last = out.output.narrow(time_axis, steps - 1, 1)?.reshape(m.last_output(&x[0])?.shape())?;
            assert_eq!(pollster::block_on(last.to_vec())?, pollster::block_on(m.last_output(&x[0])?.to_vec())?, "{case}: last step");
            Ok([Some(out.output), Some(out.h_n), out.c_n].into_iter().flatten().collect())
        });
    }
}

#[test]
fn attention_and_transformer() {
    let fx = Fixture::load("mha");
    let m = MultiheadAttention::new(8, 2, 0, 0, &CPU).unwrap();
    fx.check(m.parameters(), |x| {
        let out = m.attend(&x[0], &x[0], &x[0], None, None)?;
        let weights = out.weights()?;
        Ok(vec![out.output, weights])
    });
    let fx = Fixture::load("mha_masked");
    fx.check(m.parameters(), |x| {
        let out = m.attend(&x[0], &x[0], &x[0], Some(&x[1]), Some(&x[2]))?;
        let weights = out.weights()?;
        Ok(vec![out.output, weights])
    });
    let fx = Fixture::load("mha_cross");
    fx.check(m.parameters(), |x| {
        let out = m.attend(&x[0], &x[1], &x[1], None, None)?;
        let weights = out.weights()?;
        Ok(vec![out.output, weights])
    });
    for case in ["transformer_post", "transformer_pre"] {
        let fx = Fixture::load(case);
        let act = if fx.arg("activation") == "gelu" { Activation::Gelu } else { Activation::Relu };
        let m = TransformerEncoderLayer::new(8, 2, 16, 0.0, act, fx.arg("norm_first").as_bool().unwrap(), 0, 0, &CPU).unwrap();
        fx.check(m.parameters(), single(|x| m.forward(x)));
    }
}

#[test]
fn recurrent_options() {
    let cases = ["rnn_no_bias_h0", "gru_h0_bidirectional", "gru_no_bias", "lstm_proj_h0_c0", "lstm_proj_bidirectional_no_bias", "lstm_dropout_eval"];
    for case in cases {
        let fx = Fixture::load(case);
        let kind = match (fx.config["module"].as_str().unwrap(), fx.arg("nonlinearity").as_str()) {
            ("RNN", Some("relu")) => RecurrentKind::RnnRelu,
            ("RNN", _) => RecurrentKind::RnnTanh,
            ("GRU", _) => RecurrentKind::Gru,
            _ => RecurrentKind::Lstm,
        };
        let options = RecurrentOptions {
            bias: fx.arg("bias").as_bool().unwrap_or(true),
            dropout: fx.arg("dropout").as_f64().unwrap_or(0.0) as f32,
            proj_size: fx.arg("proj_size").as_u64().unwrap_or(0) as usize,
        };
        let bidirectional = fx.arg("bidirectional").as_bool().unwrap_or(false);
        let m =
            Recurrent::with(kind, fx.usize("input_size"), fx.usize("hidden_size"), fx.usize("num_layers"), bidirectional, true, options, 0, 0, &CPU).unwrap();
        m.set_training(fx.config["mode"] == "train");
        fx.check(m.parameters(), |x| {
            let out = m.run_from(&x[0], x.get(1), x.get(2))?;
            Ok([Some(out.output), Some(out.h_n), out.c_n].into_iter().flatten().collect())
        });
    }
    // Dropout between layers acts in training only, with a fresh mask each run.
    let options = RecurrentOptions { dropout: 0.5, ..RecurrentOptions::default() };
    let m = Recurrent::with(RecurrentKind::Lstm, 3, 5, 2, false, true, options, 0, 0, &CPU).unwrap();
    let x = Tensor::from_vec((0..24).map(|i| (i as f32 * 0.37).sin()).collect(), &[2, 4, 3], &CPU).unwrap();
    let output = |training: bool| {
        m.set_training(training);
        pollster::block_on(m.run(&x).unwrap().output.to_vec()).unwrap()
    };
    let (eval, eval_again, train, train_again) = (output(false), output(false), output(true), output(true));
    assert_eq!(eval, eval_again, "no dropout in evaluation");
    assert!(train != eval && train != train_again, "dropout in training, a new mask each time");
}

#[test]
fn attention_options() {
    for case in ["mha_kdim_vdim", "mha_no_bias_time_first", "mha_bias_kv_zero_attn", "mha_zero_attn_per_head"] {
        let fx = Fixture::load(case);
        let flag = |key: &str| fx.arg(key).as_bool().unwrap_or(false);
        let dim = |key: &str| fx.arg(key).as_u64().map(|v| v as usize);
        let options = AttentionOptions {
            bias: flag("bias"),
            add_bias_kv: flag("add_bias_kv"),
            add_zero_attn: flag("add_zero_attn"),
            kdim: dim("kdim"),
            vdim: dim("vdim"),
            batch_first: flag("batch_first"),
        };
        let m = MultiheadAttention::with(8, 2, options, 0, 0, &CPU).unwrap();
        let average = fx.config["forward_kwargs"]["average_attn_weights"].as_bool().unwrap();
        fx.check(m.parameters(), |x| {
            let out = m.attend(&x[0], &x[1], &x[2], x.get(3), x.get(4))?;
            let weights = if average { out.weights()? } else { out.head_weights };
            Ok(vec![out.output, weights])
        });
    }
}

#[test]
fn losses() {
    let plain: [(&str, LossCase); 5] = [
        ("loss_cross_entropy", |x| loss::cross_entropy(&x[0], &x[1], 0.1)),
        ("loss_cross_entropy_plain", |x| loss::cross_entropy(&x[0], &x[1], 0.0)),
        ("loss_bce_logits", |x| loss::bce_with_logits(&x[0], &x[1], None, Reduction::Mean)),
        ("loss_mse", |x| loss::mse(&x[0], &x[1], Reduction::Mean)),
        ("loss_huber", |x| loss::huber(&x[0], &x[1], 1.0, Reduction::Mean)),
    ];
    for (case, f) in plain {
        Fixture::load(case).check(vec![], move |x| Ok(vec![f(x)?]));
    }
    Fixture::load("loss_gaussian_nll").check(vec![], |x| Ok(vec![loss::gaussian_nll(&x[0], &x[1], &x[2], false, 1e-6, Reduction::Mean)?]));
    let fx = Fixture::load("loss_bar_distribution");
    let borders = pollster::block_on(fx.tensor("borders").to_vec()).unwrap();
    let buckets = loss::buckets(&borders, &pollster::block_on(fx.tensor("target").to_vec()).unwrap());
    assert_eq!(buckets, fx.tensors["aux.bucket"].values);
    fx.check(vec![], |x| Ok(vec![pollster::block_on(loss::bar_distribution_nll(&x[0], &x[1], &borders))?]));
    Fixture::load("loss_bias").check(vec![], |x| Ok(vec![loss::bias_loss(&x[0], &x[1], &x[2], 0.3, 0.3)?]));
}

#[test]
fn loss_options() {
    let cases = [
        "loss_ce_ignore_index",
        "loss_ce_ignore_class",
        "loss_ce_weight",
        "loss_ce_weight_sum",
        "loss_ce_none",
        "loss_ce_soft",
        "loss_ce_soft_none",
        "loss_bce_pos_weight",
        "loss_bce_pos_weight_sum",
        "loss_bce_none",
        "loss_mse_sum",
        "loss_mse_none",
        "loss_huber_sum",
        "loss_huber_none",
        "loss_gaussian_nll_full",
        "loss_gaussian_nll_sum",
        "loss_gaussian_nll_none",
    ];
    for case in cases {
        let fx = Fixture::load(case);
        let reduction = match fx.arg("reduction").as_str() {
            Some("sum") => Reduction::Sum,
            Some("none") => Reduction::None,
            _ => Reduction::Mean,
        };
        let number = |key: &str| fx.arg(key).as_f64().map(|v| v as f32);
        let names = fx.list("inputs");
        let named = |x: &[Tensor], name: &str| names.iter().position(|n| n == name).map(|k| x[k].clone());
        fx.check(vec![], |x| {
            let out = match fx.config["loss"].as_str().unwrap() {
                "cross_entropy" => {
                    let options = loss::CrossEntropyOptions {
                        weight: named(x, "weight"),
                        ignore_index: fx.arg("ignore_index").as_i64(),
                        label_smoothing: number("label_smoothing").unwrap(),
                        reduction,
                    };
                    loss::cross_entropy_with(&x[0], &x[1], &options)?
                }
                "binary_cross_entropy_with_logits" => loss::bce_with_logits(&x[0], &x[1], named(x, "pos_weight").as_ref(), reduction)?,
                "mse_loss" => loss::mse(&x[0], &x[1], reduction)?,
                "huber_loss" => loss::huber(&x[0], &x[1], number("delta").unwrap(), reduction)?,
                "gaussian_nll_loss" => {
                    let var = named(x, "var").unwrap();
                    loss::gaussian_nll(&x[0], &x[1], &var, fx.arg("full").as_bool().unwrap(), number("eps").unwrap(), reduction)?
                }
                other => panic!("{case}: unknown loss {other}"),
            };
            Ok(vec![out])
        });
    }
}

/// A GradStore holding exactly `g` for `p` (the gradient of sum(p * g)).
fn grads_of(p: &Param, g: &Tensor) -> GradStore {
    p.get().mul(g).unwrap().sum_all().unwrap().backward().unwrap()
}

#[test]
fn optimizers_follow_torch_for_three_steps() {
    let f32_of = |v: &Value| v.as_f64().unwrap() as f32;
    let cases = [
        "optim_sgd_momentum",
        "optim_sgd_nesterov",
        "optim_adam",
        "optim_adamw",
        "optim_rmsprop",
        "optim_rmsprop_momentum",
        "optim_sgd_dampening",
        "optim_sgd_nesterov_maximize",
        "optim_adam_maximize",
        "optim_adam_amsgrad",
        "optim_adamw_amsgrad_maximize",
        "optim_rmsprop_centered",
        "optim_rmsprop_centered_momentum_maximize",
    ];
    for case in cases {
        let fx = Fixture::load(case);
        let h = &fx.config["hyper"];
        let (lr, wd) = (f32_of(&h["lr"]), f32_of(&h["weight_decay"]));
        let flag = |key: &str| h[key].as_bool().unwrap_or(false);
        let maximize = flag("maximize");
        let config = match fx.config["optimizer"].as_str().unwrap() {
            "SGD" => OptimizerConfig::Sgd {
                lr,
                momentum: f32_of(&h["momentum"]),
                dampening: f32_of(&h["dampening"]),
                nesterov: flag("nesterov"),
                weight_decay: wd,
                maximize,
            },
            "Adam" => OptimizerConfig::Adam {
                lr,
                beta1: f32_of(&h["betas"][0]),
                beta2: f32_of(&h["betas"][1]),
                eps: f32_of(&h["eps"]),
                weight_decay: wd,
                amsgrad: flag("amsgrad"),
                maximize,
            },
            "AdamW" => OptimizerConfig::AdamW {
                lr,
                beta1: f32_of(&h["betas"][0]),
                beta2: f32_of(&h["betas"][1]),
                eps: f32_of(&h["eps"]),
                weight_decay: wd,
                amsgrad: flag("amsgrad"),
                maximize,
            },
            _ => OptimizerConfig::Rmsprop {
                lr,
                alpha: f32_of(&h["alpha"]),
                eps: f32_of(&h["eps"]),
                momentum: f32_of(&h["momentum"]),
                weight_decay: wd,
                centered: flag("centered"),
                maximize,
            },
        };
        let p = Param::new(fx.tensor("p"));
        let mut opt = Optimizer::new(config, vec![p.clone()]).unwrap();
        for t in 1..=3 {
            opt.step(&grads_of(&p, &fx.tensor(&format!("g{t}")))).unwrap();
            fx.expect(&format!("after{t}"), &p.get(), FORWARD);
        }
    }
}

#[test]
fn gradient_clipping_by_global_norm() {
    let fx = Fixture::load("clip_grad_norm");
    let names = ["a", "b", "c"];
    let params: Vec<Param> = names.iter().map(|n| Param::new(Tensor::zeros(&fx.tensors[&format!("grad.{n}")].shape, &CPU).unwrap())).collect();
    let mut total = Tensor::scalar(0.0, &CPU).unwrap();
    for (n, p) in names.iter().zip(&params) {
        total = total.add(&p.get().mul(&fx.tensor(&format!("grad.{n}"))).unwrap().sum_all().unwrap()).unwrap();
    }
    let mut grads = total.backward().unwrap();
    let norm = gradients::clip_grad_norm(&params, &mut grads, 1.0).unwrap().unwrap();
    fx.expect("total_norm", &norm, FORWARD);
    for (n, p) in names.iter().zip(&params) {
        fx.expect(&format!("clipped.{n}"), grads.get(&p.get()).unwrap(), FORWARD);
    }
}

#[test]
fn learning_rate_schedules() {
    use nnlab_nn::schedule::Schedule;
    let fx = Fixture::load("schedules");
    let s = &fx.config["schedules"];
    let cases = [
        ("step_lr", Schedule::Step { step_size: 4, gamma: 0.5 }),
        ("cosine", Schedule::Cosine { t_max: 10, eta_min: 0.001 }),
        ("linear_then_cosine", Schedule::WarmupCosine { warmup: 4, start_factor: 0.1, t_max: 8, eta_min: 0.001 }),
    ];
    for (name, schedule) in cases {
        for (t, want) in s[name]["lrs"].as_array().unwrap().iter().enumerate() {
            let (got, want) = (schedule.lr(0.1, t as u32), want.as_f64().unwrap() as f32);
            assert!((got - want).abs() < 1e-6, "{name} step {t}: {got} vs {want}");
        }
    }
}
