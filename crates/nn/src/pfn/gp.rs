//! Exact Gaussian-process references for the PFN: kernels (RBF and Matérn
//! 1/2, 3/2, 5/2), the posterior predictive (mean, variance including the
//! observation noise, log density) and the log marginal likelihood by
//! Cholesky, and, for hyper-priors, the Bayes-optimal predictive with the
//! hyperparameters integrated out on a grid.
//!
//! Parameterisation, as scikit-learn's
//! `ConstantKernel(outputscale) * RBF(lengthscale) + WhiteKernel(noise_std²)`:
//! k(x, x') = outputscale · κ(|x - x'| / lengthscale), observations
//! y = f(x) + ε with ε ~ N(0, noise_std²). Everything in f64.

use nnlab_core::{Error, Result};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Kernel {
    Rbf,
    Matern12,
    Matern32,
    Matern52,
}

impl Kernel {
    /// κ(r) for a scaled distance r >= 0.
    pub fn correlation(self, r: f64) -> f64 {
        match self {
            Kernel::Rbf => (-0.5 * r * r).exp(),
            Kernel::Matern12 => (-r).exp(),
            Kernel::Matern32 => {
                let s = 3f64.sqrt() * r;
                (1.0 + s) * (-s).exp()
            }
            Kernel::Matern52 => {
                let s = 5f64.sqrt() * r;
                (1.0 + s + s * s / 3.0) * (-s).exp()
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GpParams {
    pub kernel: Kernel,
    pub lengthscale: f64,
    pub outputscale: f64,
    pub noise_std: f64,
}

/// Points as rows of `features` values.
#[derive(Debug, Clone, Copy)]
pub struct Points<'a> {
    pub values: &'a [f64],
    pub features: usize,
}

impl<'a> Points<'a> {
    pub fn new(values: &'a [f64], features: usize) -> Points<'a> {
        Points { values, features }
    }
    pub fn len(&self) -> usize {
        self.values.len() / self.features.max(1)
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn row(&self, i: usize) -> &'a [f64] {
        &self.values[i * self.features..(i + 1) * self.features]
    }
}

impl GpParams {
    pub fn k(&self, a: &[f64], b: &[f64]) -> f64 {
        let d2: f64 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
        self.outputscale * self.kernel.correlation(d2.sqrt() / self.lengthscale)
    }

    /// K(x, x) + noise² I, row-major.
    pub fn noisy_covariance(&self, x: Points) -> Vec<f64> {
        let n = x.len();
        let mut k = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..=i {
                let v = self.k(x.row(i), x.row(j));
                k[i * n + j] = v;
                k[j * n + i] = v;
            }
            k[i * n + i] += self.noise_std * self.noise_std;
        }
        k
    }
}

/// Lower Cholesky factor of the symmetric `a` (n x n) in place; retries with
/// growing diagonal jitter (1e-10 .. 1e-2 of the mean diagonal) when `a` is
/// not numerically positive definite.
pub fn cholesky(a: &[f64], n: usize) -> Result<Vec<f64>> {
    let mean_diag = (0..n).map(|i| a[i * n + i]).sum::<f64>() / n.max(1) as f64;
    let mut jitter = 0.0;
    for attempt in 0..10 {
        if let Some(l) = try_cholesky(a, n, jitter) {
            return Ok(l);
        }
        jitter = mean_diag.abs().max(1e-12) * 10f64.powi(attempt - 10);
    }
    Err(Error::InvalidArgument { op: "cholesky", reason: format!("the {n}x{n} covariance is not positive definite even with jitter") })
}

fn try_cholesky(a: &[f64], n: usize, jitter: f64) -> Option<Vec<f64>> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut s = a[i * n + j] + if i == j { jitter } else { 0.0 };
            for k in 0..j {
                s -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                if s <= 0.0 || !s.is_finite() {
                    return None;
                }
                l[i * n + i] = s.sqrt();
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    }
    Some(l)
}

/// Solves L z = b for lower-triangular L.
fn forward_solve(l: &[f64], n: usize, b: &[f64]) -> Vec<f64> {
    let mut z = vec![0.0; n];
    for i in 0..n {
        let s: f64 = (0..i).map(|k| l[i * n + k] * z[k]).sum();
        z[i] = (b[i] - s) / l[i * n + i];
    }
    z
}

/// Solves Lᵀ z = b for lower-triangular L.
fn backward_solve(l: &[f64], n: usize, b: &[f64]) -> Vec<f64> {
    let mut z = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| l[k * n + i] * z[k]).sum();
        z[i] = (b[i] - s) / l[i * n + i];
    }
    z
}

