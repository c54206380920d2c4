//! Writes the PyTorch `nn.Module` source equivalent to a spec: the same
//! layers, the same `state_dict` names and layouts, so
//! `model.load_state_dict(safetensors.torch.load_file(path))` loads weights
//! trained here, and the outputs agree.

use std::fmt::Write;

use nnlab_core::Result;

use super::shape::layer_shape;
use super::{LayerSpec, ModelSpec, Nonlinearity, PaddingMode, PaddingName, PaddingSpec, PositionalKind, SequenceOutput, infer};
use crate::Activation;
use crate::layers::PoolKind;

/// Helper classes for layers torch.nn does not have, or whose forward differs.
const PRELUDE: &str = r#"import math

import torch
from torch import nn


class Residual(nn.Module):
    def __init__(self, body, shortcut, scale, activation):
        super().__init__()
        self.body, self.shortcut, self.scale, self.activation = body, shortcut, scale, activation

    def forward(self, x):
        return self.activation(self.shortcut(x) + self.scale * self.body(x))


class ConvBn(nn.Module):
    def __init__(self, cin, cout, kernel, stride, padding, groups, activation):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.activation = activation

    def forward(self, x):
        return self.activation(self.bn(self.conv(x)))


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, expand, stride, bottleneck=None):
        super().__init__()
        hidden = cin * expand
        layers = [] if expand == 1 else [ConvBn(cin, hidden, 1, 1, 0, 1, nn.ReLU6())]
        layers += [ConvBn(hidden, hidden, 3, stride, 1, hidden, nn.ReLU6()), ConvBn(hidden, cout, 1, 1, 0, 1, bottleneck if bottleneck is not None else nn.Identity())]
        self.block = nn.Sequential(*layers)
        self.use_residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.block(x)
        return x + y if self.use_residual else y


class GlobalAvgPool(nn.Module):
    def forward(self, x):
        return x.mean(dim=(2, 3))


class LastStep(nn.Module):
    def forward(self, x):
        return x[:, -1]


class Tail(nn.Module):
    def __init__(self, steps):
        super().__init__()
        self.steps = steps

    def forward(self, x):
        return x[:, -self.steps:]


def recurrent(base, last, **kwargs):
    """A batch-first recurrent layer returning every step or the last."""
    class Recurrent(base):
        def forward(self, x):
            out = super().forward(x)[0]
            return out[:, -1] if last else out
    return Recurrent(batch_first=True, **kwargs)


def causal_mask(t, device):
    return torch.triu(torch.ones(t, t, dtype=torch.bool, device=device), diagonal=1)


class SelfAttention(nn.MultiheadAttention):
    def __init__(self, dim, heads, causal, bias=True, add_bias_kv=False, add_zero_attn=False):
        super().__init__(dim, heads, bias=bias, add_bias_kv=add_bias_kv, add_zero_attn=add_zero_attn, batch_first=True)
        self.causal = causal

    def forward(self, x):
        mask = causal_mask(x.shape[1], x.device) if self.causal else None
        return super().forward(x, x, x, attn_mask=mask, need_weights=False)[0]


class TransformerLayer(nn.TransformerEncoderLayer):
    def __init__(self, dim, heads, ff, dropout, activation, norm_first, causal):
        super().__init__(dim, heads, ff, dropout, activation, batch_first=True, norm_first=norm_first)
        self.causal = causal

    def forward(self, x):
        mask = causal_mask(x.shape[1], x.device) if self.causal else None
        return super().forward(x, src_mask=mask)


class SinusoidalPE(nn.Module):
    def __init__(self, max_len, dim):
        super().__init__()
        pos = torch.arange(max_len, dtype=torch.float64)[:, None]
        j = torch.arange(dim)
        angle = pos / torch.pow(10000.0, (j - j % 2).double() / dim)
        table = torch.where(j % 2 == 0, torch.sin(angle), torch.cos(angle)).float()
        self.register_buffer("table", table, persistent=False)

    def forward(self, x):
        return x + self.table[: x.shape[1]]


class LearnedPE(nn.Module):
    def __init__(self, max_len, dim):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(max_len, dim) * 0.02)

    def forward(self, x):
        return x + self.weight[: x.shape[1]]


