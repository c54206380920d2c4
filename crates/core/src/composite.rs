//! Functions built from primitives, in numerically stable forms.

use crate::{Result, RowOp, Tensor};

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
