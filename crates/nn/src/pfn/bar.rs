//! The PFN's output distribution: a bar ("Riemann") distribution over K
//! buckets with full-support tails, as automl/PFNs' FullSupportBarDistribution
//! defines it. Inner bucket k has density p_k / width_k. The two outer buckets
//! are half-normals anchored at their inner border, with scale
//! width / 0.6745 (the half-normal's median), so half of a tail bucket's mass
//! lies inside it and half beyond the outermost border ("halfnormal-pfn").
//!
//! Host-side math in f64 on probabilities read back from the model; training
//! uses `buckets` plus a cross-entropy, whose gradient is the bar NLL's.

use nnlab_core::{Error, Result};

/// Median of the standard half-normal: Φ⁻¹(0.75).
pub const HALF_NORMAL_MEDIAN: f64 = 0.674_489_750_196_081_7;

#[derive(Debug, Clone, PartialEq)]
pub struct BarDistribution {
    borders: Vec<f64>,
}

fn invalid(reason: String) -> Error {
    Error::InvalidArgument { op: "bar_distribution", reason }
}

impl BarDistribution {
    /// `borders` b_0 < ... < b_K, K >= 2.
    pub fn new(borders: Vec<f64>) -> Result<BarDistribution> {
        if borders.len() < 3 || borders.iter().any(|b| !b.is_finite()) || borders.windows(2).any(|w| w[1] <= w[0]) {
            return Err(invalid(format!("borders must be at least three finite increasing values, got {}", borders.len())));
        }
        Ok(BarDistribution { borders })
    }

    /// Borders at equal-mass quantiles of `samples` (K buckets): the extreme
    /// samples are the outer borders; ties are spread apart so that every
    /// bucket has a positive width.
    pub fn from_samples(samples: &[f64], buckets: usize) -> Result<BarDistribution> {
        let mut s: Vec<f64> = samples.iter().copied().filter(|v| v.is_finite()).collect();
        if buckets < 2 || s.len() < buckets + 1 {
            return Err(invalid(format!("{} finite samples cannot place {buckets} buckets", s.len())));
        }
        s.sort_by(f64::total_cmp);
        let last = s.len() - 1;
        let mut borders: Vec<f64> = (0..=buckets).map(|i| s[(i * last + buckets / 2) / buckets]).collect();
        let span = (s[last] - s[0]).max(1e-6);
        for i in 1..borders.len() {
            if borders[i] <= borders[i - 1] {
                borders[i] = borders[i - 1] + span * 1e-7;
            }
        }
        BarDistribution::new(borders)
    }

    pub fn borders(&self) -> &[f64] {
        &self.borders
    }

    pub fn buckets(&self) -> usize {
        self.borders.len() - 1
    }

    fn width(&self, k: usize) -> f64 {
        self.borders[k + 1] - self.borders[k]
    }

    /// Half-normal scales of the left and right tails.
    pub fn tail_scales(&self) -> (f64, f64) {
        (self.width(0) / HALF_NORMAL_MEDIAN, self.width(self.buckets() - 1) / HALF_NORMAL_MEDIAN)
    }

    /// The bucket a value falls in, clamped to the outer buckets.
    pub fn bucket(&self, y: f64) -> usize {
        self.borders.partition_point(|&b| b <= y).saturating_sub(1).min(self.buckets() - 1)
    }

    /// log density of `y` given the bucket's own log density term: what the
    /// bar NLL adds to log p_k. Inner: -log width; tails: the half-normal's
    /// log density at the distance from the inner border.
    pub fn log_density_offset(&self, y: f64) -> f64 {
        let k = self.bucket(y);
        let (left, right) = self.tail_scales();
        let last = self.buckets() - 1;
        if k == 0 {
            half_normal_log_pdf((self.borders[1] - y).max(1e-8), left)
        } else if k == last {
            half_normal_log_pdf((y - self.borders[last]).max(1e-8), right)
        } else {
            -self.width(k).ln()
        }
    }

    fn check(&self, probs: &[f64]) -> Result<()> {
        if probs.len() != self.buckets() {
            return Err(invalid(format!("{} probabilities for {} buckets", probs.len(), self.buckets())));
        }
        Ok(())
    }

    /// log density of `y` under bucket probabilities `probs`.
    pub fn log_density(&self, probs: &[f64], y: f64) -> Result<f64> {
        self.check(probs)?;
        Ok(probs[self.bucket(y)].ln() + self.log_density_offset(y))
    }

