//! Functions built from primitives, in numerically stable forms.

use crate::{Error, Result, RowOp, Tensor};

/// How `Tensor::pad_mode` fills the border (torch.nn.functional.pad's modes).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PadMode {
    Constant(f32),
    /// Mirrored without repeating the edge: [a b c] -> b [a b c] b.
    Reflect,
    /// The edge repeated: a [a b c] c.
    Replicate,
    /// Wrapped around: c [a b c] a.
    Circular,
}

impl Tensor {
    /// log(sum(exp(x))) along `axis`, shifted by the (detached) maximum.
    pub fn logsumexp(&self, axis: isize, keepdim: bool) -> Result<Tensor> {
        let m = self.max(&[axis], true)?.detach();
        let out = self.sub(&m)?.exp()?.sum(&[axis], true)?.log()?.add(&m)?;
        if keepdim { Ok(out) } else { out.sum(&[axis], false) }
    }

    /// Over the last axis a primitive (one kernel); over another, composed.
    pub fn log_softmax(&self, axis: isize) -> Result<Tensor> {
        if self.axis(axis)? + 1 == self.rank() {
            return self.rows(RowOp::LogSoftmax);
        }
        self.sub(&self.logsumexp(axis, true)?)
    }

    /// Over the last axis a primitive (one kernel); over another, composed.
    pub fn softmax(&self, axis: isize) -> Result<Tensor> {
        if self.axis(axis)? + 1 == self.rank() {
            return self.rows(RowOp::Softmax);
        }
        let m = self.max(&[axis], true)?.detach();
        let e = self.sub(&m)?.exp()?;
        e.div(&e.sum(&[axis], true)?)
    }

    /// `self` padded by `pads` (before, after) per axis in `mode`. The
    /// non-constant modes gather along each padded axis, so their gradient is
    /// the gather's (every source position sums what it was copied to).
    pub fn pad_mode(&self, pads: &[(usize, usize)], mode: PadMode) -> Result<Tensor> {
        let fill = match mode {
            PadMode::Constant(v) => Some(v),
            _ => None,
        };
        if let Some(v) = fill {
            let padded = self.pad(pads)?;
            if v == 0.0 {
                return Ok(padded);
            }
            let border = Tensor::ones(self.shape(), &self.device())?.pad(pads)?.neg()?.add_scalar(1.0)?;
            return padded.add(&border.mul_scalar(v)?);
        }
        if pads.len() != self.rank() {
            return Err(Error::InvalidArgument { op: "pad", reason: format!("{} pad pairs for rank {}", pads.len(), self.rank()) });
        }
        let mut out = self.clone();
        for (axis, &(before, after)) in pads.iter().enumerate() {
            if before == 0 && after == 0 {
                continue;
            }
            let n = self.shape()[axis];
            let fits = match mode {
                PadMode::Reflect => before < n && after < n,
                _ => n > 0 && (mode == PadMode::Replicate || (before <= n && after <= n)),
            };
            if !fits {
                return Err(Error::InvalidArgument {
                    op: "pad",
                    reason: format!(
                        "{mode:?} padding of ({before}, {after}) does not fit an axis of {n} (reflect needs less than the axis, circular at most it)"
                    ),
                });
            }
            let source = |i: isize| -> usize {
                let last = n as isize - 1;
                let j = match mode {
                    PadMode::Reflect if i < 0 => -i,
                    PadMode::Reflect if i > last => 2 * last - i,
                    PadMode::Replicate => i.clamp(0, last),
                    PadMode::Circular => i.rem_euclid(n as isize),
                    _ => i,
                };
                j as usize
            };
            let idx: Vec<f32> = (-(before as isize)..(n + after) as isize).map(|i| source(i) as f32).collect();
            let len = idx.len();
            out = out.index_select(axis, &Tensor::from_vec(idx, &[len], &self.device())?)?;
        }
        Ok(out)
    }

    /// One-hot rows for class indices `labels` ([N], whole numbers) over `classes`.
    pub fn one_hot(labels: &Tensor, classes: usize) -> Result<Tensor> {
        let n = labels.numel();
        labels.reshape(&[n, 1])?.eq(&Tensor::arange(classes, &labels.device())?.reshape(&[1, classes])?)
    }

    /// Mean softmax cross-entropy of `self` ([N, C] logits) against class indices.
    pub fn cross_entropy(&self, labels: &Tensor) -> Result<Tensor> {
        self.cross_entropy_rows(labels)?.mean_all()
    }
}
