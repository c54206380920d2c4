//! The primitive operations. Every tensor produced by an op remembers it (when
//! gradients are tracked) so that `backprop.rs` can apply its backward rule;
//! adding a variant forces a backward arm there (the match is exhaustive).

pub use nnlab_gpu::CellKind;

use crate::Tensor;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum UnaryOp {
    Neg,
    Exp,
    Log,
    Sqrt,
    Recip,
    Abs,
    Tanh,
    Sigmoid,
    Relu,
    /// GELU with the exact erf form.
    GeluErf,
    /// GELU with the tanh approximation.
    GeluTanh,
    Sin,
    Cos,
    Erf,
    /// x^p for a scalar p.
    Powf(f32),
    /// x * s
    Scale(f32),
    /// x + s
    AddScalar(f32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Max,
    Min,
}

/// Comparisons produce 0/1 masks and carry no gradient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReduceOp {
    Sum,
    Mean,
    Max,
    Min,
    ArgMax,
}

/// Normalisations of each row over the last axis (see ops/rows.rs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RowOp {
    Softmax,
    LogSoftmax,
    /// (x - mean) / sqrt(variance + eps), without the affine part.
    LayerNorm {
        eps: f32,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2dParams {
    pub stride: [usize; 2],
    pub padding: [usize; 2],
    pub dilation: [usize; 2],
    pub groups: usize,
}

impl Default for Conv2dParams {
    fn default() -> Self {
        Conv2dParams { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 }
    }
}

/// A pooling window per output position, as torch's MaxPool2d/AvgPool2d
/// place them: taps at `o * stride - padding + k * dilation`, k < kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool2dParams {
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub padding: [usize; 2],
    /// Max pooling only (torch's average pooling has none).
    pub dilation: [usize; 2],
    /// Round the output size up: a last window may start in the input and run past it.
    pub ceil_mode: bool,
    /// Average pooling divides by the window's taps with padding included
    /// (torch's default), or else by the taps inside the input.
    pub count_include_pad: bool,
}

impl Pool2dParams {
    /// torch's defaults for the rest: no dilation, floor mode, padding counted.
    pub fn new(kernel: [usize; 2], stride: [usize; 2], padding: [usize; 2]) -> Pool2dParams {
        Pool2dParams { kernel, stride, padding, dilation: [1, 1], ceil_mode: false, count_include_pad: true }
    }

    /// The output size along axis `i` for an input of `input`, or None when
    /// no window fits.
    pub fn output_size(&self, i: usize, input: usize) -> Option<usize> {
        let (k, s, p, d) = (self.kernel[i], self.stride[i], self.padding[i], self.dilation[i]);
        if k == 0 || s == 0 || d == 0 {
            return None;
        }
        let span = (input + 2 * p).checked_sub(d * (k - 1) + 1)?;
        let mut out = if self.ceil_mode { span.div_ceil(s) + 1 } else { span / s + 1 };
        // torch: the last window must start inside the input or its left padding.
        if self.ceil_mode && (out - 1) * s >= input + p {
            out -= 1;
        }
        Some(out)
    }

    /// The divisor of average pooling's window `o` along axis `i` (the
    /// product over both axes divides the sum): its taps up to the padded
    /// input's end, or only those inside the input.
    pub fn average_span(&self, i: usize, o: usize, input: usize) -> usize {
        let (k, s, p) = (self.kernel[i], self.stride[i], self.padding[i]);
        let start = (o * s) as isize - p as isize;
        let end = (start + k as isize).min((input + p) as isize);
        if self.count_include_pad { (end - start).max(0) as usize } else { (end.min(input as isize) - start.max(0)).max(0) as usize }
    }
}

