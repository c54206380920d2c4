//! Turns a checked spec into modules. Shapes were validated by `infer` first,
//! so construction here cannot fail on the spec's numbers.

use std::cell::Cell;

use nnlab_core::{Device, Error, Result, Tensor};

use super::{LayerSpec, ModelReport, ModelSpec, Nonlinearity, PositionalKind, SequenceOutput, infer};
use crate::activation::ActivationLayer;
use crate::init::Init;
use crate::layers::*;
use crate::tokens::Carry;
use crate::{Buffer, Linear, Module, Param, ProbeKind, Probes};

/// A recurrent layer returning all steps or the last (batch-first).
struct RecurrentLayer {
    inner: Recurrent,
    output: SequenceOutput,
}

impl Module for RecurrentLayer {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match self.output {
            SequenceOutput::Sequence => self.inner.forward(x),
            SequenceOutput::Last => self.inner.last_output(x),
        }
    }
    fn parameters(&self) -> Vec<(String, Param)> {
        self.inner.parameters()
    }
    fn set_training(&self, training: bool) {
        self.inner.set_training(training);
    }
    /// The carry holds h (and c) batch first: [N, layers, width].
    fn forward_token(&self, x: &Tensor, carry: &mut Carry) -> Result<Tensor> {
        if self.inner.bidirectional {
            return Err(Error::InvalidArgument { op: "token by token", reason: "a bidirectional layer reads the sequence from its end too".into() });
        }
        let first = |t: &Tensor| t.permute(&[1, 0, 2])?.contiguous();
        let states: Vec<Tensor> = carry.tensors.iter().map(first).collect::<Result<_>>()?;
        let out = self.inner.run_from(x, states.first(), states.get(1))?;
        carry.tensors = std::iter::once(&out.h_n).chain(out.c_n.as_ref()).map(first).collect::<Result<_>>()?;
        match self.output {
            SequenceOutput::Sequence => Ok(out.output),
            SequenceOutput::Last => out.output.flatten_from(1),
        }
    }
    fn probe(&self, x: &Tensor, probes: &mut Probes) -> Result<Tensor> {
        let all = self.inner.run(x)?.output;
        probes.record(ProbeKind::Hidden, &all);
        match self.output {
            SequenceOutput::Sequence => Ok(all),
            SequenceOutput::Last => self.inner.last_output(x),
        }
    }
}

/// For a causal layer, the [T, T] mask of `x` [N, T, E] with 1 above the
/// diagonal (future positions); none otherwise.
fn causal_mask(causal: bool, x: &Tensor) -> Result<Option<Tensor>> {
    if !causal {
        return Ok(None);
    }
    let t = x.dim(1)?;
    let m: Vec<f32> = (0..t * t).map(|k| ((k % t) > (k / t)) as u8 as f32).collect();
    Ok(Some(Tensor::from_vec(m, &[t, t], &x.device())?))
}

fn not_causal() -> Error {
    Error::InvalidArgument { op: "token by token", reason: "every position attends to later ones unless the layer is causal".into() }
}

struct SelfAttention {
    inner: MultiheadAttention,
    causal: bool,
}

impl Module for SelfAttention {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mask = causal_mask(self.causal, x)?;
        Ok(self.inner.attend(x, x, x, None, mask.as_ref())?.output)
    }
    /// Causal only: the carry holds every token so far ([N, t, E]).
    fn forward_token(&self, x: &Tensor, carry: &mut Carry) -> Result<Tensor> {
        if !self.causal {
            return Err(not_causal());
        }
        let mut seen = carry.tensors.pop();
        let out = self.inner.attend_next(x, &mut seen);
        carry.tensors = seen.into_iter().collect();
        out
    }
    fn parameters(&self) -> Vec<(String, Param)> {
        self.inner.parameters()
    }
    fn probe(&self, x: &Tensor, probes: &mut Probes) -> Result<Tensor> {
        let mask = causal_mask(self.causal, x)?;
        let a = self.inner.attend(x, x, x, None, mask.as_ref())?;
        // The view shows attention among the sequence's positions, not the appended keys.
        let t = x.shape()[1];
        probes.record(ProbeKind::Attention, &a.head_weights.narrow(3, 0, t)?);
        Ok(a.output)
    }
}

struct TransformerLayer {
    inner: TransformerEncoderLayer,
    causal: bool,
}

