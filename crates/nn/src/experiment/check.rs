//! A card's results: for each variant and sweep value, the final metric over
//! the seeds, and the card's checks on those numbers.

use nnlab_core::Result;
use serde::Serialize;

use super::{Expectation, Experiment, Metric, RunResult, invalid, show_value};

/// One variant at one sweep value, over its seeds.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cell {
    pub variant: String,
    pub sweep_index: Option<usize>,
    /// The mean final metric; None when a run diverged.
    pub mean: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub runs: usize,
    pub diverged: usize,
    /// Training time, summed over the seeds.
    pub seconds: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub metric: Metric,
    pub variants: Vec<String>,
    /// The sweep's label and values as text (one empty value without a sweep).
    pub sweep_label: Option<String>,
    pub sweep_values: Vec<String>,
    /// Variant-major: cells[v * sweep_values.len() + k].
    pub cells: Vec<Cell>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckOutcome {
    /// The expectation in words.
    pub text: String,
    pub passed: bool,
    /// The numbers it was decided on.
    pub measured: String,
}

/// Groups the runs' results by variant and sweep value. Every planned run
/// must have a result.
pub fn summarise(exp: &Experiment, results: &[RunResult]) -> Result<Summary> {
    let points = exp.sweep.as_ref().map_or(1, |s| s.values.len());
    let mut cells = Vec::new();
    for v in &exp.variants {
        for k in 0..points {
            let index = exp.sweep.as_ref().map(|_| k);
            let mine: Vec<&RunResult> = results.iter().filter(|r| r.variant == v.label && r.sweep_index == index).collect();
            if mine.len() != exp.seeds.len() {
                return Err(invalid("results", format!("{} of {} runs of \"{}\" have results", mine.len(), exp.seeds.len(), v.label)));
            }
            let values: Vec<f64> = mine.iter().filter_map(|r| r.metric).collect();
            let diverged = mine.len() - values.len();
            let whole = |f: fn(f64, f64) -> f64, start: f64| (diverged == 0).then(|| values.iter().copied().fold(start, f));
            cells.push(Cell {
                variant: v.label.clone(),
                sweep_index: index,
                mean: (diverged == 0).then(|| values.iter().sum::<f64>() / values.len() as f64),
                min: whole(f64::min, f64::INFINITY),
                max: whole(f64::max, f64::NEG_INFINITY),
                runs: mine.len(),
                diverged,
                seconds: mine.iter().map(|r| r.seconds).sum(),
            });
        }
    }
    Ok(Summary {
        metric: exp.metric,
        variants: exp.variants.iter().map(|v| v.label.clone()).collect(),
        sweep_label: exp.sweep.as_ref().map(|s| s.label.clone()),
        sweep_values: exp.sweep.as_ref().map_or(vec![String::new()], |s| s.values.iter().map(show_value).collect()),
        cells,
    })
}

impl Summary {
    fn cell(&self, variant: &str, k: usize) -> &Cell {
        let v = self.variants.iter().position(|l| l == variant).expect("checked when the card was parsed");
        &self.cells[v * self.sweep_values.len() + k]
    }

    /// The cell's mean as a score where higher is better; a diverged cell
    /// scores below everything.
    fn score(&self, variant: &str, k: usize) -> f64 {
        match self.cell(variant, k).mean {
            Some(m) if self.metric.higher_is_better() => m,
            Some(m) => -m,
            None => f64::NEG_INFINITY,
        }
    }

    fn show(&self, variant: &str, k: usize) -> String {
        match self.cell(variant, k).mean {
            Some(m) => show_number(m),
            None => "diverged".into(),
        }
    }

    fn at(&self, k: usize) -> String {
        match &self.sweep_label {
            Some(label) => format!(" at {label} = {}", self.sweep_values[k]),
            None => String::new(),
        }
    }
}

/// Four decimals, or three significant digits for numbers too small for them
/// (an activation variance that has died out with depth).
pub fn show_number(m: f64) -> String {
    if m != 0.0 && m.abs() < 1e-3 { format!("{m:.2e}") } else { format!("{m:.4}") }
}

