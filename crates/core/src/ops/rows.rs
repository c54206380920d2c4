//! Normalisations of each row over the last axis as primitives: softmax,
//! log-softmax and layer norm without its affine part. Composed from
//! reductions and elementwise ops each costs 5-9 GPU dispatches forward and
//! more backward; as primitives they are one kernel each way.

use nnlab_gpu::{GpuBuffer, RowKernel};

use super::{Data, common_device};
use crate::{Error, Op, Result, RowOp, Storage, Tensor};

fn kernel(op: RowOp) -> RowKernel {
    match op {
        RowOp::Softmax => RowKernel::Softmax,
        RowOp::LogSoftmax => RowKernel::LogSoftmax,
        RowOp::LayerNorm { eps } => RowKernel::LayerNorm { eps },
    }
}

/// A contiguous GPU tensor's buffer and element offset.
fn gpu_at(t: &Tensor) -> Result<(&GpuBuffer, usize)> {
    match t.data() {
        Data::Gpu(_, b) => Ok((b, t.layout().offset)),
        Data::Cpu(_) => Err(Error::InvalidArgument { op: "row op", reason: "parameters on another device than x".into() }),
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
        self.rows_with(op, None)
    }

    /// `op`, then per column `* weight + bias` ([cols] each) when given.
    fn rows_with(&self, op: RowOp, affine: Option<(&Tensor, &Tensor)>) -> Result<Tensor> {
        let (rows, cols) = rows_cols(self)?;
        let x = self.contiguous()?;
        let params = affine.map(|(w, b)| Ok::<_, Error>((w.contiguous()?, b.contiguous()?))).transpose()?;
        let storage = match x.data() {
            Data::Gpu(ctx, xb) => {
                let (w, b) = match &params {
                    Some((w, b)) => (Some(gpu_at(w)?), Some(gpu_at(b)?)),
                    None => (None, None),
                };
                Storage::Gpu(ctx.rows(kernel(op), xb, x.layout().offset, rows, cols, None, w, b)?.0)
            }
            Data::Cpu(_) => {
                let xv = x.cpu_contiguous("row op")?;
                let params = params.as_ref().map(|(w, b)| Ok::<_, Error>((w.cpu_contiguous("row op")?, b.cpu_contiguous("row op")?))).transpose()?;
                let mut out = vec![0.0; rows * cols];
                if cols > 0 {
                    for (row, o) in xv.chunks(cols).zip(out.chunks_mut(cols)) {
                        forward_row(op, row, o);
                        if let Some((w, b)) = &params {
                            o.iter_mut().zip(w.iter().zip(b)).for_each(|(o, (w, b))| *o = *o * w + b);
                        }
                    }
                }
                Storage::Cpu(out)
            }
        };
        let affine = affine.map(|(w, b)| (w.clone(), b.clone()));
        Ok(Tensor::from_storage(storage, self.shape(), Some(Op::Rows { x: self.clone(), op, affine })))
    }

    /// The gradient of `x.rows(op)` with respect to x for the upstream
    /// gradient `grad` (x's shape). Not differentiable itself.
    pub fn rows_backward(x: &Tensor, grad: &Tensor, op: RowOp) -> Result<Tensor> {
        Ok(Tensor::rows_backward_with(x, grad, op, None)?.0)
    }

    /// For `x.layer_norm_affine(weight, ..)` and the upstream gradient `grad`:
    /// the gradient of x, and grad * normalised x, whose sum over rows is the
    /// weight's gradient. One kernel.
    pub fn layer_norm_affine_backward(x: &Tensor, grad: &Tensor, weight: &Tensor, op: RowOp) -> Result<(Tensor, Tensor)> {
        let (gx, gw) = Tensor::rows_backward_with(x, grad, op, Some(weight))?;
        Ok((gx, gw.expect("an affine backward gives the weight's part")))
    }

    fn rows_backward_with(x: &Tensor, grad: &Tensor, op: RowOp, weight: Option<&Tensor>) -> Result<(Tensor, Option<Tensor>)> {
        common_device("row op backward", &[x, grad])?;
        if x.shape() != grad.shape() {
            return Err(Error::ShapeMismatch { op: "row op backward", lhs: x.shape().to_vec(), rhs: grad.shape().to_vec() });
        }
        let (rows, cols) = rows_cols(x)?;
        let (xc, gc) = (x.contiguous()?, grad.contiguous()?);
        let w = weight.map(Tensor::contiguous).transpose()?;
        let (gx, gw) = match (xc.data(), gc.data()) {
            (Data::Gpu(ctx, xb), Data::Gpu(_, gb)) => {
                let w = w.as_ref().map(gpu_at).transpose()?;
                let (gx, gw) = ctx.rows(kernel(op), xb, xc.layout().offset, rows, cols, Some((gb, gc.layout().offset)), w, None)?;
                (Storage::Gpu(gx), gw.map(Storage::Gpu))
            }
            _ => {
                let (xv, gv) = (xc.cpu_contiguous("row op")?, gc.cpu_contiguous("row op")?);
                let wv = w.as_ref().map(|w| w.cpu_contiguous("row op")).transpose()?;
                let mut out = vec![0.0; rows * cols];
                let mut gw = wv.as_ref().map(|_| vec![0.0; rows * cols]);
                if cols > 0 {
                    for (r, ((row, g), o)) in xv.chunks(cols).zip(gv.chunks(cols)).zip(out.chunks_mut(cols)).enumerate() {
                        match (&wv, &mut gw) {
                            (Some(w), Some(gw)) => {
                                // y = n * w + b: the normalised row's gradient is g * w.
                                let gn: Vec<f32> = g.iter().zip(w).map(|(g, w)| g * w).collect();
                                backward_row(op, row, &gn, o);
                                let st = stats(op, row);
                                for (k, v) in row.iter().enumerate() {
                                    gw[r * cols + k] = g[k] * normalised(op, *v, st);
                                }
                            }
                            _ => backward_row(op, row, g, o),
                        }
                    }
                }
                (Storage::Cpu(out), gw.map(Storage::Cpu))
            }
        };
        Ok((Tensor::from_storage(gx, x.shape(), None), gw.map(|s| Tensor::from_storage(s, x.shape(), None))))
    }

    /// `layer_norm(eps) * weight + bias` with weight and bias over the last
    /// axis, in one kernel (a LayerNorm layer): forward one dispatch,
    /// backward one for x and the weight's per-row parts, plus the two
    /// column sums.
    pub fn layer_norm_affine(&self, weight: &Tensor, bias: &Tensor, eps: f32) -> Result<Tensor> {
        common_device("layer_norm", &[self, weight, bias])?;
        let cols = self.shape().last().copied().unwrap_or(0);
        for p in [weight, bias] {
            if p.shape() != [cols] {
                return Err(Error::ShapeMismatch { op: "layer_norm affine", lhs: self.shape().to_vec(), rhs: p.shape().to_vec() });
            }
        }
        self.rows_with(RowOp::LayerNorm { eps }, Some((weight, bias)))
    }

    /// (x - mean) / sqrt(variance + eps) over the last axis (layer norm
    /// without the learned scale and shift).
    pub fn layer_norm(&self, eps: f32) -> Result<Tensor> {
        self.rows(RowOp::LayerNorm { eps })
    }
}
