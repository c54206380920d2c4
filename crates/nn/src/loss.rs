//! Losses with PyTorch's definitions, arguments and defaults.

use nnlab_core::{Error, Result, Tensor, no_grad};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How a loss folds its per-element values (torch's `reduction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reduction {
    #[default]
    Mean,
    Sum,
    /// One value per element (per example for cross-entropy).
    None,
}

impl Reduction {
    pub fn apply(self, values: &Tensor) -> Result<Tensor> {
        match self {
            Reduction::Mean => values.mean_all(),
            Reduction::Sum => values.sum_all(),
            Reduction::None => Ok(values.clone()),
        }
    }
}

/// `F.cross_entropy`'s options; the default is PyTorch's.
#[derive(Debug, Clone, Default)]
pub struct CrossEntropyOptions {
    /// One weight per class, [C].
    pub weight: Option<Tensor>,
    /// Examples whose class index equals this add nothing to the loss or to
    /// the mean's denominator (PyTorch's default, -100, is `Some(-100)`;
    /// `None` ignores no class).
    pub ignore_index: Option<i64>,
    pub label_smoothing: f32,
    pub reduction: Reduction,
}

/// Softmax cross-entropy of logits [N, C] against class indices [N].
pub fn softmax_cross_entropy(logits: &Tensor, labels: &Tensor) -> Result<Tensor> {
    cross_entropy(logits, labels, 0.0)
}

/// Mean cross-entropy of logits [N, C] against class indices [N] with label smoothing.
pub fn cross_entropy(logits: &Tensor, labels: &Tensor, smoothing: f32) -> Result<Tensor> {
    cross_entropy_per_sample(logits, labels, smoothing)?.mean_all()
}

/// Per-sample cross-entropy [N] with label smoothing ε (torch's
/// `label_smoothing`): -(1 - ε) log p[y] - ε / C Σ_c log p[c].
pub fn cross_entropy_per_sample(logits: &Tensor, labels: &Tensor, smoothing: f32) -> Result<Tensor> {
    cross_entropy_with(logits, labels, &CrossEntropyOptions { label_smoothing: smoothing, reduction: Reduction::None, ..Default::default() })
}

/// `F.cross_entropy` of logits [N, C] against class indices [N] or class
/// probabilities [N, C] (soft targets), with per-class weights, an ignored
/// class index, label smoothing and any reduction. With weights, the mean
/// over class indices divides by the summed weights of the counted examples,
/// as PyTorch does; over probabilities it divides by N.
pub fn cross_entropy_with(logits: &Tensor, target: &Tensor, o: &CrossEntropyOptions) -> Result<Tensor> {
    let op = "cross_entropy";
    let soft = target.shape() == logits.shape();
    if logits.rank() != 2 || !(soft || target.shape() == [logits.shape()[0]]) {
        return Err(Error::ShapeMismatch { op, lhs: logits.shape().to_vec(), rhs: target.shape().to_vec() });
    }
    let smoothing = o.label_smoothing;
    if !(0.0..=1.0).contains(&smoothing) {
        return Err(Error::InvalidArgument { op, reason: format!("label smoothing must be in [0, 1], got {smoothing}") });
    }
    let classes = logits.shape()[1];
    if let Some(w) = &o.weight
        && w.shape() != [classes]
    {
        return Err(Error::InvalidArgument { op, reason: format!("weight must have one value per class ({classes}), got shape {:?}", w.shape()) });
    }
    if soft && o.ignore_index.is_some() {
        return Err(Error::InvalidArgument { op, reason: "ignore_index applies to class-index targets, not to class probabilities".into() });
    }
    // The fused kernel covers the common case: class indices, no weights, nothing ignored.
    if !soft && smoothing == 0.0 && o.weight.is_none() && o.ignore_index.is_none() {
        return o.reduction.apply(&logits.cross_entropy_rows(target)?);
    }
    let logp = logits.log_softmax(-1)?;
    let weighted = match &o.weight {
        Some(w) => logp.mul(w)?,
        None => logp.clone(),
    };
    if soft {
        let t = target.mul_scalar(1.0 - smoothing)?.add_scalar(smoothing / classes as f32)?;
        let per = weighted.mul(&t)?.sum(&[-1], false)?.neg()?;
        return o.reduction.apply(&per);
    }
    // Class indices: one-hot rows (all zero for an index outside [0, C), as
    // the ignored -100 is), and each example's weight, 0 where ignored.
    let one_hot = Tensor::one_hot(target, classes)?;
    let counted = match o.ignore_index {
        Some(i) => target.ne(&Tensor::scalar(i as f32, &target.device())?)?,
        None => Tensor::ones(target.shape(), &target.device())?,
    };
    let example_weight = match &o.weight {
        Some(w) => one_hot.mul(w)?.sum(&[-1], false)?.mul(&counted)?,
        None => counted.clone(),
    };
    let nll = weighted.mul(&one_hot)?.sum(&[-1], false)?.neg()?;
    let mut per = nll.mul(&counted)?.mul_scalar(1.0 - smoothing)?;
    if smoothing > 0.0 {
        let smooth = weighted.sum(&[-1], false)?.neg()?.mul(&counted)?;
        per = per.add(&smooth.mul_scalar(smoothing / classes as f32)?)?;
    }
    match o.reduction {
        Reduction::Mean => per.sum_all()?.div(&example_weight.sum_all()?),
        r => r.apply(&per),
    }
}

