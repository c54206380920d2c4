//! Sequence models run token by token (`Module::forward_token`,
//! `SpecTrainer::feed_tokens`): the outputs equal the whole sequence's at
//! every position, on the CPU and on wgpu (lavapipe here), with the states
//! carried across calls; models that need the whole sequence say which
//! layer and why.

use nnlab_core::{Device, GpuContext, Tensor, no_grad};
use nnlab_nn::spec::{ModelSpec, SpecTrainer, build, infer};
use nnlab_nn::{Carry, Module};
use nnlab_tests::{mismatch, preset_files, uniform};

fn values(t: &Tensor) -> Vec<f32> {
    pollster::block_on(t.to_vec()).unwrap()
}

fn gpu() -> Device {
    Device::Gpu(pollster::block_on(GpuContext::new()).expect("a wgpu adapter (install mesa-vulkan-drivers for lavapipe)"))
}

fn preset(name: &str) -> ModelSpec {
    let (_, json) = preset_files().into_iter().find(|(f, _)| f == &format!("{name}.json")).expect("a preset");
    ModelSpec::from_json(&json).unwrap()
}

/// Every layer that can carry a state, the time axis kept to the end.
const EVERY_LAYER: &str = r#"{
  "name": "every-layer", "seed": 3, "input": [7, 3],
  "layers": [
    {"type": "linear", "out": 8},
    {"type": "positional_encoding", "kind": "learned", "maxLen": 16},
    {"type": "transformer_encoder", "heads": 2, "ff": 16, "causal": true},
    {"type": "transformer_encoder", "heads": 2, "ff": 16, "causal": true, "normFirst": true, "dropout": 0.2},
    {"type": "attention", "heads": 2, "causal": true},
    {"type": "residual", "body": [{"type": "layer_norm"}, {"type": "gru", "hidden": 8}], "activation": "relu"},
    {"type": "lstm", "hidden": 6, "layers": 2, "projSize": 4, "dropout": 0.3},
    {"type": "linear", "out": 8},
    {"type": "aaren"},
    {"type": "s4d", "state": 4},
    {"type": "positional_encoding", "kind": "sinusoidal", "maxLen": 16},
    {"type": "rnn", "hidden": 5, "nonlinearity": "relu", "layers": 2},
    {"type": "activation", "fn": "log_softmax"}
  ]
}"#;

/// The whole sequence at once and token by token (in calls of `chunks`
/// tokens) through every layer of EVERY_LAYER.
fn every_layer_agrees(device: &Device) {
    let _g = no_grad();
    let spec = ModelSpec::from_json(EVERY_LAYER).unwrap();
    let support = infer(&spec).unwrap().tokens;
    assert_eq!((support.layers, support.sequence_output), (spec.layers.len(), true));
    let (model, _) = build(&spec, device).unwrap();
    model.set_training(false);
    let x = Tensor::from_vec(uniform(&[2, 7, 3], 4), &[2, 7, 3], device).unwrap();
    let whole = values(&model.forward(&x).unwrap());
    let width = whole.len() / 14;
    let mut carry = Carry::default();
    for k in 0..7 {
        let y = values(&model.forward_token(&x.narrow(1, k, 1).unwrap(), &mut carry).unwrap());
        let expected: Vec<f32> = (0..2).flat_map(|n| whole[(n * 7 + k) * width..(n * 7 + k + 1) * width].to_vec()).collect();
        assert_eq!(mismatch(&y, &expected, 1e-5, 1e-4), None, "position {k}");
    }
    // Positional encodings count the tokens: the 17th of maxLen 16 is refused.
    for _ in 7..16 {
        model.forward_token(&x.narrow(1, 0, 1).unwrap(), &mut carry).unwrap();
    }
    let err = model.forward_token(&x.narrow(1, 0, 1).unwrap(), &mut carry).unwrap_err().to_string();
    assert!(err.contains("longer than its maxLen of 16"), "{err}");
}

#[test]
fn every_carrying_layer_matches_the_whole_sequence_on_the_cpu() {
    every_layer_agrees(&Device::Cpu);
}

#[test]
fn every_carrying_layer_matches_the_whole_sequence_on_the_gpu() {
    every_layer_agrees(&gpu());
}

