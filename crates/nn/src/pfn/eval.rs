//! Held-out evaluation of a regression PFN: datasets drawn from its prior
//! with a seed domain training never uses, the PFN's mean NLL on the query
//! points beside the exact reference's (the GP posterior for fixed
//! hyperparameters, the Bayes-optimal mixture over a grid for hyper-priors),
//! per context-size bin, with the coverage of the central 50% and 90% intervals.

use nnlab_core::{Error, Result, no_grad};
use serde::Serialize;

use super::bar::softmax;
use super::gp::{Points, bayes_predictive};
use super::pfn::{HELD_OUT, Pfn, derive_seed};
use super::prior::{Dataset, Prior};
use crate::datasets::Rng;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HeldOut {
    pub datasets: usize,
    pub queries: usize,
    pub seed: u64,
}

impl Default for HeldOut {
    fn default() -> HeldOut {
        HeldOut { datasets: 500, queries: 20, seed: 20_221_025 }
    }
}

/// Context sizes grouped as the report shows them.
pub const BINS: [[usize; 2]; 4] = [[1, 5], [6, 10], [11, 20], [21, 50]];

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Scores {
    pub queries: usize,
    pub pfn_nll: f64,
    /// None where the prior has no exact reference (BNN).
    pub exact_nll: Option<f64>,
    pub pfn_coverage50: f64,
    pub pfn_coverage90: f64,
    pub exact_coverage50: Option<f64>,
    pub exact_coverage90: Option<f64>,
}

impl Scores {
    pub fn gap(&self) -> Option<f64> {
        self.exact_nll.map(|e| self.pfn_nll - e)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EvalReport {
    pub held_out: HeldOut,
    pub all: Scores,
    /// Per bin of `BINS` (context sizes outside every bin are counted in `all` only).
    pub bins: Vec<([usize; 2], Scores)>,
}

#[derive(Default)]
struct Sums {
    n: usize,
    pfn: f64,
    exact: f64,
    pfn_in: [usize; 2],
    exact_in: [usize; 2],
}

impl Sums {
    fn scores(&self, exact: bool) -> Scores {
        let n = self.n.max(1) as f64;
        let e = |v: f64| exact.then_some(v);
        Scores {
            queries: self.n,
            pfn_nll: self.pfn / n,
            exact_nll: e(self.exact / n),
            pfn_coverage50: self.pfn_in[0] as f64 / n,
            pfn_coverage90: self.pfn_in[1] as f64 / n,
            exact_coverage50: e(self.exact_in[0] as f64 / n),
            exact_coverage90: e(self.exact_in[1] as f64 / n),
        }
    }
}

const LEVELS: [(f64, f64); 2] = [(0.25, 0.75), (0.05, 0.95)];

/// Per query: the NLL and whether the 50% and 90% intervals hold the target.
type Scored = Vec<(f64, [bool; 2])>;

/// The exact predictive's scores per query, for GP priors.
fn exact(prior: &Prior, d: &Dataset, n: usize) -> Result<Option<Scored>> {
    let Prior::Gp(gp) = prior else { return Ok(None) };
    let f = d.features;
    let (grid, weights) = gp.grid(grid_per_axis(gp));
    let mixtures = bayes_predictive(&grid, &weights, Points::new(&d.x[..n * f], f), &d.y[..n], Points::new(&d.x[n * f..], f))?;
    Ok(Some(mixtures.iter().zip(&d.y[n..]).map(|(m, &y)| (-m.log_density(y), LEVELS.map(|(lo, hi)| m.quantile(lo) <= y && y <= m.quantile(hi)))).collect()))
}

/// Grid points per drawn hyperparameter: 256 for one (within 2e-3 nats of
/// brute-force quadrature, see tests/tests/pfn.rs), fewer for several so
/// the grid stays near 4,096 settings.
fn grid_per_axis(gp: &super::prior::GpPrior) -> usize {
    use super::prior::Hyper;
    let drawn = [gp.lengthscale, gp.outputscale, gp.noise_std].iter().filter(|h| matches!(h, Hyper::Drawn(_))).count();
    match drawn {
        0 | 1 => 256,
        2 => 64,
        _ => 16,
    }
}

/// The held-out dataset `i`: its context size and points.
pub fn held_out_dataset(pfn: &Pfn, h: &HeldOut, i: usize) -> Result<(Dataset, usize)> {
    let mut rng = Rng::new(derive_seed(h.seed, HELD_OUT, i as u64));
    let [lo, hi] = pfn.spec.context;
    let n = lo + (rng.next_u32() as usize) % (hi - lo + 1);
    Ok((pfn.spec.prior.sample(&mut rng, n + h.queries)?, n))
}

pub async fn evaluate(pfn: &Pfn, h: HeldOut) -> Result<EvalReport> {
    let bar = pfn.bar.as_ref().ok_or_else(|| Error::InvalidArgument { op: "pfn_eval", reason: "held-out NLL needs a regression PFN".into() })?;
    let _guard = no_grad();
    let mut all = Sums::default();
    let mut bins: Vec<Sums> = BINS.iter().map(|_| Sums::default()).collect();
    let mut has_exact = false;
    for i in 0..h.datasets {
        let (d, n) = held_out_dataset(pfn, &h, i)?;
        let logits = pfn.logits(&[&d], n)?;
        let k = logits.shape()[2];
        let values = logits.to_vec().await?;
        let reference = exact(&pfn.spec.prior, &d, n)?;
        has_exact = reference.is_some();
        let bin = BINS.iter().position(|[lo, hi]| (*lo..=*hi).contains(&n));
        for (q, (row, &y)) in values.chunks(k).zip(&d.y[n..]).enumerate() {
            let probs = softmax(row);
            let nll = -bar.log_density(&probs, y)?;
            let mut inside = [false; 2];
            for (slot, (lo, hi)) in inside.iter_mut().zip(LEVELS) {
                *slot = bar.quantile(&probs, lo)? <= y && y <= bar.quantile(&probs, hi)?;
            }
            let (exact_nll, exact_in) = reference.as_ref().map_or((0.0, [false; 2]), |r| r[q]);
            for s in std::iter::once(&mut all).chain(bin.map(|b| &mut bins[b])) {
                s.n += 1;
                s.pfn += nll;
                s.exact += exact_nll;
                for l in 0..2 {
                    s.pfn_in[l] += inside[l] as usize;
                    s.exact_in[l] += exact_in[l] as usize;
                }
            }
        }
    }
    Ok(EvalReport { held_out: h, all: all.scores(has_exact), bins: BINS.iter().zip(&bins).map(|(b, s)| (*b, s.scores(has_exact))).collect() })
}
