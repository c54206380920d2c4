//! Normalisations of each row over the last axis as primitives: softmax,
//! log-softmax and layer norm without its affine part. Composed from
//! reductions and elementwise ops each costs 5-9 GPU dispatches forward and
//! more backward; as primitives they are one kernel each way.

use nnlab_gpu::RowKernel;

use super::{common_device, Data};
use crate::{Error, Op, Result, RowOp, Storage, Tensor};

fn kernel(op: RowOp) -> RowKernel {
    match op {
        RowOp::Softmax => RowKernel::Softmax,
        RowOp::LogSoftmax => RowKernel::LogSoftmax,
        RowOp::LayerNorm { eps } => RowKernel::LayerNorm { eps },
    }
}

/// (rows, cols) of `x` seen as [rows, last axis].
fn rows_cols(x: &Tensor) -> Result<(usize, usize)> {
    match x.shape().split_last() {
        Some((&cols, outer)) => Ok((outer.iter().product(), cols)),
        None => Err(Error::InvalidArgument { op: "row op", reason: "a scalar has no rows".into() }),
    }
}

/// (shift, scale) of a row: (max, sum of exp(x - max)) for the softmax
/// family, (mean, 1 / sqrt(variance + eps)) for layer norm.
fn stats(op: RowOp, row: &[f32]) -> (f32, f32) {
    if let RowOp::LayerNorm { eps } = op {
        let mean = row.iter().sum::<f32>() / row.len() as f32;
        let var = row.iter().map(|&v| (v - mean) * (v - mean)).sum::<f32>() / row.len() as f32;
        return (mean, 1.0 / (var + eps).sqrt());
    }
    let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    (m, row.iter().map(|&v| (v - m).exp()).sum())
}

/// softmax(x) for the softmax family, the normalised x for layer norm.
fn normalised(op: RowOp, v: f32, (shift, scale): (f32, f32)) -> f32 {
    match op {
        RowOp::LayerNorm { .. } => (v - shift) * scale,
        _ => (v - shift).exp() / scale,
    }
}

fn forward_row(op: RowOp, row: &[f32], out: &mut [f32]) {
    let st = stats(op, row);
    for (o, &v) in out.iter_mut().zip(row) {
        *o = if op == RowOp::LogSoftmax { v - st.0 - st.1.ln() } else { normalised(op, v, st) };
    }
}

fn backward_row(op: RowOp, row: &[f32], g: &[f32], out: &mut [f32]) {
    let st = stats(op, row);
    let y: Vec<f32> = row.iter().map(|&v| normalised(op, v, st)).collect();
    let gy: f32 = g.iter().zip(&y).map(|(a, b)| a * b).sum();
    let gs: f32 = g.iter().sum();
    let c = row.len() as f32;
    for (k, o) in out.iter_mut().enumerate() {
        *o = match op {
            RowOp::Softmax => y[k] * (g[k] - gy),
            RowOp::LogSoftmax => g[k] - y[k] * gs,
            RowOp::LayerNorm { .. } => st.1 * (g[k] - gs / c - y[k] * gy / c),
        };
    }
}

impl Tensor {
    /// `op` over every row of the last axis; same shape as `self`.
    pub fn rows(&self, op: RowOp) -> Result<Tensor> {
        let (rows, cols) = rows_cols(self)?;
        let x = self.contiguous()?;
        let storage = match x.data() {
            Data::Gpu(ctx, b) => Storage::Gpu(ctx.rows(kernel(op), b, x.layout().offset, rows, cols, None)?),
            Data::Cpu(_) => {
                let xv = x.cpu_contiguous("row op")?;
                let mut out = vec![0.0; rows * cols];
                if cols > 0 {
                    for (row, o) in xv.chunks(cols).zip(out.chunks_mut(cols)) {
                        forward_row(op, row, o);
                    }
                }
                Storage::Cpu(out)
            }
        };
        Ok(Tensor::from_storage(storage, self.shape(), Some(Op::Rows { x: self.clone(), op })))
    }

    /// The gradient of `x.rows(op)` with respect to x for the upstream
    /// gradient `grad` (x's shape). Not differentiable itself.
    pub fn rows_backward(x: &Tensor, grad: &Tensor, op: RowOp) -> Result<Tensor> {
        common_device("row op backward", &[x, grad])?;
        if x.shape() != grad.shape() {
            return Err(Error::ShapeMismatch { op: "row op backward", lhs: x.shape().to_vec(), rhs: grad.shape().to_vec() });
        }
        let (rows, cols) = rows_cols(x)?;
        let (xc, gc) = (x.contiguous()?, grad.contiguous()?);
        let storage = match (xc.data(), gc.data()) {
            (Data::Gpu(ctx, xb), Data::Gpu(_, gb)) => Storage::Gpu(ctx.rows(kernel(op), xb, xc.layout().offset, rows, cols, Some((gb, gc.layout().offset)))?),
            _ => {
                let (xv, gv) = (xc.cpu_contiguous("row op")?, gc.cpu_contiguous("row op")?);
                let mut out = vec![0.0; rows * cols];
                if cols > 0 {
                    for ((row, g), o) in xv.chunks(cols).zip(gv.chunks(cols)).zip(out.chunks_mut(cols)) {
                        backward_row(op, row, g, o);
                    }
                }
                Storage::Cpu(out)
            }
        };
        Ok(Tensor::from_storage(storage, x.shape(), None))
    }

    /// (x - mean) / sqrt(variance + eps) over the last axis (layer norm
    /// without the learned scale and shift).
    pub fn layer_norm(&self, eps: f32) -> Result<Tensor> {
        self.rows(RowOp::LayerNorm { eps })
    }
}