fn trained(spec: &ModelSpec, device: Device, steps: usize) -> SpecTrainer {
    let mut t = pollster::block_on(SpecTrainer::new(spec, device)).unwrap();
    t.train(steps).unwrap();
    t
}

/// The first `n` test sequences, flat.
fn test_sequences(t: &SpecTrainer, n: usize) -> Vec<f32> {
    let d = &t.data().test;
    d.x[..n * d.x_len()].to_vec()
}

/// Tokens `from..to` of each of the sequences in `x` ([n, steps, features]).
fn tokens(x: &[f32], n: usize, steps: usize, from: usize, to: usize) -> Vec<f32> {
    let f = x.len() / (n * steps);
    (0..n).flat_map(|i| x[(i * steps + from) * f..(i * steps + to) * f].to_vec()).collect()
}

/// Fed in calls of 1, 2 and the remaining tokens, the last output equals
/// the whole sequences' prediction.
fn last_output_matches(name: &str, device: Device) {
    let spec = preset(name);
    let mut t = trained(&spec, device, 20);
    let steps = spec.input[0];
    let x = test_sequences(&t, 3);
    let whole = pollster::block_on(t.predict(&x, 3)).unwrap();
    let mut run = None;
    for (from, to) in [(0, 1), (1, 3), (3, steps)] {
        let r = pollster::block_on(t.feed_tokens(&tokens(&x, 3, steps, from, to), 3, to - from)).unwrap();
        assert_eq!(r.position, to);
        assert_eq!(r.outputs.len(), (to - from) * whole.len());
        run = Some(r);
    }
    let run = run.unwrap();
    let last = &run.outputs[run.outputs.len() - whole.len()..];
    assert_eq!(mismatch(last, &whole, 1e-4, 1e-3), None, "{name}: token by token {last:?} vs whole {whole:?}");
    assert!(!run.states.is_empty() && run.states.iter().all(|s| s.values.len() == 3 * s.size && s.size > 0), "{name}");
    eprintln!("{name}: {} states {:?} agree", run.states.len(), run.states.iter().map(|s| (&s.path, s.kind, s.size)).collect::<Vec<_>>());
}

#[test]
fn presets_fed_token_by_token_end_where_the_whole_sequence_does() {
    for name in ["adding-lstm", "parity-gru", "adding-aaren", "sine-s4d"] {
        last_output_matches(name, Device::Cpu);
    }
}

#[test]
fn presets_fed_token_by_token_on_the_gpu() {
    let device = gpu();
    for name in ["parity-gru", "adding-aaren", "sine-s4d"] {
        last_output_matches(name, device.clone());
    }
}

