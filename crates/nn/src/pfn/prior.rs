//! Priors over whole datasets, the PFN's only training data. Each prior is
//! data (serde, part of a PFN spec) and a seeded sampler of datasets (x, y):
//!
//! - `gp`: a Gaussian process (kernels and parameterisation in [`super::gp`])
//!   with x uniform in a box; each hyperparameter is fixed or drawn from a
//!   uniform or log-uniform hyper-prior per dataset; y sampled exactly by
//!   Cholesky (with jitter when needed).
//! - `bnn`: random MLPs as in Müller et al. (2022): depth, width and activation
//!   drawn per dataset, weights N(0, weight_std² / fan_in), biases N(0, bias_std²),
//!   the function standardised over the dataset's points, then Gaussian noise.
//! - `tabular`: in-context classification: 1 to `maxFeatures` features, 2 to
//!   `maxClasses` classes, from a random MLP (the features are its inputs) or
//!   a random structural causal model (features and target are hidden nodes),
//!   classes by thresholding the target at random quantiles or by argmax over
//!   several targets; features standardised, class labels shuffled.

use nnlab_core::{Error, Result};
use serde::{Deserialize, Serialize};

use super::gp::{GpParams, Kernel, Points, cholesky};
use crate::datasets::Rng;

/// A hyperparameter: a fixed value, or a distribution drawn from per dataset.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Hyper {
    Fixed(f64),
    Drawn(HyperPrior),
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "dist", rename_all = "camelCase", deny_unknown_fields)]
pub enum HyperPrior {
    Uniform { low: f64, high: f64 },
    LogUniform { low: f64, high: f64 },
}

impl Hyper {
    pub fn draw(&self, rng: &mut Rng) -> f64 {
        match *self {
            Hyper::Fixed(v) => v,
            Hyper::Drawn(HyperPrior::Uniform { low, high }) => low + (high - low) * unit(rng),
            Hyper::Drawn(HyperPrior::LogUniform { low, high }) => (low.ln() + (high.ln() - low.ln()) * unit(rng)).exp(),
        }
    }

    /// `n` settings at the midpoints of equal prior-mass cells, each with
    /// weight 1 / n (one setting, weight 1, when fixed).
    pub fn grid(&self, n: usize) -> Vec<f64> {
        let mid = |i: usize| (i as f64 + 0.5) / n as f64;
        match *self {
            Hyper::Fixed(v) => vec![v],
            Hyper::Drawn(HyperPrior::Uniform { low, high }) => (0..n).map(|i| low + (high - low) * mid(i)).collect(),
            Hyper::Drawn(HyperPrior::LogUniform { low, high }) => (0..n).map(|i| (low.ln() + (high.ln() - low.ln()) * mid(i)).exp()).collect(),
        }
    }

    fn check(&self, name: &str, positive: bool) -> Result<()> {
        let ok = |v: f64| v.is_finite() && if positive { v > 0.0 } else { v >= 0.0 };
        let valid = match *self {
            Hyper::Fixed(v) => ok(v),
            Hyper::Drawn(HyperPrior::Uniform { low, high }) => ok(low) && ok(high) && low <= high,
            Hyper::Drawn(HyperPrior::LogUniform { low, high }) => ok(low) && ok(high) && low > 0.0 && low <= high,
        };
        if valid {
            Ok(())
        } else {
            Err(invalid(&format!("prior.{name}"), format!("{self:?} is not a valid {} range", if positive { "positive" } else { "non-negative" })))
        }
    }
}

fn unit(rng: &mut Rng) -> f64 {
    rng.next_u32() as f64 / 4_294_967_296.0
}