impl Module for TransformerLayer {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mask = causal_mask(self.causal, x)?;
        self.inner.forward_masked(x, None, mask.as_ref())
    }
    /// Causal only: the carry holds what attention read of every token so far.
    fn forward_token(&self, x: &Tensor, carry: &mut Carry) -> Result<Tensor> {
        if !self.causal {
            return Err(not_causal());
        }
        let mut seen = carry.tensors.pop();
        let y = self.inner.forward_next(x, &mut seen)?;
        carry.tensors.extend(seen);
        Ok(y)
    }
    fn parameters(&self) -> Vec<(String, Param)> {
        self.inner.parameters()
    }
    fn set_training(&self, training: bool) {
        self.inner.set_training(training);
    }
    fn probe(&self, x: &Tensor, probes: &mut Probes) -> Result<Tensor> {
        let mask = causal_mask(self.causal, x)?;
        let (y, weights) = self.inner.forward_attending(x, None, mask.as_ref())?;
        probes.record(ProbeKind::Attention, &weights);
        Ok(y)
    }
}

/// Builds one layer for an input of per-example shape `input`.
fn layer(spec: &LayerSpec, input: &[usize], seed: u64, stream: &Cell<u32>, device: &Device) -> Result<Box<dyn Module>> {
    let s = stream.get();
    stream.set(s + 1);
    let torch = Init::TorchDefault;
    Ok(match *spec {
        LayerSpec::Linear { out, bias, sigma_w } => {
            let init = sigma_w.map_or(torch, |sigma_w| Init::Scaled { sigma_w });
            Box::new(Linear::new(*input.last().expect("checked"), out, bias, init, seed, s, device)?)
        }
        LayerSpec::Conv1d { out, kernel, stride, padding, dilation, groups, bias, padding_mode } => {
            let pad = super::shape::resolve_padding("", padding, [1, stride])?;
            let mut c = Conv1d::new(input[0], out, kernel, stride, pad.map_or(0, |p| p[1]), dilation, groups, bias, seed, s, device)?;
            c.padding_mode = padding_mode.with_value(0.0);
            Box::new(if pad.is_none() { c.same()? } else { c })
        }
        LayerSpec::Conv2d { out, kernel, stride, padding, dilation, groups, bias, padding_mode } => {
            let pad = super::shape::resolve_padding("", padding, stride.pair())?;
            let padding = pad.map_or(Padding::Same, Padding::Explicit);
            let mut c = Conv2d::new(input[0], out, kernel.pair(), stride.pair(), padding, dilation.pair(), groups, bias, seed, s, device)?;
            c.padding_mode = padding_mode.with_value(0.0);
            Box::new(c)
        }
        LayerSpec::Pad { ref padding, mode, value } => {
            let pads = padding.pairs(input.len() - 1).expect("checked");
            Box::new(Pad { pads, mode: mode.with_value(value) })
        }
        LayerSpec::MaxPool1d { .. } | LayerSpec::AvgPool1d { .. } | LayerSpec::MaxPool2d { .. } | LayerSpec::AvgPool2d { .. } => {
            let (dims, kind, params) = spec.pool().expect("a pooling layer");
            Box::new(Pool { kind, dims, params })
        }
        LayerSpec::AdaptiveAvgPool1d { .. }
        | LayerSpec::AdaptiveMaxPool1d { .. }
        | LayerSpec::AdaptiveAvgPool2d { .. }
        | LayerSpec::AdaptiveMaxPool2d { .. } => {
            let (dims, kind, output) = spec.adaptive_pool().expect("an adaptive pooling layer");
            Box::new(AdaptivePool { kind, dims, output })
        }
        LayerSpec::GlobalAvgPool => Box::new(GlobalAvgPool2d),
        LayerSpec::Flatten => Box::new(Flatten),
        LayerSpec::Dropout { p } => Box::new(Dropout::new(p, seed ^ 0xd0d0 ^ s as u64)?),
        LayerSpec::Embedding { num, dim, padding_idx, max_norm } => Box::new(Embedding::with(num, dim, padding_idx, max_norm, seed, s, device)?),
        LayerSpec::BatchNorm { affine, momentum, track_running_stats } => {
            let mut bn = BatchNorm::new(input[0], affine, device)?;
            (bn.momentum, bn.track_running_stats) = (momentum, track_running_stats);
            Box::new(bn)
        }
        LayerSpec::LayerNorm { elementwise_affine, bias, .. } => Box::new(LayerNorm::with(&spec.layer_norm_shape(input), elementwise_affine, bias, device)?),
        LayerSpec::Activation { function, slope } => Box::new(ActivationLayer { function, slope }),
        LayerSpec::Residual { ref body, ref shortcut, scale, activation } => Box::new(Residual {
            body: sequence(body, input, seed, stream, device)?,
            shortcut: sequence(shortcut, input, seed, stream, device)?,
            scale,
            activation,
        }),
        LayerSpec::InvertedResidual { out, expand, stride, bottleneck } => {
            Box::new(InvertedResidual::new(input[0], out, expand, stride, bottleneck, seed, s, device)?)
        }
        LayerSpec::ConvBn { out, kernel, stride, padding, groups, activation } => {
            let pad = super::shape::resolve_padding("", padding, [stride; 2])?;
            Box::new(ConvBn::new(input[0], out, kernel, stride, pad.map_or(Padding::Same, Padding::Explicit), groups, activation, seed, s, device)?)
        }
        LayerSpec::Rnn { hidden, layers, bidirectional, nonlinearity, output, bias, dropout } => {
            let kind = if nonlinearity == Nonlinearity::Relu { RecurrentKind::RnnRelu } else { RecurrentKind::RnnTanh };
            let options = RecurrentOptions { bias, dropout, proj_size: 0 };
            Box::new(RecurrentLayer { inner: Recurrent::with(kind, input[1], hidden, layers, bidirectional, true, options, seed, s, device)?, output })
        }
        LayerSpec::Gru { hidden, layers, bidirectional, output, bias, dropout } => {
            let options = RecurrentOptions { bias, dropout, proj_size: 0 };
            Box::new(RecurrentLayer {
                inner: Recurrent::with(RecurrentKind::Gru, input[1], hidden, layers, bidirectional, true, options, seed, s, device)?,
                output,
            })
        }
        LayerSpec::Lstm { hidden, layers, bidirectional, output, bias, dropout, proj_size } => {
            let options = RecurrentOptions { bias, dropout, proj_size };
            Box::new(RecurrentLayer {
                inner: Recurrent::with(RecurrentKind::Lstm, input[1], hidden, layers, bidirectional, true, options, seed, s, device)?,
                output,
            })
        }
        LayerSpec::Attention { heads, causal, bias, add_bias_kv, add_zero_attn } => {
            let options = AttentionOptions { bias, add_bias_kv, add_zero_attn, ..AttentionOptions::default() };
            Box::new(SelfAttention { inner: MultiheadAttention::with(input[1], heads, options, seed, s, device)?, causal })
        }
        LayerSpec::TransformerEncoder { heads, ff, dropout, activation, norm_first, causal } => {
            Box::new(TransformerLayer { inner: TransformerEncoderLayer::new(input[1], heads, ff, dropout, activation, norm_first, seed, s, device)?, causal })
        }
        LayerSpec::PositionalEncoding { kind: PositionalKind::Sinusoidal, max_len } => Box::new(SinusoidalPositionalEncoding::new(max_len, input[1], device)?),
        LayerSpec::PositionalEncoding { kind: PositionalKind::Learned, max_len } => {
            Box::new(LearnedPositionalEncoding::new(max_len, input[1], seed, s, device)?)
        }
        LayerSpec::Aaren => Box::new(Aaren::new(input[1], seed, s, device)?),
        LayerSpec::S4d { state } => Box::new(S4d::new(input[1], state, seed, s, device)?),
        LayerSpec::LastStep => Box::new(LastStep),
        LayerSpec::Tail { steps } => Box::new(Tail(steps)),
    })
}

fn sequence(specs: &[LayerSpec], input: &[usize], seed: u64, stream: &Cell<u32>, device: &Device) -> Result<Sequential> {
    let mut shape = input.to_vec();
    let mut layers = Vec::with_capacity(specs.len());
    for spec in specs {
        layers.push(layer(spec, &shape, seed, stream, device)?);
        let mut scratch = Vec::new();
        shape = super::shape::layer_shape(spec, &shape, &mut scratch)?;
    }
    Ok(Sequential::new(layers))
}

/// Checks the spec (shape inference) and builds its model on `device`.
pub fn build(spec: &ModelSpec, device: &Device) -> Result<(Sequential, ModelReport)> {
    let report = infer(spec)?;
    let model = sequence(&spec.layers, &spec.input, spec.seed, &Cell::new(0), device)?;
    Ok((model, report))
}

/// Named parameters and buffers of a model, as a PyTorch `state_dict` orders them.
pub fn state_dict(model: &dyn Module) -> Vec<(String, Tensor)> {
    let mut out: Vec<(String, Tensor)> = model.parameters().into_iter().map(|(n, p)| (n, p.get())).collect();
    out.extend(model.buffers().into_iter().map(|(n, b): (String, Buffer)| (n, b.get())));
    out
}
