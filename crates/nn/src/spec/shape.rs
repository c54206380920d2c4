//! Shape inference: each layer's output shape and parameter count, computed
//! from the spec alone (nothing is allocated), with errors that name the path
//! of the offending field.

use nnlab_core::{Error, Pool2dParams, Result};
use serde::Serialize;

use super::{LayerSpec, ModelSpec, PaddingMode, PaddingName, PaddingSpec, SequenceOutput, limits};

/// Bounds that keep a spec from exhausting memory before anything runs.
const MAX_PARAMS: usize = 50_000_000;
const MAX_ACTIVATION: usize = 16_000_000;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LayerReport {
    pub path: String,
    pub kind: &'static str,
    pub output: Vec<usize>,
    pub params: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelReport {
    pub input: Vec<usize>,
    pub output: Vec<usize>,
    pub params: usize,
    pub layers: Vec<LayerReport>,
    /// Whether (and how far) the model runs token by token.
    pub tokens: super::tokens::TokenSupport,
}

/// Saturating product: parameter counts of absurd specs must fail the size
/// check, not overflow.
fn prod(factors: &[usize]) -> usize {
    factors.iter().fold(1usize, |a, &b| a.saturating_mul(b))
}

/// Saturating sum.
fn sum(terms: &[usize]) -> usize {
    terms.iter().fold(0usize, |a, &b| a.saturating_add(b))
}

fn invalid(path: &str, reason: impl Into<String>) -> Error {
    Error::InvalidSpec { path: path.to_string(), reason: reason.into() }
}

fn at_least(path: &str, field: &str, v: usize, min: usize) -> Result<()> {
    if v < min { Err(invalid(&format!("{path}.{field}"), format!("must be >= {min} (got {v})"))) } else { Ok(()) }
}

fn rank(path: &str, kind: &str, input: &[usize], expected: usize, what: &str) -> Result<()> {
    if input.len() != expected {
        return Err(invalid(path, format!("{kind} expects {what}, but its input has shape {input:?}")));
    }
    Ok(())
}

/// Spatial output size, or an error naming the layer when the window does not fit.
/// Checked arithmetic throughout: spec numbers can be anything up to u64::MAX.
fn out_size(path: &str, input: usize, kernel: usize, stride: usize, pad: usize, dilation: usize) -> Result<usize> {
    let span = kernel.checked_sub(1).and_then(|k| k.checked_mul(dilation)).and_then(|k| k.checked_add(1));
    let padded = pad.checked_mul(2).and_then(|p| p.checked_add(input));
    span.zip(padded)
        .and_then(|(span, padded)| padded.checked_sub(span))
        .filter(|_| stride > 0)
        .map(|r| r / stride + 1)
        .ok_or_else(|| invalid(path, format!("a window of {kernel} (dilation {dilation}) does not fit an input of {input} with padding {pad}")))
}

/// Reflect padding must stay shorter than the axis, circular at most as long.
fn mode_fits(path: &str, field: &str, mode: PaddingMode, sizes: &[usize], pads: &[(usize, usize)]) -> Result<()> {
    for (&n, &(before, after)) in sizes.iter().zip(pads) {
        let ok = match mode {
            PaddingMode::Zeros => true,
            PaddingMode::Reflect => before.max(after) < n,
            PaddingMode::Replicate => n > 0,
            PaddingMode::Circular => before.max(after) <= n,
        };
        if !ok {
            let mode = mode.torch_name();
            return Err(invalid(&format!("{path}.{field}"), format!("{mode} padding of {} does not fit an axis of {n}", before.max(after))));
        }
    }
    Ok(())
}

/// A convolution's padding, in its mode, on spatial `sizes` (the last one
/// or two of the 2D geometry).
fn conv_padding_fits(
    path: &str,
    mode: PaddingMode,
    sizes: &[usize],
    padding: PaddingSpec,
    kernel: [usize; 2],
    dilation: [usize; 2],
    stride: [usize; 2],
) -> Result<()> {
    if mode.is_zeros() {
        return Ok(());
    }
    let pads: [(usize, usize); 2] = match resolve_padding(path, padding, stride)? {
        Some(p) => p.map(|v| (v, v)),
        None => [0, 1].map(|i| crate::layers::same_padding(kernel[i], dilation[i])),
    };
    mode_fits(path, "paddingMode", mode, sizes, &pads[2 - sizes.len()..])
}

/// Explicit padding per axis, validating "same" (stride 1 only).
pub(super) fn resolve_padding(path: &str, p: PaddingSpec, stride: [usize; 2]) -> Result<Option<[usize; 2]>> {
    match p {
        PaddingSpec::Size(s) => Ok(Some(s.pair())),
        PaddingSpec::Named(PaddingName::Valid) => Ok(Some([0, 0])),
        PaddingSpec::Named(PaddingName::Same) if stride == [1, 1] => Ok(None),
        PaddingSpec::Named(PaddingName::Same) => Err(invalid(&format!("{path}.padding"), "\"same\" padding needs stride 1")),
    }
}

/// Intermediate buffers a layer needs beyond its output (attention scores,
/// im2col columns, tables) must fit the same bound as activations.
fn workspace(path: &str, what: &str, factors: &[usize]) -> Result<()> {
    if prod(factors) > MAX_ACTIVATION {
        return Err(invalid(path, format!("needs a {what} of {factors:?} elements per example, which is too large")));
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn conv2d_shape(
    path: &str,
    input: &[usize],
    out: usize,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: PaddingSpec,
    dilation: [usize; 2],
    groups: usize,
) -> Result<(Vec<usize>, usize)> {
    rank(path, "a 2D convolution", input, 3, "[channels, height, width]")?;
    at_least(path, "out", out, 1)?;
    limits::at_most(path, "out", out, limits::MAX_CHANNELS)?;
    for (field, v) in [("kernel", kernel), ("stride", stride), ("dilation", dilation)] {
        at_least(path, field, v[0].min(v[1]), 1)?;
    }
    at_least(path, "groups", groups, 1)?;
    let c = input[0];
    if !c.is_multiple_of(groups) || !out.is_multiple_of(groups) {
        return Err(invalid(&format!("{path}.groups"), format!("{c} input and {out} output channels must both be divisible by groups = {groups}")));
    }
    let (h, w) = match resolve_padding(path, padding, stride)? {
        None => (input[1], input[2]),
        Some(p) => (out_size(path, input[1], kernel[0], stride[0], p[0], dilation[0])?, out_size(path, input[2], kernel[1], stride[1], p[1], dilation[1])?),
    };
    workspace(path, "column buffer", &[c / groups, kernel[0], kernel[1], h, w])?;
    Ok((vec![out, h, w], prod(&[out, c / groups, kernel[0], kernel[1]])))
}

fn pool_shape(path: &str, input: &[usize], dims: usize, p: Pool2dParams) -> Result<Vec<usize>> {
    if dims == 1 {
        rank(path, "a 1D pool", input, 2, "[channels, length]")?;
    } else {
        rank(path, "a 2D pool", input, 3, "[channels, height, width]")?;
    }
    at_least(path, "kernel", p.kernel[0].min(p.kernel[1]), 1)?;
    at_least(path, "stride", p.stride[0].min(p.stride[1]), 1)?;
    at_least(path, "dilation", p.dilation[0].min(p.dilation[1]), 1)?;
    let reach = |i: usize| p.dilation[i].saturating_mul(p.kernel[i] - 1).saturating_add(1);
    if 2 * p.padding[0] > reach(0) || 2 * p.padding[1] > reach(1) {
        return Err(invalid(&format!("{path}.padding"), "must be at most half the kernel size"));
    }
    let mut out = vec![input[0]];
    for axis in (2 - dims)..2 {
        let size = input[axis + dims - 1];
        // Check the window fits with the convolution rule, then size the output as pooling does.
        out_size(path, size, p.kernel[axis], 1, p.padding[axis], p.dilation[axis])?;
        out.push(p.output_size(axis, size).ok_or_else(|| invalid(path, format!("no window fits an input of {size}")))?);
    }
    Ok(out)
}

fn sequence(path: &str, kind: &str, input: &[usize]) -> Result<(usize, usize)> {
    rank(path, kind, input, 2, "[time, features]")?;
    if input[0] == 0 {
        return Err(invalid(path, format!("{kind} needs at least one time step")));
    }
    Ok((input[0], input[1]))
}

/// A recurrent layer's options beyond its sizes.
pub(super) struct RecurrentShape {
    pub gates: usize,
    pub bias: bool,
    pub dropout: f32,
    pub proj_size: usize,
}

#[allow(clippy::too_many_arguments)]
fn recurrent(
    path: &str,
    input: &[usize],
    hidden: usize,
    layers: usize,
    bidirectional: bool,
    output: SequenceOutput,
    r: RecurrentShape,
) -> Result<(Vec<usize>, usize)> {
    let (t, f) = sequence(path, "a recurrent layer", input)?;
    at_least(path, "hidden", hidden, 1)?;
    limits::at_most(path, "hidden", hidden, limits::MAX_HIDDEN)?;
    at_least(path, "layers", layers, 1)?;
    if !(0.0..1.0).contains(&r.dropout) {
        return Err(invalid(&format!("{path}.dropout"), format!("must be in [0, 1) (got {})", r.dropout)));
    }
    if r.proj_size >= hidden {
        return Err(invalid(&format!("{path}.projSize"), format!("must be below hidden ({hidden}), or 0 for none (got {})", r.proj_size)));
    }
    let dirs = if bidirectional { 2 } else { 1 };
    let state = if r.proj_size > 0 { r.proj_size } else { hidden };
    let g = prod(&[r.gates, hidden]);
    let params = (0..layers.min(64)).fold(0usize, |acc, l| {
        let inputs = if l == 0 { f } else { prod(&[state, dirs]) };
        let biases = if r.bias { prod(&[2, g]) } else { 0 };
        let projection = if r.proj_size > 0 { prod(&[r.proj_size, hidden]) } else { 0 };
        acc.saturating_add(prod(&[dirs, sum(&[prod(&[g, inputs]), prod(&[g, state]), biases, projection])]))
    });
    let params = if layers > 64 { usize::MAX } else { params };
    let width = prod(&[dirs, state]);
    Ok((if output == SequenceOutput::Last { vec![width] } else { vec![t, width] }, params))
}

/// Output shape and parameter count of one layer; nested layers are reported too.
fn layer(spec: &LayerSpec, input: &[usize], path: &str, reports: &mut Vec<LayerReport>) -> Result<(Vec<usize>, usize)> {
    let (output, params) = match *spec {
        LayerSpec::Linear { out, bias, sigma_w } => {
            let Some(&last) = input.last() else { return Err(invalid(path, "linear needs at least one input axis")) };
            if let Some(v) = sigma_w
                && !(v.is_finite() && (0.0..=limits::MAX_SIGMA_W).contains(&v))
            {
                return Err(invalid(&format!("{path}.sigmaW"), format!("must be a number from 0 to {} (got {v})", limits::MAX_SIGMA_W)));
            }
            at_least(path, "out", out, 1)?;
            limits::at_most(path, "out", out, limits::MAX_WIDTH)?;
            let mut o = input.to_vec();
            *o.last_mut().expect("non-empty") = out;
            (o, sum(&[prod(&[last, out]), if bias { out } else { 0 }]))
        }
        LayerSpec::Conv1d { out, kernel, stride, padding, dilation, groups, bias, padding_mode } => {
            rank(path, "a 1D convolution", input, 2, "[channels, length]")?;
            conv_padding_fits(path, padding_mode, &input[1..], padding, [1, kernel], [1, dilation], [1, stride])?;
            let (o, p) = conv2d_shape(
                path,
                &[input[0], 1, input[1]],
                out,
                [1, kernel],
                [1, stride],
                match padding {
                    PaddingSpec::Size(s) => PaddingSpec::Size(super::Size2::Two([0, s.pair()[1]])),
                    other => other,
                },
                [1, dilation],
                groups,
            )?;
            (vec![o[0], o[2]], sum(&[p, if bias { out } else { 0 }]))
        }
        LayerSpec::Conv2d { out, kernel, stride, padding, dilation, groups, bias, padding_mode } => {
            let (o, p) = conv2d_shape(path, input, out, kernel.pair(), stride.pair(), padding, dilation.pair(), groups)?;
            conv_padding_fits(path, padding_mode, &input[1..], padding, kernel.pair(), dilation.pair(), stride.pair())?;
            (o, sum(&[p, if bias { out } else { 0 }]))
        }
        LayerSpec::MaxPool1d { .. } | LayerSpec::AvgPool1d { .. } | LayerSpec::MaxPool2d { .. } | LayerSpec::AvgPool2d { .. } => {
            let (dims, _, params) = spec.pool().expect("a pooling layer");
            (pool_shape(path, input, dims, params)?, 0)
        }
        LayerSpec::AdaptiveAvgPool1d { .. }
        | LayerSpec::AdaptiveMaxPool1d { .. }
        | LayerSpec::AdaptiveAvgPool2d { .. }
        | LayerSpec::AdaptiveMaxPool2d { .. } => {
            let (dims, _, output) = spec.adaptive_pool().expect("an adaptive pooling layer");
            if dims == 1 {
                rank(path, "a 1D adaptive pool", input, 2, "[channels, length]")?;
            } else {
                rank(path, "a 2D adaptive pool", input, 3, "[channels, height, width]")?;
            }
            at_least(path, "output", output[0].min(output[1]), 1)?;
            limits::at_most(path, "output", output[0].max(output[1]), limits::MAX_CHANNELS)?;
            let mut out = vec![input[0]];
            out.extend(&output[2 - dims..]);
            (out, 0)
        }
        LayerSpec::Pad { ref padding, mode, value } => {
            if !(2..=3).contains(&input.len()) {
                return Err(invalid(path, format!("padding expects [C, L] or [C, H, W], got {input:?}")));
            }
            let axes = input.len() - 1;
            let Some(pairs) = padding.pairs(axes) else {
                return Err(invalid(&format!("{path}.padding"), format!("takes one size, or two per padded axis ({} here)", 2 * axes)));
            };
            if !value.is_finite() {
                return Err(invalid(&format!("{path}.value"), "must be a finite number"));
            }
            mode_fits(path, "padding", mode, &input[1..], &pairs)?;
            let mut out = vec![input[0]];
            out.extend(input[1..].iter().zip(&pairs).map(|(&n, &(b, a))| sum(&[n, b, a])));
            (out, 0)
        }
        LayerSpec::GlobalAvgPool => {
            rank(path, "global average pooling", input, 3, "[channels, height, width]")?;
            (vec![input[0]], 0)
        }
        LayerSpec::Flatten => (vec![prod(input)], 0),
        LayerSpec::Dropout { p } => {
            if !(0.0..1.0).contains(&p) {
                return Err(invalid(&format!("{path}.p"), format!("must be in [0, 1) (got {p})")));
            }
            (input.to_vec(), 0)
        }
        LayerSpec::Embedding { num, dim, padding_idx, max_norm } => {
            rank(path, "an embedding", input, 1, "[time] token ids")?;
            at_least(path, "num", num, 1)?;
            at_least(path, "dim", dim, 1)?;
            if let Some(p) = padding_idx
                && !(-(num.min(i64::MAX as usize) as i64)..num.min(i64::MAX as usize) as i64).contains(&p)
            {
                return Err(invalid(&format!("{path}.paddingIdx"), format!("must name one of the {num} rows: from -{num} to {} (got {p})", num - 1)));
            }
            if let Some(m) = max_norm
                && !(m.is_finite() && m > 0.0)
            {
                return Err(invalid(&format!("{path}.maxNorm"), format!("must be above 0 (got {m})")));
            }
            (vec![input[0], dim], prod(&[num, dim]))
        }
        LayerSpec::BatchNorm { affine, momentum, .. } => {
            if !(1..=3).contains(&input.len()) {
                return Err(invalid(path, format!("batch norm expects [C], [C, L] or [C, H, W], got {input:?}")));
            }
            if let Some(m) = momentum
                && !(0.0..=1.0).contains(&m)
            {
                return Err(invalid(&format!("{path}.momentum"), format!("must be from 0 to 1, or null for a cumulative average (got {m})")));
            }
            (input.to_vec(), if affine { prod(&[2, input[0]]) } else { 0 })
        }
        LayerSpec::LayerNorm { ref normalized_shape, elementwise_affine, bias } => {
            if input.is_empty() {
                return Err(invalid(path, "layer norm needs at least one input axis"));
            }
            if let Some(shape) = normalized_shape
                && (shape.is_empty() || shape.len() > input.len() || input[input.len() - shape.len()..] != shape[..])
            {
                return Err(invalid(&format!("{path}.normalizedShape"), format!("must be the input's last axes (the input is {input:?}), got {shape:?}")));
            }
            let size = prod(&spec.layer_norm_shape(input));
            (input.to_vec(), if elementwise_affine { prod(&[1 + bias as usize, size]) } else { 0 })
        }
        LayerSpec::Activation { slope, .. } => {
            if let Some(s) = slope
                && !(0.0..1.0).contains(&s)
            {
                return Err(invalid(&format!("{path}.slope"), format!("must be in [0, 1) (got {s})")));
            }
            (input.to_vec(), 0)
        }
        LayerSpec::Residual { ref body, ref shortcut, scale, .. } => {
            if !scale.is_finite() {
                return Err(invalid(&format!("{path}.scale"), "must be a finite number"));
            }
            let (b, bp) = sequence_of(body, input, &format!("{path}.body"), reports)?;
            let (s, sp) = sequence_of(shortcut, input, &format!("{path}.shortcut"), reports)?;
            if b != s {
                return Err(invalid(path, format!("the body gives {b:?} but the shortcut gives {s:?}; add a shortcut layer that matches")));
            }
            (b, sum(&[bp, sp]))
        }
        LayerSpec::InvertedResidual { out, expand, stride, .. } => {
            rank(path, "an inverted residual block", input, 3, "[channels, height, width]")?;
            at_least(path, "out", out, 1)?;
            limits::at_most(path, "out", out, limits::MAX_CHANNELS)?;
            at_least(path, "expand", expand, 1)?;
            at_least(path, "stride", stride, 1)?;
            let (c, hidden) = (input[0], prod(&[input[0], expand]));
            let h = out_size(path, input[1], 3, stride, 1, 1)?;
            let w = out_size(path, input[2], 3, stride, 1, 1)?;
            let expand_params = if expand == 1 { 0 } else { sum(&[prod(&[c, hidden]), prod(&[2, hidden])]) };
            (vec![out, h, w], sum(&[expand_params, prod(&[hidden, 11]), prod(&[hidden, out]), prod(&[2, out])]))
        }
        LayerSpec::ConvBn { out, kernel, stride, padding, groups, .. } => {
            let (o, p) = conv2d_shape(path, input, out, [kernel; 2], [stride; 2], padding, [1, 1], groups)?;
            (o, sum(&[p, prod(&[2, out])]))
        }
        LayerSpec::Rnn { hidden, layers, bidirectional, output, bias, dropout, .. } => {
            recurrent(path, input, hidden, layers, bidirectional, output, RecurrentShape { gates: 1, bias, dropout, proj_size: 0 })?
        }
        LayerSpec::Gru { hidden, layers, bidirectional, output, bias, dropout } => {
            recurrent(path, input, hidden, layers, bidirectional, output, RecurrentShape { gates: 3, bias, dropout, proj_size: 0 })?
        }
        LayerSpec::Lstm { hidden, layers, bidirectional, output, bias, dropout, proj_size } => {
            recurrent(path, input, hidden, layers, bidirectional, output, RecurrentShape { gates: 4, bias, dropout, proj_size })?
        }
        LayerSpec::Attention { heads, bias, add_bias_kv, .. } => {
            let (t, e) = sequence(path, "attention", input)?;
            workspace(path, "score matrix", &[heads, t, t + 2])?;
            at_least(path, "heads", heads, 1)?;
            limits::at_most(path, "heads", heads, limits::MAX_HEADS)?;
            if e % heads != 0 {
                return Err(invalid(&format!("{path}.heads"), format!("the {e} features must divide into {heads} heads")));
            }
            let biases = if bias { prod(&[4, e]) } else { 0 };
            (input.to_vec(), sum(&[prod(&[4, e, e]), biases, if add_bias_kv { prod(&[2, e]) } else { 0 }]))
        }
        LayerSpec::TransformerEncoder { heads, ff, dropout, .. } => {
            let (t, e) = sequence(path, "a transformer layer", input)?;
            workspace(path, "score matrix", &[heads, t, t])?;
            workspace(path, "feed-forward activation", &[t, ff])?;
            at_least(path, "heads", heads, 1)?;
            limits::at_most(path, "heads", heads, limits::MAX_HEADS)?;
            at_least(path, "ff", ff, 1)?;
            if e % heads != 0 {
                return Err(invalid(&format!("{path}.heads"), format!("the {e} features must divide into {heads} heads")));
            }
            if !(0.0..1.0).contains(&dropout) {
                return Err(invalid(&format!("{path}.dropout"), format!("must be in [0, 1) (got {dropout})")));
            }
            (input.to_vec(), sum(&[prod(&[4, e, e]), prod(&[8, e]), prod(&[2, e, ff]), ff, e]))
        }
        LayerSpec::PositionalEncoding { kind, max_len } => {
            let (t, e) = sequence(path, "a positional encoding", input)?;
            if t > max_len {
                return Err(invalid(&format!("{path}.maxLen"), format!("must cover the {t} time steps (got {max_len})")));
            }
            workspace(&format!("{path}.maxLen"), "position table", &[max_len, e])?;
            (input.to_vec(), if kind == super::PositionalKind::Learned { prod(&[max_len, e]) } else { 0 })
        }
        LayerSpec::Aaren => {
            let (_, e) = sequence(path, "Aaren", input)?;
            (input.to_vec(), sum(&[e, prod(&[3, sum(&[prod(&[e, e]), e])])]))
        }
        LayerSpec::S4d { state } => {
            let (t, h) = sequence(path, "S4D", input)?;
            workspace(path, "convolution kernel", &[h, t, t])?;
            workspace(path, "state", &[h, state, t])?;
            if state < 2 || state % 2 != 0 {
                return Err(invalid(&format!("{path}.state"), format!("must be an even number >= 2 (got {state})")));
            }
            (input.to_vec(), prod(&[h, sum(&[2, prod(&[2, state])])]))
        }
        LayerSpec::LastStep => {
            let (_, f) = sequence(path, "last_step", input)?;
            (vec![f], 0)
        }
        LayerSpec::Tail { steps } => {
            let (t, f) = sequence(path, "tail", input)?;
            if steps == 0 || steps > t {
                return Err(invalid(&format!("{path}.steps"), format!("must be from 1 to the {t} time steps (got {steps})")));
            }
            (vec![steps, f], 0)
        }
    };
    let size = prod(&output);
    if size > MAX_ACTIVATION || output.contains(&0) {
        return Err(invalid(path, format!("produces an output of shape {output:?}, which is empty or too large")));
    }
    if params > MAX_PARAMS {
        return Err(invalid(path, format!("has {params} parameters; the limit is {MAX_PARAMS}")));
    }
    reports.push(LayerReport { path: path.to_string(), kind: spec.type_name(), output: output.clone(), params });
    Ok((output, params))
}

/// The output shape of one already-checked layer.
pub(super) fn layer_shape(spec: &LayerSpec, input: &[usize], reports: &mut Vec<LayerReport>) -> Result<Vec<usize>> {
    Ok(layer(spec, input, "", reports)?.0)
}

/// Shapes through a list of layers (an empty list is the identity).
fn sequence_of(layers: &[LayerSpec], input: &[usize], path: &str, reports: &mut Vec<LayerReport>) -> Result<(Vec<usize>, usize)> {
    let mut shape = input.to_vec();
    let mut total = 0usize;
    for (i, spec) in layers.iter().enumerate() {
        let (s, p) = layer(spec, &shape, &format!("{path}[{i}]"), reports)?;
        shape = s;
        total = total.saturating_add(p);
        if total > MAX_PARAMS {
            return Err(invalid(path, format!("the model has more than {MAX_PARAMS} parameters")));
        }
    }
    Ok((shape, total))
}

/// Every layer's output shape and parameter count, before anything runs.
pub fn infer(spec: &ModelSpec) -> Result<ModelReport> {
    limits::check(spec)?;
    if spec.input.is_empty() || spec.input.contains(&0) || spec.input.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).is_none_or(|n| n > MAX_ACTIVATION) {
        return Err(invalid("input", format!("must be a non-empty shape of positive sizes (got {:?})", spec.input)));
    }
    if spec.layers.is_empty() {
        return Err(invalid("layers", "a model needs at least one layer"));
    }
    let mut layers = Vec::new();
    let (output, params) = sequence_of(&spec.layers, &spec.input, "layers", &mut layers)?;
    Ok(ModelReport { input: spec.input.clone(), output, params, layers, tokens: super::tokens::token_support(spec) })
}