class Aaren(nn.Module):
    """Attention as an RNN (Feng et al. 2024), parallel form via prefix sums, scores soft-capped at 30."""
    def __init__(self, dim):
        super().__init__()
        self.query = nn.Parameter(torch.randn(dim) / math.sqrt(dim))
        self.key, self.value, self.out = nn.Linear(dim, dim), nn.Linear(dim, dim), nn.Linear(dim, dim)

    def forward(self, x):
        s = 30.0 * torch.tanh(self.key(x) @ self.query[:, None] / (30.0 * math.sqrt(x.shape[-1])))
        e = torch.exp(s - s.amax(dim=1, keepdim=True).detach())
        return self.out(torch.cumsum(e * self.value(x), dim=1) / torch.cumsum(e, dim=1))


class S4D(nn.Module):
    """Diagonal state-space layer (Gu et al. 2022), convolution mode."""
    def __init__(self, channels, state):
        super().__init__()
        n = state // 2
        self.log_dt = nn.Parameter(torch.empty(channels).uniform_(math.log(1e-3), math.log(1e-1)))
        self.C = nn.Parameter(torch.randn(channels, n, 2) * 0.5 ** 0.5)
        self.log_A_real = nn.Parameter(torch.full((channels, n), math.log(0.5)))
        self.A_imag = nn.Parameter(math.pi * torch.arange(n).float().repeat(channels, 1))
        self.D = nn.Parameter(torch.randn(channels))

    def forward(self, u):
        length = u.shape[1]
        dt = torch.exp(self.log_dt)[:, None]
        A = torch.complex(-torch.exp(self.log_A_real), self.A_imag)
        dtA = A * dt
        C = torch.view_as_complex(self.C.contiguous()) * (torch.exp(dtA) - 1.0) / A
        K = 2 * torch.einsum("hn,hnl->hl", C, torch.exp(dtA[:, :, None] * torch.arange(length, device=u.device))).real
        x = u.transpose(1, 2)
        y = torch.fft.irfft(torch.fft.rfft(x, n=2 * length) * torch.fft.rfft(K, n=2 * length), n=2 * length)[..., :length]
        return (y + x * self.D[:, None]).transpose(1, 2)
"#;

fn activation(a: Activation, slope: Option<f32>) -> String {
    match a {
        Activation::Relu => "nn.ReLU()".into(),
        Activation::Relu6 => "nn.ReLU6()".into(),
        Activation::LeakyRelu => format!("nn.LeakyReLU({:?})", slope.unwrap_or(0.01)),
        Activation::Gelu => "nn.GELU()".into(),
        Activation::GeluTanh => "nn.GELU(approximate='tanh')".into(),
        Activation::Silu => "nn.SiLU()".into(),
        Activation::Tanh => "nn.Tanh()".into(),
        Activation::Sigmoid => "nn.Sigmoid()".into(),
        Activation::Softmax => "nn.Softmax(dim=-1)".into(),
        Activation::LogSoftmax => "nn.LogSoftmax(dim=-1)".into(),
        Activation::Linear => "nn.Identity()".into(),
    }
}

fn padding(p: PaddingSpec) -> String {
    match p {
        PaddingSpec::Size(s) => format!("{:?}", s.pair()).replace('[', "(").replace(']', ")"),
        PaddingSpec::Named(PaddingName::Same) => "'same'".into(),
        PaddingSpec::Named(PaddingName::Valid) => "0".into(),
    }
}

fn tuple(p: [usize; 2]) -> String {
    format!("({}, {})", p[0], p[1])
}