/// A model whose last layer drops the time axis (an LSTM's last output).
#[test]
fn a_last_layer_that_ends_the_sequence_is_the_output() {
    let mut spec = preset("adding-lstm");
    spec.layers = vec![serde_json::from_str(r#"{"type": "lstm", "hidden": 1, "output": "last"}"#).unwrap()];
    let support = infer(&spec).unwrap().tokens;
    assert_eq!((support.layers, support.sequence_output), (1, false));
    let mut t = trained(&spec, Device::Cpu, 5);
    let x = test_sequences(&t, 2);
    let whole = pollster::block_on(t.predict(&x, 2)).unwrap();
    let run = pollster::block_on(t.feed_tokens(&x, 2, 20)).unwrap();
    assert_eq!((run.output_shape.as_slice(), run.outputs.len()), ([1].as_slice(), 40));
    assert_eq!(mismatch(&run.outputs[38..], &whole, 1e-5, 1e-4), None);
}

/// After k tokens the output is what the same weights give for the first
/// k tokens alone (a model of input length k).
#[test]
fn every_prefix_gets_the_output_of_that_shorter_sequence() {
    let spec = preset("parity-gru");
    let mut t = trained(&spec, Device::Cpu, 50);
    let state = pollster::block_on(t.export_state()).unwrap();
    let x = test_sequences(&t, 4);
    let run = pollster::block_on(t.feed_tokens(&x, 4, 5)).unwrap();
    assert_eq!(run.output_shape, [2]);
    // (A dataset is at least 2 steps long.)
    for k in 2..=5 {
        let mut short = serde_json::to_value(&spec).unwrap();
        (short["input"][0], short["data"]["length"]) = (k.into(), k.into());
        let short = ModelSpec::from_json(&short.to_string()).unwrap();
        let mut s = pollster::block_on(SpecTrainer::new(&short, Device::Cpu)).unwrap();
        s.import_state(&state).unwrap();
        let expected = pollster::block_on(s.predict(&tokens(&x, 4, 5, 0, k), 4)).unwrap();
        let got = &run.outputs[(k - 1) * 8..k * 8];
        assert_eq!(mismatch(got, &expected, 1e-5, 1e-4), None, "prefix {k}");
    }
}

#[test]
fn the_carry_belongs_to_its_weights_and_its_sequences() {
    let spec = preset("adding-lstm");
    let mut t = trained(&spec, Device::Cpu, 5);
    let x = test_sequences(&t, 2);
    let first = |t: &mut SpecTrainer| pollster::block_on(t.feed_tokens(&tokens(&x, 2, 20, 0, 1), 2, 1));
    assert_eq!(first(&mut t).unwrap().position, 1);
    let two = first(&mut t).unwrap();
    assert_eq!(two.position, 2);
    // h and c of one layer, 32 each, per sequence.
    assert_eq!((two.states[0].path.as_str(), two.states[0].kind, two.states[0].size), ("layers[0]", "lstm", 64));
    // Another number of sequences, or a wrong length, is refused and changes nothing.
    let err = pollster::block_on(t.feed_tokens(&tokens(&x, 2, 20, 0, 1)[..2], 1, 1)).unwrap_err().to_string();
    assert!(err.contains("carried states are of 2 sequences"), "{err}");
    let err = pollster::block_on(t.feed_tokens(&[0.5; 3], 2, 1)).unwrap_err().to_string();
    assert!(err.contains("expected 2 sequences of 1 tokens of [2] (4 values), got 3"), "{err}");
    assert_eq!(first(&mut t).unwrap().position, 3);
    // A training step starts new sequences: the old states were of other weights.
    t.train(1).unwrap();
    assert_eq!(first(&mut t).unwrap().position, 1);
    t.reset_tokens();
    assert_eq!(first(&mut t).unwrap().position, 1);
}

#[test]
fn models_that_need_the_whole_sequence_say_which_layer_and_why() {
    let report = |spec: &ModelSpec| infer(spec).unwrap().tokens;
    let copy = report(&preset("copy-transformer"));
    assert_eq!((copy.layers, copy.path.as_deref()), (0, Some("layers[2]")));
    assert!(copy.reason.as_deref().unwrap().contains("attend to later ones"), "{copy:?}");
    let cnn = report(&preset("mnist1d-cnn"));
    assert_eq!((cnn.layers, cnn.path.as_deref()), (0, Some("layers[0]")));
    let plane = report(&preset("playground-circle"));
    assert!(plane.path.is_none() && plane.reason.as_deref().unwrap().contains("not a sequence"), "{plane:?}");
    assert_eq!(report(&preset("adding-aaren")).layers, 5);
    assert_eq!(report(&preset("adding-lstm")).layers, 1);

    let mut spec = preset("adding-lstm");
    spec.layers[0] = serde_json::from_str(r#"{"type": "lstm", "hidden": 8, "bidirectional": true, "output": "last"}"#).unwrap();
    let r = report(&spec);
    assert!(r.path.as_deref() == Some("layers[0]") && r.reason.as_deref().unwrap().contains("bidirectional"), "{r:?}");
    spec.layers.insert(0, serde_json::from_str(r#"{"type": "residual", "body": [{"type": "attention", "heads": 1}]}"#).unwrap());
    assert_eq!(report(&spec).path.as_deref(), Some("layers[0].body[0]"));

    let mut t = pollster::block_on(SpecTrainer::new(&preset("copy-transformer"), Device::Cpu)).unwrap();
    let err = pollster::block_on(t.feed_tokens(&[0.0; 6], 1, 1)).unwrap_err().to_string();
    assert!(err.contains("can't run token by token: layers[2] (transformer_encoder)"), "{err}");
}