    /// The density at `count` increasing values low, low + step, ...: one
    /// walk through the buckets instead of a search per value.
    pub fn density_grid(&self, probs: &[f64], low: f64, step: f64, count: usize) -> Result<Vec<f32>> {
        self.check(probs)?;
        let last = self.buckets() - 1;
        let mut out = Vec::with_capacity(count);
        let mut k = self.bucket(low);
        for i in 0..count {
            let y = low + step * i as f64;
            while k < last && y >= self.borders[k + 1] {
                k += 1;
            }
            let density = if k == 0 || k == last { (probs[k].ln() + self.log_density_offset(y)).exp() } else { probs[k] / self.width(k) };
            out.push(density as f32);
        }
        Ok(out)
    }

    /// P(Y <= y).
    pub fn cdf(&self, probs: &[f64], y: f64) -> Result<f64> {
        self.check(probs)?;
        let k = self.bucket(y);
        let last = self.buckets() - 1;
        let (left, right) = self.tail_scales();
        let before: f64 = probs[..k].iter().sum();
        let inside = if k == 0 {
            // Mass of the left tail below y: P(Z > b_1 - y).
            if y < self.borders[1] { 1.0 - half_normal_cdf(self.borders[1] - y, left) } else { 1.0 }
        } else if k == last {
            if y > self.borders[last] { half_normal_cdf(y - self.borders[last], right) } else { 0.0 }
        } else {
            ((y - self.borders[k]) / self.width(k)).clamp(0.0, 1.0)
        };
        Ok((before + probs[k] * inside).clamp(0.0, 1.0))
    }

    pub fn mean(&self, probs: &[f64]) -> Result<f64> {
        self.check(probs)?;
        let last = self.buckets() - 1;
        let (left, right) = self.tail_scales();
        let half_normal_mean = (2.0 / std::f64::consts::PI).sqrt();
        let inner: f64 = (1..last).map(|k| probs[k] * (self.borders[k] + self.borders[k + 1]) / 2.0).sum();
        Ok(inner + probs[0] * (self.borders[1] - left * half_normal_mean) + probs[last] * (self.borders[last] + right * half_normal_mean))
    }

    /// The value below which a share `q` (in (0, 1)) of the mass lies.
    pub fn quantile(&self, probs: &[f64], q: f64) -> Result<f64> {
        self.check(probs)?;
        if !(q > 0.0 && q < 1.0) {
            return Err(invalid(format!("quantile level must be in (0, 1), got {q}")));
        }
        let last = self.buckets() - 1;
        let (left, right) = self.tail_scales();
        let mut before = 0.0;
        for (k, &p) in probs.iter().enumerate() {
            if before + p >= q || k == last {
                let within = if p > 0.0 { ((q - before) / p).clamp(0.0, 1.0) } else { 0.5 };
                return Ok(if k == 0 {
                    // P(Z > b_1 - y) = within.
                    self.borders[1] - half_normal_quantile(1.0 - within, left)
                } else if k == last {
                    self.borders[last] + half_normal_quantile(within, right)
                } else {
                    self.borders[k] + within * self.width(k)
                });
            }
            before += p;
        }
        unreachable!("the last bucket returns")
    }
}

fn half_normal_log_pdf(z: f64, scale: f64) -> f64 {
    0.5 * (2.0 / std::f64::consts::PI).ln() - scale.ln() - z * z / (2.0 * scale * scale)
}

fn half_normal_cdf(z: f64, scale: f64) -> f64 {
    libm::erf(z.max(0.0) / (scale * std::f64::consts::SQRT_2))
}

/// Inverse of `half_normal_cdf` by bisection (the CDF is monotone; 80 halvings
/// reach f64 precision over any sensible range).
fn half_normal_quantile(p: f64, scale: f64) -> f64 {
    let p = p.clamp(0.0, 1.0 - 1e-15);
    let (mut lo, mut hi) = (0.0, scale * 40.0);
    for _ in 0..80 {
        let mid = 0.5 * (lo + hi);
        if half_normal_cdf(mid, scale) < p { lo = mid } else { hi = mid }
    }
    0.5 * (lo + hi)
}

/// Softmax of a row of logits, in f64.
pub fn softmax(logits: &[f32]) -> Vec<f64> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let exp: Vec<f64> = logits.iter().map(|&l| (l as f64 - max).exp()).collect();
    let sum: f64 = exp.iter().sum();
    exp.into_iter().map(|e| e / sum).collect()
}
