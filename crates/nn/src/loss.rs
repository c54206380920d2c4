//! Losses, each a mean over the batch, with PyTorch's definitions.

use nnlab_core::{Error, Result, Tensor, no_grad};

/// Softmax cross-entropy of logits [N, C] against class indices [N].
pub fn softmax_cross_entropy(logits: &Tensor, labels: &Tensor) -> Result<Tensor> {
    cross_entropy(logits, labels, 0.0)
}

/// Per-sample cross-entropy [N] with label smoothing ε (torch's
/// `label_smoothing`): -(1 - ε) log p[y] - ε / C Σ_c log p[c].
pub fn cross_entropy_per_sample(logits: &Tensor, labels: &Tensor, smoothing: f32) -> Result<Tensor> {
    if logits.rank() != 2 || labels.shape() != [logits.shape()[0]] {
        return Err(Error::ShapeMismatch { op: "cross_entropy", lhs: logits.shape().to_vec(), rhs: labels.shape().to_vec() });
    }
    if !(0.0..=1.0).contains(&smoothing) {
        return Err(Error::InvalidArgument { op: "cross_entropy", reason: format!("label smoothing must be in [0, 1], got {smoothing}") });
    }
    if smoothing == 0.0 {
        return logits.cross_entropy_rows(labels);
    }
    let classes = logits.shape()[1];
    let logp = logits.log_softmax(-1)?;
    let picked = logp.mul(&Tensor::one_hot(labels, classes)?)?.sum(&[-1], false)?;
    let mut loss = picked.mul_scalar(-(1.0 - smoothing))?;
    if smoothing > 0.0 {
        loss = loss.sub(&logp.sum(&[-1], false)?.mul_scalar(smoothing / classes as f32)?)?;
    }
    Ok(loss)
}

pub fn cross_entropy(logits: &Tensor, labels: &Tensor, smoothing: f32) -> Result<Tensor> {
    cross_entropy_per_sample(logits, labels, smoothing)?.mean_all()
}

fn same_shape(op: &'static str, a: &Tensor, b: &Tensor) -> Result<()> {
    if a.shape() != b.shape() {
        return Err(Error::ShapeMismatch { op, lhs: a.shape().to_vec(), rhs: b.shape().to_vec() });
    }
    Ok(())
}

/// Mean squared error between predictions and targets of the same shape.
pub fn mse(pred: &Tensor, target: &Tensor) -> Result<Tensor> {
    same_shape("mse", pred, target)?;
    pred.sub(target)?.square()?.mean_all()
}

/// Binary cross-entropy on logits, in the stable form
/// max(x, 0) - x t + log(1 + exp(-|x|)).
pub fn bce_with_logits(logits: &Tensor, target: &Tensor) -> Result<Tensor> {
    same_shape("bce_with_logits", logits, target)?;
    let softplus = logits.abs()?.neg()?.exp()?.add_scalar(1.0)?.log()?;
    logits.relu()?.sub(&logits.mul(target)?)?.add(&softplus)?.mean_all()
}

/// Huber loss: 0.5 d² where |d| < δ, else δ (|d| - δ/2).
pub fn huber(pred: &Tensor, target: &Tensor, delta: f32) -> Result<Tensor> {
    same_shape("huber", pred, target)?;
    let d = pred.sub(target)?.abs()?;
    let quadratic = d.square()?.mul_scalar(0.5)?;
    let linear = d.add_scalar(-0.5 * delta)?.mul_scalar(delta)?;
    let delta_t = Tensor::scalar(delta, &d.device())?;
    d.lt(&delta_t)?.where_(&quadratic, &linear)?.mean_all()
}