/// A bound as the card states it (1e-8 rather than 0.00000001).
fn show_bound(x: f64) -> String {
    if x != 0.0 && x.abs() < 1e-3 { format!("{x:e}") } else { x.to_string() }
}

/// "a" or "an" before a word.
fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" }
}

/// Decides each of the card's expectations on the summary.
pub fn check(exp: &Experiment, s: &Summary) -> Vec<CheckOutcome> {
    let metric = exp.metric.name();
    // The activation metrics measure an effect, not a quality: "higher".
    let (better, improves) = if exp.metric.per_layer() { ("higher", "grows") } else { ("better", "improves") };
    let last = s.sweep_values.len() - 1;
    let scope = |at: &Option<serde_json::Value>| -> Vec<usize> {
        match (at, &exp.sweep) {
            (Some(v), Some(sweep)) => sweep.values.iter().position(|x| x == v).into_iter().collect(),
            _ => (0..s.sweep_values.len()).collect(),
        }
    };
    exp.expect
        .iter()
        .map(|e| match e {
            Expectation::Beats { run, other, margin, at } => {
                let ks = scope(at);
                let passed = ks.iter().all(|&k| s.score(run, k) - s.score(other, k) >= *margin);
                let measured = ks.iter().map(|&k| format!("{} vs {}{}", s.show(run, k), s.show(other, k), s.at(k))).collect::<Vec<_>>().join("; ");
                CheckOutcome { text: format!("{run} has a {better} {metric} than {other} by at least {margin}"), passed, measured }
            }
            Expectation::Reaches { run, value, at } | Expectation::NoBetterThan { run, value, at } => {
                let ks = scope(at);
                let reach = matches!(e, Expectation::Reaches { .. });
                let goal = if exp.metric.higher_is_better() { *value } else { -value };
                // A diverged run (scored below everything) is no better than any value.
                let passed = ks.iter().all(|&k| if reach { s.score(run, k) >= goal } else { s.score(run, k) <= goal });
                let measured = ks.iter().map(|&k| format!("{}{}", s.show(run, k), s.at(k))).collect::<Vec<_>>().join("; ");
                let value = show_bound(*value);
                let text = match (reach, exp.metric.higher_is_better()) {
                    (true, true) => format!("{run} reaches {} {metric} of at least {value}", article(metric)),
                    (true, false) => format!("{run} reaches {} {metric} of at most {value}", article(metric)),
                    (false, true) => format!("{run}'s {metric} stays at or below {value}"),
                    (false, false) => format!("{run}'s {metric} stays at or above {value}"),
                };
                CheckOutcome { text, passed, measured }
            }
            Expectation::Matches { run, other, tolerance, at } => {
                let ks = scope(at);
                let gap = |k: usize| (s.score(run, k) - s.score(other, k)).abs();
                let passed = ks.iter().all(|&k| gap(k) <= *tolerance);
                let measured = ks
                    .iter()
                    .map(|&k| format!("{} vs {}, a difference of {}{}", s.show(run, k), s.show(other, k), show_number(gap(k)), s.at(k)))
                    .collect::<Vec<_>>()
                    .join("; ");
                CheckOutcome { text: format!("{run} and {other} have the same {metric} within {}", show_bound(*tolerance)), passed, measured }
            }
            Expectation::GapShrinks { run, other } => {
                let gap = |k: usize| s.score(other, k) - s.score(run, k);
                let passed = gap(last) < gap(0);
                let measured = format!("gap {:.4}{}, {:.4}{}", gap(0), s.at(0), gap(last), s.at(last));
                CheckOutcome { text: format!("the {metric} gap by which {other} beats {run} shrinks along the sweep"), passed, measured }
            }
            Expectation::ImprovesAlongSweep { run, slack } => {
                let passed = (0..last).all(|k| s.score(run, k + 1) >= s.score(run, k) - slack);
                let measured = (0..=last).map(|k| format!("{}{}", s.show(run, k), s.at(k))).collect::<Vec<_>>().join(", ");
                CheckOutcome { text: format!("{run}'s {metric} {improves} along the sweep (a step back of at most {slack} allowed)"), passed, measured }
            }
        })
        .collect()
}
