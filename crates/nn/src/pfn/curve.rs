//! What the 1D regression view draws, computed here so the page does no
//! math: for a context and a row of query points, the PFN's mean, 50% and
//! 90% intervals and its density on a grid of y values, beside the exact
//! GP's (or the Bayes-optimal mixture's) mean and intervals, and both
//! log-likelihoods of held-out points.

use nnlab_core::{Error, Result, no_grad};
use serde::{Deserialize, Serialize};

use super::bar::softmax;
use super::gp::{Kernel, Mixture, Points, bayes_predictive};
use super::pfn::Pfn;
use super::prior::{GpPrior, Hyper, Prior};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CurveRequest {
    pub x_context: Vec<f64>,
    pub y_context: Vec<f64>,
    pub x_query: Vec<f64>,
    /// Where to evaluate the PFN's density for the heatmap.
    #[serde(default)]
    pub y_grid: Option<YGrid>,
    /// Points scored by both models (not part of the context).
    #[serde(default)]
    pub held_out: Option<HeldOutPoints>,
    /// The exact model to compare with; None skips it.
    #[serde(default)]
    pub reference: Option<Reference>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct YGrid {
    pub low: f64,
    pub high: f64,
    pub count: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HeldOutPoints {
    pub x: Vec<f64>,
    pub y: Vec<f64>,
}

/// A GP with fixed or drawn hyperparameters (drawn ones are integrated out
/// on a grid of `grid` settings each).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Reference {
    pub kernel: Kernel,
    pub lengthscale: Hyper,
    pub outputscale: Hyper,
    pub noise_std: Hyper,
    #[serde(default = "grid")]
    pub grid: usize,
}

fn grid() -> usize {
    64
}

/// Mean and central intervals per query point.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Band {
    pub mean: Vec<f64>,
    pub q05: Vec<f64>,
    pub q25: Vec<f64>,
    pub q75: Vec<f64>,
    pub q95: Vec<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeldOutScores {
    pub points: usize,
    /// Mean negative log-likelihood per point (nats).
    pub pfn_nll: f64,
    pub exact_nll: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Curve {
    pub pfn: Band,
    /// The PFN's density at each grid y, row-major [query][grid point].
    pub density: Vec<f32>,
    pub exact: Option<Band>,
    pub held_out: Option<HeldOutScores>,
}

const MAX_GRID: usize = 512;
const MAX_REFERENCE_GRID: usize = 1024;

fn invalid(path: &str, reason: String) -> Error {
    Error::InvalidSpec { path: path.into(), reason }
}

impl Reference {
    /// The reference a GP-prior PFN was trained for.
    pub fn of_prior(p: &GpPrior) -> Reference {
        Reference { kernel: p.kernel, lengthscale: p.lengthscale, outputscale: p.outputscale, noise_std: p.noise_std, grid: grid() }
    }

    fn prior(&self) -> GpPrior {
        GpPrior { kernel: self.kernel, lengthscale: self.lengthscale, outputscale: self.outputscale, noise_std: self.noise_std, x: [0.0, 1.0], features: 1 }
    }

    fn predict(&self, xc: &[f64], yc: &[f64], xq: &[f64]) -> Result<Vec<Mixture>> {
        let (grid, weights) = self.prior().grid(self.grid);
        bayes_predictive(&grid, &weights, Points::new(xc, 1), yc, Points::new(xq, 1))
    }

    fn validate(&self) -> Result<()> {
        if self.grid == 0 || self.grid > MAX_REFERENCE_GRID {
            return Err(invalid("reference.grid", format!("must be in 1..={MAX_REFERENCE_GRID}, got {}", self.grid)));
        }
        Prior::Gp(self.prior()).validate()
    }
}

/// A dataset for the view: `context` points to condition on and `held_out`
/// points to score, drawn jointly from the reference GP (hyperparameters
/// drawn from their hyper-priors) with x uniform in `domain`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DrawnPoints {
    pub x_context: Vec<f64>,
    pub y_context: Vec<f64>,
    pub held_out: HeldOutPoints,
}

pub fn draw_points(reference: &Reference, domain: [f64; 2], context: usize, held_out: usize, seed: u64) -> Result<DrawnPoints> {
    reference.validate()?;
    if context == 0 || context + held_out > 1000 {
        return Err(invalid("context", format!("draw 1 to 1000 points in all, got {context} + {held_out}")));
    }
    let prior = Prior::Gp(GpPrior { x: domain, ..reference.prior() });
    prior.validate()?;
    let d = prior.sample(&mut crate::datasets::Rng::new(seed), context + held_out)?;
    Ok(DrawnPoints {
        x_context: d.x[..context].to_vec(),
        y_context: d.y[..context].to_vec(),
        held_out: HeldOutPoints { x: d.x[context..].to_vec(), y: d.y[context..].to_vec() },
    })
}

/// Checks that every x lies in the model's domain and is finite.
fn check_domain(path: &str, xs: &[f64], domain: Option<[f64; 2]>) -> Result<()> {
    for (i, &x) in xs.iter().enumerate() {
        if !x.is_finite() {
            return Err(invalid(&format!("{path}[{i}]"), format!("{x} is not a finite number")));
        }
        if let Some([lo, hi]) = domain.filter(|[lo, hi]| x < *lo || x > *hi) {
            return Err(invalid(&format!("{path}[{i}]"), format!("x = {x} lies outside the plotted domain [{lo}, {hi}] the model was trained on")));
        }
    }
    Ok(())
}

fn band_of(n: usize, quantile: impl Fn(usize, f64) -> Result<f64>, mean: impl Fn(usize) -> Result<f64>) -> Result<Band> {
    let mut b = Band::default();
    for q in 0..n {
        b.mean.push(mean(q)?);
        b.q05.push(quantile(q, 0.05)?);
        b.q25.push(quantile(q, 0.25)?);
        b.q75.push(quantile(q, 0.75)?);
        b.q95.push(quantile(q, 0.95)?);
    }
    Ok(b)
}

impl Pfn {
    /// The x range the model was trained on (regression priors).
    pub fn domain(&self) -> Option<[f64; 2]> {
        match &self.spec.prior {
            Prior::Gp(p) => Some(p.x),
            Prior::Bnn(p) => Some(p.x),
            Prior::Tabular(_) => None,
        }
    }

    /// The 1D regression view's curves (a regression PFN with one feature).
    pub async fn curve(&self, r: &CurveRequest) -> Result<Curve> {
        let bar = self.bar.as_ref().ok_or_else(|| invalid("model", "the regression view needs a regression PFN".into()))?;
        if self.model.config.features != 1 {
            return Err(invalid("model", format!("the regression view plots one feature; this model takes {}", self.model.config.features)));
        }
        let domain = self.domain();
        let (n, max) = (r.x_context.len(), self.spec.context[1]);
        if n == 0 || n > max {
            return Err(invalid("xContext", format!("{n} context points; this model takes 1 to {max}")));
        }
        if r.y_context.len() != n {
            return Err(invalid("yContext", format!("{} values for {n} context points", r.y_context.len())));
        }
        check_domain("xContext", &r.x_context, domain)?;
        check_domain("yContext", &r.y_context, None)?;
        check_domain("xQuery", &r.x_query, domain)?;
        let held_out = r.held_out.as_ref().filter(|h| !h.x.is_empty());
        if let Some(h) = held_out {
            if h.y.len() != h.x.len() {
                return Err(invalid("heldOut.y", format!("{} values for {} points", h.y.len(), h.x.len())));
            }
            check_domain("heldOut.x", &h.x, domain)?;
            check_domain("heldOut.y", &h.y, None)?;
        }
        if let Some(g) = r.y_grid.filter(|g| g.count == 0 || g.count > MAX_GRID || g.low >= g.high || !g.low.is_finite() || !g.high.is_finite()) {
            return Err(invalid("yGrid", format!("{g:?}: need low < high and 1 to {MAX_GRID} points")));
        }
        if let Some(reference) = &r.reference {
            reference.validate()?;
        }
        // The curve's queries and the held-out points in one forward pass.
        let mut xq = r.x_query.clone();
        xq.extend(held_out.map_or(&[][..], |h| &h.x[..]));
        if xq.is_empty() {
            return Err(invalid("xQuery", "give at least one query point".into()));
        }
        let request = super::pfn::PredictRequest {
            datasets: vec![super::pfn::PredictDataset {
                x_context: r.x_context.iter().map(|&x| vec![x]).collect(),
                y_context: r.y_context.clone(),
                x_query: xq.iter().map(|&x| vec![x]).collect(),
            }],
        };
        let probs: Vec<Vec<f64>> = {
            let (d, n) = self.check_request(&request)?.remove(0);
            let _guard = no_grad();
            let logits = self.logits(&[&d], n)?;
            let k = logits.shape()[2];
            logits.to_vec().await?.chunks(k).map(softmax).collect()
        };
        let m = r.x_query.len();
        let pfn = band_of(m, |q, level| bar.quantile(&probs[q], level), |q| bar.mean(&probs[q]))?;
        let density = match r.y_grid {
            Some(g) => {
                let step = (g.high - g.low) / (g.count.max(2) - 1) as f64;
                let mut out = Vec::with_capacity(m * g.count);
                for p in &probs[..m] {
                    out.extend(bar.density_grid(p, g.low, step, g.count)?);
                }
                out
            }
            None => Vec::new(),
        };
        let exact = match &r.reference {
            Some(reference) => Some(reference.predict(&r.x_context, &r.y_context, &xq)?),
            None => None,
        };
        let exact_band = match &exact {
            Some(mix) => Some(band_of(m, |q, level| Ok(mix[q].quantile(level)), |q| Ok(mix[q].mean()))?),
            None => None,
        };
        let held_out = match held_out {
            Some(h) => {
                let count = h.y.len() as f64;
                let mut pfn_nll = 0.0;
                for (p, &y) in probs[m..].iter().zip(&h.y) {
                    pfn_nll -= bar.log_density(p, y)?;
                }
                let exact_nll = exact.as_ref().map(|mix| -mix[m..].iter().zip(&h.y).map(|(c, &y)| c.log_density(y)).sum::<f64>() / count);
                Some(HeldOutScores { points: h.y.len(), pfn_nll: pfn_nll / count, exact_nll })
            }
            None => None,
        };
        Ok(Curve { pfn, density, exact: exact_band, held_out })
    }
}