/// Gaussian negative log-likelihood 0.5 (log var + (x - t)² / var), with var
/// clamped below at `eps` in value only (the gradient passes through, as in torch).
pub fn gaussian_nll(mean: &Tensor, target: &Tensor, var: &Tensor, eps: f32) -> Result<Tensor> {
    same_shape("gaussian_nll", mean, target)?;
    same_shape("gaussian_nll", mean, var)?;
    let clamp_shift = {
        let _g = no_grad();
        var.maximum(&Tensor::scalar(eps, &var.device())?)?.sub(var)?
    };
    let v = var.add(&clamp_shift.detach())?;
    v.log()?.add(&mean.sub(target)?.square()?.div(&v)?)?.mul_scalar(0.5)?.mean_all()
}

/// Bucket of each target among `borders` (b_0 < ... < b_K): the k with
/// b_k <= y < b_{k+1}, clamped to [0, K-1]. Not differentiable.
pub fn buckets(borders: &[f32], y: &[f32]) -> Vec<f32> {
    let k = borders.len() - 1;
    y.iter().map(|&v| (borders.partition_point(|&b| b <= v).saturating_sub(1)).min(k - 1) as f32).collect()
}

/// The PFN bar-distribution ("Riemann") negative log-likelihood (Müller et al.
/// 2022): logits [N, K] over K buckets with `borders` (K + 1 increasing
/// values); density in bucket k is softmax_k / width_k.
pub async fn bar_distribution_nll(logits: &Tensor, y: &Tensor, borders: &[f32]) -> Result<Tensor> {
    let k = borders.len().saturating_sub(1);
    if k == 0 || borders.windows(2).any(|w| w[1] <= w[0]) {
        return Err(Error::InvalidArgument { op: "bar_distribution_nll", reason: "borders must be at least two increasing values".into() });
    }
    if logits.rank() != 2 || logits.shape()[1] != k || y.shape() != [logits.shape()[0]] {
        return Err(Error::ShapeMismatch { op: "bar_distribution_nll", lhs: logits.shape().to_vec(), rhs: y.shape().to_vec() });
    }
    let device = logits.device();
    let idx = Tensor::from_vec(buckets(borders, &y.to_vec().await?), y.shape(), &device)?;
    let log_width: Vec<f32> = borders.windows(2).map(|w| (w[1] - w[0]).ln()).collect();
    let log_density = logits.log_softmax(-1)?.sub(&Tensor::from_vec(log_width, &[k], &device)?)?;
    log_density.mul(&Tensor::one_hot(&idx, k)?)?.sum(&[-1], false)?.mean_all()?.neg()
}

/// The bias loss of Abrahamyan et al. (2021): cross-entropy weighted per sample
/// by z = exp(α v) - β, where v is the variance of the sample's features
/// ([N, ...], unbiased as torch.var) min-max normalised over the batch. z is a
/// constant weight (no gradient flows into the features through it).
pub fn bias_loss(features: &Tensor, logits: &Tensor, labels: &Tensor, alpha: f32, beta: f32) -> Result<Tensor> {
    let n = features.shape().first().copied().unwrap_or(0);
    if n == 0 || logits.shape().first() != Some(&n) {
        return Err(Error::ShapeMismatch { op: "bias_loss", lhs: features.shape().to_vec(), rhs: logits.shape().to_vec() });
    }
    let z = {
        let _g = no_grad();
        let f = features.reshape(&[n, features.numel() / n])?;
        let count = f.shape()[1] as f32;
        let v = f.sub(&f.mean(&[1], true)?)?.square()?.sum(&[1], false)?.mul_scalar(1.0 / (count - 1.0).max(1.0))?;
        let (lo, hi) = (v.min(&[0], true)?, v.max(&[0], true)?);
        // A batch of equal variances normalises to 0 rather than 0 / 0.
        let range = hi.sub(&lo)?.maximum(&Tensor::scalar(1e-12, &v.device())?)?;
        v.sub(&lo)?.div(&range)?.mul_scalar(alpha)?.exp()?.add_scalar(-beta)?
    };
    cross_entropy_per_sample(logits, labels, 0.0)?.mul(&z.detach())?.mean_all()
}
