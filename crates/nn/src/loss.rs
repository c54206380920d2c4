//! Losses, each a mean over the batch.

use nnlab_core::{Result, Tensor};

/// Softmax cross-entropy of logits [N, C] against class indices [N].
pub fn softmax_cross_entropy(logits: &Tensor, labels: &Tensor) -> Result<Tensor> {
    logits.cross_entropy(labels)
}

/// Mean squared error between predictions and targets of the same shape.
pub fn mse(pred: &Tensor, target: &Tensor) -> Result<Tensor> {
    pred.sub(target)?.square()?.mean_all()
}