/// A Gaussian predictive for one query: mean and variance of y (noise included).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Normal {
    pub mean: f64,
    pub var: f64,
}

impl Normal {
    pub fn log_density(&self, y: f64) -> f64 {
        -0.5 * ((2.0 * std::f64::consts::PI * self.var).ln() + (y - self.mean).powi(2) / self.var)
    }
}

/// A GP conditioned on context points: its Cholesky factor and weights.
pub struct Posterior<'a> {
    params: GpParams,
    x: Points<'a>,
    l: Vec<f64>,
    alpha: Vec<f64>,
    /// log p(y_context).
    pub log_marginal: f64,
}

impl<'a> Posterior<'a> {
    pub fn new(params: GpParams, x: Points<'a>, y: &[f64]) -> Result<Posterior<'a>> {
        let n = x.len();
        if y.len() != n {
            return Err(Error::ShapeMismatch { op: "gp_posterior", lhs: vec![n, x.features], rhs: vec![y.len()] });
        }
        let l = cholesky(&params.noisy_covariance(x), n)?;
        let z = forward_solve(&l, n, y);
        let alpha = backward_solve(&l, n, &z);
        let log_det: f64 = (0..n).map(|i| l[i * n + i].ln()).sum::<f64>() * 2.0;
        let log_marginal = -0.5 * (z.iter().map(|v| v * v).sum::<f64>() + log_det + n as f64 * (2.0 * std::f64::consts::PI).ln());
        Ok(Posterior { params, x, l, alpha, log_marginal })
    }

    /// The predictive of y at each query point.
    pub fn predict(&self, query: Points) -> Vec<Normal> {
        let n = self.x.len();
        let prior_var = self.params.outputscale + self.params.noise_std * self.params.noise_std;
        (0..query.len())
            .map(|q| {
                let kq: Vec<f64> = (0..n).map(|i| self.params.k(self.x.row(i), query.row(q))).collect();
                let mean = kq.iter().zip(&self.alpha).map(|(a, b)| a * b).sum();
                let v = forward_solve(&self.l, n, &kq);
                let var = (prior_var - v.iter().map(|a| a * a).sum::<f64>()).max(self.params.noise_std * self.params.noise_std).max(1e-12);
                Normal { mean, var }
            })
            .collect()
    }
}

/// A mixture of Gaussians per query: the Bayes-optimal predictive when the
/// hyperparameters are unknown.
#[derive(Debug, Clone, PartialEq)]
pub struct Mixture {
    pub weights: Vec<f64>,
    pub components: Vec<Normal>,
}

impl Mixture {
    pub fn log_density(&self, y: f64) -> f64 {
        let terms: Vec<f64> = self.weights.iter().zip(&self.components).filter(|(w, _)| **w > 0.0).map(|(w, c)| w.ln() + c.log_density(y)).collect();
        let max = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        max + terms.iter().map(|t| (t - max).exp()).sum::<f64>().ln()
    }

    pub fn mean(&self) -> f64 {
        self.weights.iter().zip(&self.components).map(|(w, c)| w * c.mean).sum()
    }

    pub fn cdf(&self, y: f64) -> f64 {
        self.weights
            .iter()
            .zip(&self.components)
            .filter(|(w, _)| **w > 1e-14)
            .map(|(w, c)| w * 0.5 * (1.0 + libm::erf((y - c.mean) / (2.0 * c.var).sqrt())))
            .sum()
    }

    /// The density at `y`.
    pub fn pdf(&self, y: f64) -> f64 {
        self.weights.iter().zip(&self.components).filter(|(w, _)| **w > 1e-14).map(|(w, c)| w * c.log_density(y).exp()).sum()
    }