fn normal(rng: &mut Rng) -> f64 {
    let u1 = (rng.next_u32() as f64 + 1.0) / 4_294_967_297.0;
    let u2 = unit(rng);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// An integer uniform in [lo, hi].
fn int(rng: &mut Rng, lo: usize, hi: usize) -> usize {
    lo + (rng.next_u32() as usize) % (hi - lo + 1)
}

fn invalid(path: &str, reason: String) -> Error {
    Error::InvalidSpec { path: path.into(), reason }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GpPrior {
    pub kernel: Kernel,
    pub lengthscale: Hyper,
    /// The signal variance.
    pub outputscale: Hyper,
    pub noise_std: Hyper,
    /// x uniform in [low, high] in every feature.
    pub x: [f64; 2],
    #[serde(default = "one")]
    pub features: usize,
}

fn one() -> usize {
    1
}

impl GpPrior {
    pub fn draw_params(&self, rng: &mut Rng) -> GpParams {
        GpParams { kernel: self.kernel, lengthscale: self.lengthscale.draw(rng), outputscale: self.outputscale.draw(rng), noise_std: self.noise_std.draw(rng) }
    }

    /// Every combination of grid settings of the drawn hyperparameters
    /// (`per_axis` each), with equal prior weights.
    pub fn grid(&self, per_axis: usize) -> (Vec<GpParams>, Vec<f64>) {
        let mut out = Vec::new();
        for &l in &self.lengthscale.grid(per_axis) {
            for &o in &self.outputscale.grid(per_axis) {
                for &s in &self.noise_std.grid(per_axis) {
                    out.push(GpParams { kernel: self.kernel, lengthscale: l, outputscale: o, noise_std: s });
                }
            }
        }
        let w = vec![1.0 / out.len() as f64; out.len()];
        (out, w)
    }

    fn sample(&self, rng: &mut Rng, n: usize) -> Result<Dataset> {
        let params = self.draw_params(rng);
        let x: Vec<f64> = (0..n * self.features).map(|_| self.x[0] + (self.x[1] - self.x[0]) * unit(rng)).collect();
        let l = cholesky(&params.noisy_covariance(Points::new(&x, self.features)), n)?;
        let z: Vec<f64> = (0..n).map(|_| normal(rng)).collect();
        let y = (0..n).map(|i| (0..=i).map(|k| l[i * n + k] * z[k]).sum()).collect();
        Ok(Dataset { x, y, features: self.features })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum BnnActivation {
    Tanh,
    Relu,
    Sigmoid,
    Sin,
}

impl BnnActivation {
    fn apply(self, v: f64) -> f64 {
        match self {
            BnnActivation::Tanh => v.tanh(),
            BnnActivation::Relu => v.max(0.0),
            BnnActivation::Sigmoid => 1.0 / (1.0 + (-v).exp()),
            BnnActivation::Sin => v.sin(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BnnPrior {
    /// Hidden layers, drawn uniformly in [min, max].
    pub layers: [usize; 2],
    /// Hidden units per layer, drawn uniformly in [min, max].
    pub width: [usize; 2],
    pub activations: Vec<BnnActivation>,
    pub weight_std: Hyper,
    pub bias_std: Hyper,
    /// Observation noise added after standardising the function.
    pub noise_std: Hyper,
    pub x: [f64; 2],
    #[serde(default = "one")]
    pub features: usize,
}

/// A random MLP: weights per layer ([out][in] row-major) and biases.
struct RandomMlp {
    layers: Vec<(Vec<f64>, Vec<f64>, usize)>,
    activation: BnnActivation,
}

impl RandomMlp {
    fn draw(rng: &mut Rng, sizes: &[usize], weight_std: f64, bias_std: f64, activation: BnnActivation) -> RandomMlp {
        let layers = sizes
            .windows(2)
            .map(|w| {
                let scale = weight_std / (w[0] as f64).sqrt();
                let weights = (0..w[0] * w[1]).map(|_| scale * normal(rng)).collect();
                let biases = (0..w[1]).map(|_| bias_std * normal(rng)).collect();
                (weights, biases, w[0])
            })
            .collect();
        RandomMlp { layers, activation }
    }

    /// Every layer's values for one input (the input first); the last layer is linear.
    /// `noise` adds N(0, noise²) to every hidden unit (the causal model's noise).
    fn nodes(&self, input: &[f64], noise: f64, rng: &mut Rng) -> Vec<Vec<f64>> {
        let mut out = vec![input.to_vec()];
        for (i, (w, b, fan_in)) in self.layers.iter().enumerate() {
            let prev = out.last().expect("input is first");
            let last = i + 1 == self.layers.len();
            let next = b
                .iter()
                .enumerate()
                .map(|(o, bias)| {
                    let v = bias + (0..*fan_in).map(|j| w[o * fan_in + j] * prev[j]).sum::<f64>();
                    let v = if last { v } else { self.activation.apply(v) };
                    if noise > 0.0 && !last { v + noise * normal(rng) } else { v }
                })
                .collect();
            out.push(next);
        }
        out
    }
}

fn standardise(values: &mut [f64]) {
    let n = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / n;
    let std = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
    let std = if std > 1e-8 { std } else { 1.0 };
    for v in values {
        *v = (*v - mean) / std;
    }
}

/// Standardises each column of rows of `features` values over all rows.
pub(super) fn standardise_columns(x: &mut [f64], features: usize) {
    let rows = x.len() / features.max(1);
    for f in 0..features {
        let mut column: Vec<f64> = (0..rows).map(|r| x[r * features + f]).collect();
        standardise(&mut column);
        for (r, v) in column.into_iter().enumerate() {
            x[r * features + f] = v;
        }
    }
}

impl BnnPrior {
    fn sample(&self, rng: &mut Rng, n: usize) -> Result<Dataset> {
        let depth = int(rng, self.layers[0], self.layers[1]);
        let width = int(rng, self.width[0], self.width[1]);
        let activation = self.activations[int(rng, 0, self.activations.len() - 1)];
        let (weight_std, bias_std, noise) = (self.weight_std.draw(rng), self.bias_std.draw(rng), self.noise_std.draw(rng));
        let sizes: Vec<usize> = std::iter::once(self.features).chain(std::iter::repeat_n(width, depth)).chain(std::iter::once(1)).collect();
        let mlp = RandomMlp::draw(rng, &sizes, weight_std, bias_std, activation);
        let x: Vec<f64> = (0..n * self.features).map(|_| self.x[0] + (self.x[1] - self.x[0]) * unit(rng)).collect();
        let mut y: Vec<f64> = x.chunks(self.features).map(|row| mlp.nodes(row, 0.0, rng).last().expect("output layer")[0]).collect();
        standardise(&mut y);
        for v in &mut y {
            *v += noise * normal(rng);
        }
        Ok(Dataset { x, y, features: self.features })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TabularPrior {
    pub max_features: usize,
    pub max_classes: usize,
    /// Hidden layers of the random network, drawn uniformly in [min, max].
    pub layers: [usize; 2],
    /// Hidden units per layer, drawn uniformly in [min, max].
    pub width: [usize; 2],
    /// Noise added to every hidden unit.
    pub noise_std: Hyper,
}

impl TabularPrior {
    fn sample(&self, rng: &mut Rng, n: usize) -> Result<Dataset> {
        let features = int(rng, 1, self.max_features);
        let classes = int(rng, 2, self.max_classes);
        let depth = int(rng, self.layers[0], self.layers[1]);
        let width = int(rng, self.width[0], self.width[1]).max(features + 1);
        let noise = self.noise_std.draw(rng);
        let activation = [BnnActivation::Tanh, BnnActivation::Relu, BnnActivation::Sin][int(rng, 0, 2)];
        let causal = rng.next_u32() & 1 == 1;
        let by_argmax = rng.next_u32() & 1 == 1;
        let inputs = if causal { int(rng, 1, width) } else { features };
        let outputs = if by_argmax { classes } else { 1 };
        let sizes: Vec<usize> = std::iter::once(inputs).chain(std::iter::repeat_n(width, depth)).chain(std::iter::once(outputs)).collect();
        let (weight_std, bias_std) = (1.0 + unit(rng), unit(rng));
        let mlp = RandomMlp::draw(rng, &sizes, weight_std, bias_std, activation);
        // In the causal model, features are hidden units chosen at random.
        let hidden = depth * width;
        let picked: Vec<usize> = if causal {
            let mut all: Vec<usize> = (0..hidden).collect();
            rng.shuffle(&mut all);
            all.truncate(features);
            all
        } else {
            Vec::new()
        };
        let mut x = vec![0.0; n * features];
        let mut target = vec![0.0; n * outputs];
        for r in 0..n {
            let input: Vec<f64> = (0..inputs).map(|_| normal(rng)).collect();
            let nodes = mlp.nodes(&input, noise, rng);
            let row = &mut x[r * features..(r + 1) * features];
            if causal {
                let flat: Vec<f64> = nodes[1..=depth].iter().flatten().copied().collect();
                for (slot, &p) in row.iter_mut().zip(&picked) {
                    *slot = flat[p];
                }
            } else {
                row.copy_from_slice(&input);
            }
            target[r * outputs..(r + 1) * outputs].copy_from_slice(&nodes[depth + 1]);
        }
        let mut y: Vec<f64> = if by_argmax {
            target.chunks(outputs).map(|t| t.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map_or(0, |(i, _)| i) as f64).collect()
        } else {
            // Thresholds at random quantiles of the target.
            let mut sorted = target.clone();
            sorted.sort_by(f64::total_cmp);
            let mut cuts: Vec<f64> = (1..classes).map(|_| sorted[int(rng, 0, n.saturating_sub(1))]).collect();
            cuts.sort_by(f64::total_cmp);
            target.iter().map(|t| cuts.partition_point(|c| c < t) as f64).collect()
        };
        let mut order: Vec<usize> = (0..classes).collect();
        rng.shuffle(&mut order);
        for v in &mut y {
            *v = order[*v as usize] as f64;
        }
        standardise_columns(&mut x, features);
        Ok(Dataset { x, y, features })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Prior {
    Gp(GpPrior),
    Bnn(BnnPrior),
    Tabular(TabularPrior),
}

/// One dataset: `x` row-major with `features` values per point, `y` a value
/// (regression) or a class index (classification) per point.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    pub features: usize,
}

/// Upper bounds on what a prior may ask for, so a spec cannot exhaust memory.
pub const MAX_FEATURES: usize = 100;
const MAX_WIDTH: usize = 1024;

impl Prior {
    /// Input width of the model: features (regression) or the most features (tabular).
    pub fn features(&self) -> usize {
        match self {
            Prior::Gp(p) => p.features,
            Prior::Bnn(p) => p.features,
            Prior::Tabular(p) => p.max_features,
        }
    }

    /// The number of classes of a classification prior; None for regression.
    pub fn classes(&self) -> Option<usize> {
        match self {
            Prior::Tabular(p) => Some(p.max_classes),
            _ => None,
        }
    }

    pub fn validate(&self) -> Result<()> {
        let features = self.features();
        if features == 0 || features > MAX_FEATURES {
            return Err(invalid("prior.features", format!("must be in 1..={MAX_FEATURES}, got {features}")));
        }
        let range = |name: &str, r: [usize; 2], lo: usize, hi: usize| {
            if r[0] < lo || r[0] > r[1] || r[1] > hi {
                Err(invalid(&format!("prior.{name}"), format!("{r:?} must be an increasing range within {lo}..={hi}")))
            } else {
                Ok(())
            }
        };
        let x_box = |x: [f64; 2]| {
            if x[0].is_finite() && x[1].is_finite() && x[0] < x[1] { Ok(()) } else { Err(invalid("prior.x", format!("{x:?} must be an increasing range"))) }
        };
        match self {
            Prior::Gp(p) => {
                p.lengthscale.check("lengthscale", true)?;
                p.outputscale.check("outputscale", true)?;
                p.noise_std.check("noiseStd", false)?;
                x_box(p.x)
            }
            Prior::Bnn(p) => {
                range("layers", p.layers, 0, 8)?;
                range("width", p.width, 1, MAX_WIDTH)?;
                if p.activations.is_empty() {
                    return Err(invalid("prior.activations", "name at least one activation".into()));
                }
                p.weight_std.check("weightStd", false)?;
                p.bias_std.check("biasStd", false)?;
                p.noise_std.check("noiseStd", false)?;
                x_box(p.x)
            }
            Prior::Tabular(p) => {
                if p.max_classes < 2 || p.max_classes > 100 {
                    return Err(invalid("prior.maxClasses", format!("must be in 2..=100, got {}", p.max_classes)));
                }
                range("layers", p.layers, 1, 8)?;
                range("width", p.width, 1, MAX_WIDTH)?;
                p.noise_std.check("noiseStd", false)
            }
        }
    }

    /// One dataset of `n` points.
    pub fn sample(&self, rng: &mut Rng, n: usize) -> Result<Dataset> {
        match self {
            Prior::Gp(p) => p.sample(rng, n),
            Prior::Bnn(p) => p.sample(rng, n),
            Prior::Tabular(p) => p.sample(rng, n),
        }
    }
}
