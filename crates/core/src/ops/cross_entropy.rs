//! Softmax cross-entropy per row as one primitive: -log softmax(x)[label] =
//! logsumexp(x) - x[label]. Composed from elementwise ops and reductions it
//! costs a dozen GPU dispatches forward and more backward; fused it is one
//! each way.

use super::{Data, common_device};
use crate::{Error, Op, Result, Storage, Tensor};

fn check(logits: &Tensor, labels: &Tensor) -> Result<(usize, usize)> {
    common_device("cross_entropy", &[logits, labels])?;
    if logits.rank() != 2 || labels.shape() != [logits.shape()[0]] {
        return Err(Error::ShapeMismatch { op: "cross_entropy", lhs: logits.shape().to_vec(), rhs: labels.shape().to_vec() });
    }
    Ok((logits.shape()[0], logits.shape()[1]))
}

/// Class indices as usize; an index that is not a whole number below
/// `classes` is an error (the GPU kernels give NaN instead).
fn class_indices(labels: &[f32], classes: usize) -> Result<Vec<usize>> {
    labels
        .iter()
        .map(|&l| {
            if l >= 0.0 && l.fract() == 0.0 && (l as usize) < classes {
                Ok(l as usize)
            } else {
                Err(Error::InvalidArgument { op: "cross_entropy", reason: format!("label {l} is not a class index below {classes}") })
            }
        })
        .collect()
}

/// (max, sum of exp(x - max)) of one row.
fn row_stats(row: &[f32]) -> (f32, f32) {
    let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    (m, row.iter().map(|&v| (v - m).exp()).sum())
}

impl Tensor {
    /// Per-row softmax cross-entropy [N] of logits [N, C] against class
    /// indices [N] (whole numbers stored as floats).
    pub fn cross_entropy_rows(&self, labels: &Tensor) -> Result<Tensor> {
        let (n, c) = check(self, labels)?;
        let op = Some(Op::CrossEntropy { logits: self.clone(), labels: labels.clone() });
        let (x, y) = (self.contiguous()?, labels.contiguous()?);
        let storage = match (x.data(), y.data()) {
            (Data::Gpu(ctx, xb), Data::Gpu(_, yb)) => Storage::Gpu(ctx.cross_entropy(xb, x.layout().offset, yb, y.layout().offset, n, c, None)?),
            _ => {
                let (xv, idx) = (x.cpu_contiguous("cross_entropy")?, class_indices(&y.cpu_contiguous("cross_entropy")?, c)?);
                Storage::Cpu(
                    (0..n)
                        .map(|r| {
                            let row = &xv[r * c..(r + 1) * c];
                            let (m, s) = row_stats(row);
                            m + s.ln() - row[idx[r]]
                        })
                        .collect(),
                )
            }
        };
        Ok(Tensor::from_storage(storage, &[n], op))
    }

    /// The gradient of `cross_entropy_rows` with respect to the logits for the
    /// upstream gradient `grad` [N]: grad[r] * (softmax(x[r]) - onehot(label[r])).
    /// Not differentiable itself.
    pub fn cross_entropy_backward(logits: &Tensor, labels: &Tensor, grad: &Tensor) -> Result<Tensor> {
        let (n, c) = check(logits, labels)?;
        common_device("cross_entropy", &[logits, grad])?;
        if grad.shape() != [n] {
            return Err(Error::ShapeMismatch { op: "cross_entropy", lhs: vec![n], rhs: grad.shape().to_vec() });
        }
        // The kernel steps through the gradient, so a mean's (one value
        // broadcast over the rows) is read in place.
        let (x, y, g) = (logits.contiguous()?, labels.contiguous()?, grad);
        let storage = match (x.data(), y.data(), g.data()) {
            (Data::Gpu(ctx, xb), Data::Gpu(_, yb), Data::Gpu(_, gb)) => {
                let (at, step) = (g.layout().offset, g.layout().strides[0]);
                Storage::Gpu(ctx.cross_entropy(xb, x.layout().offset, yb, y.layout().offset, n, c, Some((gb, at, step)))?)
            }
            _ => {
                let (xv, gv) = (x.cpu_contiguous("cross_entropy")?, g.cpu_contiguous("cross_entropy")?);
                let idx = class_indices(&y.cpu_contiguous("cross_entropy")?, c)?;
                let mut out = vec![0.0; n * c];
                for r in 0..n {
                    let row = &xv[r * c..(r + 1) * c];
                    let (m, s) = row_stats(row);
                    for (k, o) in out[r * c..(r + 1) * c].iter_mut().enumerate() {
                        let p = (row[k] - m).exp() / s;
                        *o = gv[r] * (p - if k == idx[r] { 1.0 } else { 0.0 });
                    }
                }
                Storage::Cpu(out)
            }
        };
        Ok(Tensor::from_storage(storage, &[n, c], None))
    }
}