fn py_bool(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

/// The Python expression for one layer whose input has per-example shape `input`.
fn layer(spec: &LayerSpec, input: &[usize]) -> Result<String> {
    Ok(match spec {
        LayerSpec::Linear { out, bias, .. } => format!("nn.Linear({}, {out}, bias={})", input.last().unwrap_or(&0), py_bool(*bias)),
        LayerSpec::Conv1d { out, kernel, stride, padding: p, dilation, groups, bias, padding_mode } => {
            let pad = match p {
                PaddingSpec::Size(s) => s.pair()[1].to_string(),
                other => padding(*other),
            };
            format!(
                "nn.Conv1d({}, {out}, {kernel}, stride={stride}, padding={pad}, dilation={dilation}, groups={groups}, bias={}, padding_mode=\"{}\")",
                input[0],
                py_bool(*bias),
                padding_mode.torch_name()
            )
        }
        LayerSpec::Conv2d { out, kernel, stride, padding: p, dilation, groups, bias, padding_mode } => format!(
            "nn.Conv2d({}, {out}, {}, stride={}, padding={}, dilation={}, groups={groups}, bias={}, padding_mode=\"{}\")",
            input[0],
            tuple(kernel.pair()),
            tuple(stride.pair()),
            padding(*p),
            tuple(dilation.pair()),
            py_bool(*bias),
            padding_mode.torch_name()
        ),
        LayerSpec::MaxPool1d { .. } | LayerSpec::AvgPool1d { .. } | LayerSpec::MaxPool2d { .. } | LayerSpec::AvgPool2d { .. } => {
            let (dims, kind, p) = spec.pool().expect("a pooling layer");
            let axes = |v: [usize; 2]| if dims == 1 { v[1].to_string() } else { tuple(v) };
            let (name, last) = match kind {
                PoolKind::Max => ("Max", format!("dilation={}", axes(p.dilation))),
                PoolKind::Avg => ("Avg", format!("count_include_pad={}", py_bool(p.count_include_pad))),
            };
            format!(
                "nn.{name}Pool{dims}d({}, stride={}, padding={}, ceil_mode={}, {last})",
                axes(p.kernel),
                axes(p.stride),
                axes(p.padding),
                py_bool(p.ceil_mode)
            )
        }
        LayerSpec::Pad { padding, mode, value } => {
            let axes = input.len().saturating_sub(1);
            // torch's order: (left, right) of the last axis, then the axis before.
            let sides: Vec<String> = padding.pairs(axes).unwrap_or_default().iter().rev().flat_map(|(b, a)| [b.to_string(), a.to_string()]).collect();
            let sides = format!("({})", sides.join(", "));
            match mode {
                PaddingMode::Zeros => format!("nn.ConstantPad{axes}d({sides}, {value:?})"),
                PaddingMode::Reflect => format!("nn.ReflectionPad{axes}d({sides})"),
                PaddingMode::Replicate => format!("nn.ReplicationPad{axes}d({sides})"),
                PaddingMode::Circular => format!("nn.CircularPad{axes}d({sides})"),
            }
        }
        LayerSpec::AdaptiveAvgPool1d { output } => format!("nn.AdaptiveAvgPool1d({output})"),
        LayerSpec::AdaptiveMaxPool1d { output } => format!("nn.AdaptiveMaxPool1d({output})"),
        LayerSpec::AdaptiveAvgPool2d { output } => format!("nn.AdaptiveAvgPool2d({})", tuple(output.pair())),
        LayerSpec::AdaptiveMaxPool2d { output } => format!("nn.AdaptiveMaxPool2d({})", tuple(output.pair())),
        LayerSpec::GlobalAvgPool => "GlobalAvgPool()".into(),
        LayerSpec::Flatten => "nn.Flatten()".into(),
        LayerSpec::Dropout { p } => format!("nn.Dropout({p:?})"),
        LayerSpec::Embedding { num, dim, padding_idx, max_norm } => format!(
            "nn.Embedding({num}, {dim}, padding_idx={}, max_norm={})",
            padding_idx.map_or("None".to_string(), |p| p.to_string()),
            max_norm.map_or("None".to_string(), |m| format!("{m:?}"))
        ),
        LayerSpec::BatchNorm { affine, momentum, track_running_stats } => format!(
            "nn.BatchNorm{}d({}, affine={}, momentum={}, track_running_stats={})",
            if input.len() == 3 { 2 } else { 1 },
            input[0],
            py_bool(*affine),
            momentum.map_or("None".to_string(), |m| format!("{m:?}")),
            py_bool(*track_running_stats)
        ),
        LayerSpec::LayerNorm { elementwise_affine, bias, .. } => {
            format!("nn.LayerNorm({:?}, elementwise_affine={}, bias={})", spec.layer_norm_shape(input), py_bool(*elementwise_affine), py_bool(*bias))
        }
        LayerSpec::Activation { function, slope } => activation(*function, *slope),
        LayerSpec::Residual { body, shortcut, scale, activation: act } => format!(
            "Residual({}, {}, {scale:?}, {})",
            sequential(body, input)?,
            sequential(shortcut, input)?,
            act.map_or("nn.Identity()".to_string(), |a| activation(a, None))
        ),
        LayerSpec::InvertedResidual { out, expand, stride, bottleneck: None } => format!("InvertedResidual({}, {out}, {expand}, {stride})", input[0]),
        LayerSpec::InvertedResidual { out, expand, stride, bottleneck: Some(a) } => {
            format!("InvertedResidual({}, {out}, {expand}, {stride}, {})", input[0], activation(*a, None))
        }
        LayerSpec::ConvBn { out, kernel, stride, padding: p, groups, activation: act } => format!(
            "ConvBn({}, {out}, {kernel}, {stride}, {}, {groups}, {})",
            input[0],
            padding(*p),
            act.map_or("nn.Identity()".to_string(), |a| activation(a, None))
        ),
        LayerSpec::Rnn { hidden, layers, bidirectional, nonlinearity, output, bias, dropout } => format!(
            "recurrent(nn.RNN, {}, input_size={}, hidden_size={hidden}, num_layers={layers}, bidirectional={}, nonlinearity='{}', bias={}, dropout={dropout:?})",
            py_bool(*output == SequenceOutput::Last),
            input[1],
            py_bool(*bidirectional),
            if *nonlinearity == Nonlinearity::Relu { "relu" } else { "tanh" },
            py_bool(*bias)
        ),
        LayerSpec::Gru { hidden, layers, bidirectional, output, bias, dropout } => format!(
            "recurrent(nn.GRU, {}, input_size={}, hidden_size={hidden}, num_layers={layers}, bidirectional={}, bias={}, dropout={dropout:?})",
            py_bool(*output == SequenceOutput::Last),
            input[1],
            py_bool(*bidirectional),
            py_bool(*bias)
        ),
        LayerSpec::Lstm { hidden, layers, bidirectional, output, bias, dropout, proj_size } => format!(
            "recurrent(nn.LSTM, {}, input_size={}, hidden_size={hidden}, num_layers={layers}, bidirectional={}, bias={}, dropout={dropout:?}, proj_size={proj_size})",
            py_bool(*output == SequenceOutput::Last),
            input[1],
            py_bool(*bidirectional),
            py_bool(*bias)
        ),
        LayerSpec::Attention { heads, causal, bias, add_bias_kv, add_zero_attn } => format!(
            "SelfAttention({}, {heads}, {}, bias={}, add_bias_kv={}, add_zero_attn={})",
            input[1],
            py_bool(*causal),
            py_bool(*bias),
            py_bool(*add_bias_kv),
            py_bool(*add_zero_attn)
        ),
        LayerSpec::TransformerEncoder { heads, ff, dropout, activation: act, norm_first, causal } => {
            let a = match act {
                Activation::Gelu => "gelu",
                _ => "relu",
            };
            format!("TransformerLayer({}, {heads}, {ff}, {dropout:?}, '{a}', {}, {})", input[1], py_bool(*norm_first), py_bool(*causal))
        }
        LayerSpec::PositionalEncoding { kind: PositionalKind::Sinusoidal, max_len } => format!("SinusoidalPE({max_len}, {})", input[1]),
        LayerSpec::PositionalEncoding { kind: PositionalKind::Learned, max_len } => format!("LearnedPE({max_len}, {})", input[1]),
        LayerSpec::Aaren => format!("Aaren({})", input[1]),
        LayerSpec::S4d { state } => format!("S4D({}, {state})", input[1]),
        LayerSpec::LastStep => "LastStep()".into(),
        LayerSpec::Tail { steps } => format!("Tail({steps})"),
    })
}

fn sequential(specs: &[LayerSpec], input: &[usize]) -> Result<String> {
    let mut shape = input.to_vec();
    let mut parts = Vec::new();
    for spec in specs {
        parts.push(layer(spec, &shape)?);
        shape = layer_shape(spec, &shape, &mut Vec::new())?;
    }
    Ok(format!("nn.Sequential({})", parts.join(", ")))
}

/// Python source defining `Model`, an `nn.Sequential` with the spec's layers.
pub fn module_source(spec: &ModelSpec) -> Result<String> {
    infer(spec)?;
    let mut src = String::new();
    let _ = writeln!(src, "# PyTorch equivalent of the nnlab model spec \"{}\".", spec.name.replace(['\n', '\r'], " "));
    let _ = writeln!(src, "# Load weights saved by nnlab with:");
    let _ = writeln!(src, "#   from safetensors.torch import load_file");
    let _ = writeln!(src, "#   model = Model(); model.load_state_dict(load_file(\"weights.safetensors\")); model.eval()");
    src.push_str(PRELUDE);
    let _ = writeln!(src, "\n\nclass Model(nn.Sequential):");
    let _ = writeln!(src, "    \"\"\"Input: [batch, {}].\"\"\"", spec.input.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", "));
    let _ = writeln!(src, "    def __init__(self):");
    let _ = writeln!(src, "        super().__init__(");
    let mut shape = spec.input.clone();
    for l in &spec.layers {
        let _ = writeln!(src, "            {},", layer(l, &shape)?);
        shape = layer_shape(l, &shape, &mut Vec::new())?;
    }
    let _ = writeln!(src, "        )");
    if matches!(spec.layers.first(), Some(LayerSpec::Embedding { .. })) {
        let _ = writeln!(src, "\n    def forward(self, x):\n        return super().forward(x.long())");
    }
    Ok(src)
}