fn same_shape(op: &'static str, a: &Tensor, b: &Tensor) -> Result<()> {
    if a.shape() != b.shape() {
        return Err(Error::ShapeMismatch { op, lhs: a.shape().to_vec(), rhs: b.shape().to_vec() });
    }
    Ok(())
}

/// Squared error between predictions and targets of the same shape.
pub fn mse(pred: &Tensor, target: &Tensor, reduction: Reduction) -> Result<Tensor> {
    same_shape("mse", pred, target)?;
    reduction.apply(&pred.sub(target)?.square()?)
}

/// Binary cross-entropy on logits, in the stable form (1 - t) x + (1 + (w - 1) t)
/// softplus(-x) with softplus(-x) = max(-x, 0) + log(1 + exp(-|x|)); `pos_weight`
/// w (broadcast against the target, usually one per class) weighs the positives.
pub fn bce_with_logits(logits: &Tensor, target: &Tensor, pos_weight: Option<&Tensor>, reduction: Reduction) -> Result<Tensor> {
    same_shape("bce_with_logits", logits, target)?;
    let softplus_neg = logits.neg()?.relu()?.add(&logits.abs()?.neg()?.exp()?.add_scalar(1.0)?.log()?)?;
    let negatives = target.neg()?.add_scalar(1.0)?.mul(logits)?;
    let positives = match pos_weight {
        Some(w) => target.mul(&w.add_scalar(-1.0)?)?.add_scalar(1.0)?.mul(&softplus_neg)?,
        None => softplus_neg,
    };
    reduction.apply(&negatives.add(&positives)?)
}

/// Huber loss: 0.5 d² where |d| < δ, else δ (|d| - δ/2).
pub fn huber(pred: &Tensor, target: &Tensor, delta: f32, reduction: Reduction) -> Result<Tensor> {
    same_shape("huber", pred, target)?;
    let d = pred.sub(target)?.abs()?;
    let quadratic = d.square()?.mul_scalar(0.5)?;
    let linear = d.add_scalar(-0.5 * delta)?.mul_scalar(delta)?;
    let delta_t = Tensor::scalar(delta, &d.device())?;
    reduction.apply(&d.lt(&delta_t)?.where_(&quadratic, &linear)?)
}

/// Gaussian negative log-likelihood 0.5 (log var + (x - t)² / var), plus
/// 0.5 log(2π) when `full`, with var clamped below at `eps` in value only (the
/// gradient passes through, as in torch).
pub fn gaussian_nll(mean: &Tensor, target: &Tensor, var: &Tensor, full: bool, eps: f32, reduction: Reduction) -> Result<Tensor> {
    same_shape("gaussian_nll", mean, target)?;
    same_shape("gaussian_nll", mean, var)?;
    let clamp_shift = {
        let _g = no_grad();
        var.maximum(&Tensor::scalar(eps, &var.device())?)?.sub(var)?
    };
    let v = var.add(&clamp_shift.detach())?;
    let mut nll = v.log()?.add(&mean.sub(target)?.square()?.div(&v)?)?.mul_scalar(0.5)?;
    if full {
        nll = nll.add_scalar(0.5 * (2.0 * std::f32::consts::PI).ln())?;
    }
    reduction.apply(&nll)
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