#[derive(Debug, Clone)]
pub enum Op {
    Unary(Tensor, UnaryOp),
    Binary(Tensor, Tensor, BinaryOp),
    /// mask != 0 ? on_true : on_false
    Where(Tensor, Tensor, Tensor),
    Reduce {
        x: Tensor,
        op: ReduceOp,
        axes: Vec<usize>,
    },
    /// alpha * (a @ b): attention scales its scores inside the product.
    Matmul(Tensor, Tensor, f32),
    /// a @ b plus a bias [N] on every row of the product.
    MatmulBias(Tensor, Tensor, Tensor),
    /// With an optional per-output-channel bias [O].
    Conv2d {
        x: Tensor,
        w: Tensor,
        b: Option<Tensor>,
        p: Conv2dParams,
    },
    MaxPool2d {
        x: Tensor,
        p: Pool2dParams,
    },
    AvgPool2d {
        x: Tensor,
        p: Pool2dParams,
    },
    IndexSelect {
        x: Tensor,
        axis: usize,
        index: Tensor,
    },
    /// base with src added at `index` positions along `axis`.
    ScatterAdd {
        base: Tensor,
        axis: usize,
        index: Tensor,
        src: Tensor,
    },
    Concat {
        xs: Vec<Tensor>,
        axis: usize,
    },
    Narrow {
        x: Tensor,
        axis: usize,
        start: usize,
    },
    Reshape(Tensor),
    Permute(Tensor, Vec<usize>),
    Expand(Tensor),
    Pad {
        x: Tensor,
        pads: Vec<(usize, usize)>,
    },
    Cumsum {
        x: Tensor,
        axis: usize,
    },
    Contiguous(Tensor),
    /// LSTM cell from pre-activation gates [N, 4H] (i, f, g, o) and the cell
    /// state [N, H] to [2, N, H]: the new hidden state, then the new cell state.
    LstmCell {
        gates: Tensor,
        c: Tensor,
    },
    /// A recurrent layer's steps (ops/recurrence.rs): the states [S, T + 1, N, H]
    /// from input projections gx [T, N, G*H], recurrent weights [G*H, H], a
    /// recurrent bias and the initial state [S, N, H]. `saved`: each step's
    /// recurrent pre-activations, which a GPU forward keeps for the backward.
    Recurrence {
        kind: CellKind,
        gx: Tensor,
        w_hh: Tensor,
        b_hh: Option<Tensor>,
        state0: Tensor,
        reverse: bool,
        saved: Option<Tensor>,
    },
    /// Attention of one query over every prefix (ops/attention_scan.rs) from
    /// scores [N, T] and values [N, T, D]; `state`: the running maximum and
    /// normaliser of every step [2, N, T], which the backward reads.
    AttentionScan {
        s: Tensor,
        v: Tensor,
        state: Tensor,
    },
    /// A diagonal state-space model's recurrence (ops/ssm_scan.rs) over u
    /// [N, T, C] with decays `a` and readouts `w` (real and imaginary planes
    /// [C, M]); `states`: every step's state [N, C, M, T, 2], which a GPU
    /// forward keeps for the backward.
    SsmScan {
        a: [Tensor; 2],
        w: [Tensor; 2],
        u: Tensor,
        states: Option<Tensor>,
    },
    /// Per-row softmax cross-entropy of logits [N, C] against class indices [N].
    CrossEntropy {
        logits: Tensor,
        labels: Tensor,
    },
    /// A normalisation of each row over the last axis; a layer norm may take
    /// its learned per-column (weight, bias) in the same kernel.
    Rows {
        x: Tensor,
        op: RowOp,
        affine: Option<(Tensor, Tensor)>,
    },
}

impl Op {
    pub fn inputs(&self) -> Vec<&Tensor> {
        match self {
            Op::Unary(x, _) | Op::Reshape(x) | Op::Permute(x, _) | Op::Expand(x) | Op::Contiguous(x) => vec![x],
            Op::Binary(a, b, _) | Op::Matmul(a, b, _) => vec![a, b],
            Op::Where(m, a, b) | Op::MatmulBias(m, a, b) => vec![m, a, b],
            Op::Rows { x, affine: Some((w, b)), .. } => vec![x, w, b],
            Op::Reduce { x, .. }
            | Op::Rows { x, affine: None, .. }
            | Op::MaxPool2d { x, .. }
            | Op::AvgPool2d { x, .. }
            | Op::Narrow { x, .. }
            | Op::Pad { x, .. }
            | Op::Cumsum { x, .. } => vec![x],
            Op::Conv2d { x, w, b, .. } => [x, w].into_iter().chain(b.as_ref()).collect(),
            Op::LstmCell { gates, c } => vec![gates, c],
            Op::Recurrence { gx, w_hh, b_hh, state0, .. } => [gx, w_hh, state0].into_iter().chain(b_hh.as_ref()).collect(),
            Op::CrossEntropy { logits, labels } => vec![logits, labels],
            Op::AttentionScan { s, v, .. } => vec![s, v],
            Op::SsmScan { a, w, u, .. } => a.iter().chain(w).chain([u]).collect(),
            Op::IndexSelect { x, index, .. } => vec![x, index],
            Op::ScatterAdd { base, index, src, .. } => vec![base, index, src],
            Op::Concat { xs, .. } => xs.iter().collect(),
        }
    }
}