    /// The value below which a share `q` of the mass lies: Newton steps on
    /// the CDF inside a bracket that shrinks with every step (a bisection
    /// where a step would leave it), from the matched normal's quantile.
    pub fn quantile(&self, q: f64) -> f64 {
        let spread = self.components.iter().map(|c| c.var.sqrt()).fold(0.0, f64::max);
        let mean = self.mean();
        let (mut lo, mut hi) = (
            self.components.iter().map(|c| c.mean).fold(f64::INFINITY, f64::min) - 12.0 * spread,
            self.components.iter().map(|c| c.mean).fold(f64::NEG_INFINITY, f64::max) + 12.0 * spread,
        );
        let var: f64 = self.weights.iter().zip(&self.components).map(|(w, c)| w * (c.var + (c.mean - mean).powi(2))).sum();
        let mut x = (mean + var.sqrt() * std::f64::consts::SQRT_2 * inverse_erf(2.0 * q - 1.0)).clamp(lo, hi);
        for _ in 0..100 {
            let f = self.cdf(x) - q;
            if f.abs() < 1e-13 || hi - lo < 1e-12 * spread.max(1e-300) {
                break;
            }
            if f < 0.0 {
                lo = x
            } else {
                hi = x
            }
            let step = x - f / self.pdf(x);
            x = if step > lo && step < hi { step } else { 0.5 * (lo + hi) };
        }
        x
    }
}

/// erf⁻¹ by Giles' single-precision approximation, refined by two Newton steps.
pub(super) fn inverse_erf(v: f64) -> f64 {
    let v = v.clamp(-1.0 + 1e-15, 1.0 - 1e-15);
    let w = -((1.0 - v) * (1.0 + v)).ln();
    let mut x = if w < 5.0 {
        let w = w - 2.5;
        let p = [
            2.810_226_36e-08,
            3.432_739_39e-07,
            -3.523_387_7e-06,
            -4.391_506_54e-06,
            0.000_218_580_87,
            -0.001_253_725_03,
            -0.004_177_681_64,
            0.246_640_727,
            1.501_409_41,
        ];
        p.iter().fold(0.0, |acc, c| acc * w + c) * v
    } else {
        let w = w.sqrt() - 3.0;
        let p = [
            -0.000_200_214_257,
            0.000_100_950_558,
            0.001_349_343_22,
            -0.003_673_428_44,
            0.005_739_507_73,
            -0.007_622_461_3,
            0.009_438_870_47,
            1.001_674_06,
            2.832_976_82,
        ];
        p.iter().fold(0.0, |acc, c| acc * w + c) * v
    };
    for _ in 0..2 {
        let err = libm::erf(x) - v;
        x -= err / (2.0 / std::f64::consts::PI.sqrt() * (-x * x).exp());
    }
    x
}

/// The posterior predictive averaged over hyperparameter settings `grid` with
/// prior weights `prior` (summing to 1): each setting weighted by its prior
/// times its marginal likelihood of the context. Settings whose weight is
/// below 1e-12 of the total are left out (they cannot change a density by
/// more than that share).
pub fn bayes_predictive(grid: &[GpParams], prior: &[f64], x: Points, y: &[f64], query: Points) -> Result<Vec<Mixture>> {
    let posteriors = grid.iter().map(|params| Posterior::new(*params, x, y)).collect::<Result<Vec<_>>>()?;
    let log_w: Vec<f64> = posteriors.iter().zip(prior).map(|(post, p)| p.ln() + post.log_marginal).collect();
    let max = log_w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let w: Vec<f64> = log_w.iter().map(|l| (l - max).exp()).collect();
    let total: f64 = w.iter().sum();
    let kept: Vec<usize> = (0..w.len()).filter(|&i| w[i] / total >= 1e-12).collect();
    let kept_total: f64 = kept.iter().map(|&i| w[i]).sum();
    let weights: Vec<f64> = kept.iter().map(|&i| w[i] / kept_total).collect();
    let predictions: Vec<Vec<Normal>> = kept.iter().map(|&i| posteriors[i].predict(query)).collect();
    Ok((0..query.len()).map(|q| Mixture { weights: weights.clone(), components: predictions.iter().map(|p| p[q]).collect() }).collect())
}
