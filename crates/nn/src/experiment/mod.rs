//! Experiment cards: a paper's claim turned into runs of model specs that
//! differ in a few fields, trained on the same data with the same seeds, and
//! the outcome the claim predicts, stated as checks on the runs' final
//! metric. One JSON document (`models/experiments/*.json`, schema in
//! `models/experiment.schema.json`) drives the page and `nnlab experiment run`.
//!
//! A card has variants (each sets fields of the base spec by JSON pointer,
//! `"/training/trainOnly": ["*.bn*"]`) and optionally a sweep (one or more
//! fields set to each of a list of values, e.g. every hidden width). Every
//! variant runs at every sweep value with every seed.

mod check;
mod run;

pub use check::{Cell, CheckOutcome, Summary, check, show_number, summarise};
#[cfg(not(target_arch = "wasm32"))]
pub use run::run_native;
pub use run::{LayerValue, Measured, RunResult, measure, train_run};

use std::collections::BTreeMap;

use nnlab_core::{Error, Result};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Inference;
use crate::spec::ModelSpec;

pub const MAX_VARIANTS: usize = 8;
pub const MAX_SWEEP_VALUES: usize = 8;
pub const MAX_SEEDS: usize = 5;
/// Every run of a card, all seeds included.
pub const MAX_RUNS: usize = 48;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Experiment {
    /// File name without `.json`: lower-case letters, digits and dashes.
    pub name: String,
    pub title: String,
    /// The paper's claim, in one sentence.
    pub claim: String,
    /// Authors, title, venue and year of the paper.
    pub citation: String,
    /// The miniature: what is trained on what, and how the runs differ.
    pub setup: String,
    /// What the miniature measured with these seeds; where it does not show
    /// the paper's effect, that and why.
    pub outcome: String,
    /// The spec every run starts from.
    pub base: ModelSpec,
    /// The runs compared; each sets fields of the base spec.
    #[schemars(length(min = 1, max = MAX_VARIANTS))]
    pub variants: Vec<Variant>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<Sweep>,
    /// Every run is trained once per seed (the spec's `seed`).
    #[serde(default = "first_seed")]
    #[schemars(length(min = 1, max = MAX_SEEDS))]
    pub seeds: Vec<u64>,
    /// The number each run ends with, which the checks compare.
    pub metric: Metric,
    /// The outcome the claim predicts, as checks on the final metric.
    #[schemars(length(min = 1))]
    pub expect: Vec<Expectation>,
}

/// How often each run's final evaluation is repeated (its fastest timed):
/// several times where the card compares ways of evaluating, else once.
pub fn timing_repeats(exp: &Experiment) -> usize {
    if exp.variants.iter().any(|v| !v.evaluate.is_standard()) { 5 } else { 1 }
}

fn first_seed() -> Vec<u64> {
    vec![1]
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Variant {
    /// A short name, unique in the card ("BatchNorm only").
    pub label: String,
    /// JSON pointer into the spec -> the value put there.
    #[serde(default)]
    pub set: BTreeMap<String, Value>,
    /// Read the metric on the model as initialised, without training it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub at_init: bool,
    /// How the final metric's evaluation computes the outputs (training is
    /// the same): `foldedBatchnorm` or `recurrent`.
    #[serde(default, skip_serializing_if = "Inference::is_standard")]
    pub evaluate: Inference,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Sweep {
    /// What the values are ("hidden width").
    pub label: String,
    /// JSON pointers into the spec; each gets the sweep's value.
    #[schemars(length(min = 1))]
    pub paths: Vec<String>,
    #[schemars(length(min = 2, max = MAX_SWEEP_VALUES))]
    pub values: Vec<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Metric {
    TestAccuracy,
    TestLoss,
    TrainAccuracy,
    TrainLoss,
    /// The share of zero outputs of the layers that end in a ReLU, on the
    /// test set, averaged over those layers; each layer's is kept too.
    ActivationSparsity,
    /// The variance of the last activation layer's outputs on the test set;
    /// each activation layer's is kept too (the signal through depth).
    ActivationVariance,
}

impl Metric {
    /// Which way the checks read "better": up for accuracies, and for the
    /// activation statistics, which measure an effect rather than a quality.
    pub fn higher_is_better(self) -> bool {
        !matches!(self, Metric::TestLoss | Metric::TrainLoss)
    }

    /// Whether the metric describes the layers' activations (and so has a
    /// value per layer).
    pub fn per_layer(self) -> bool {
        matches!(self, Metric::ActivationSparsity | Metric::ActivationVariance)
    }

    pub fn name(self) -> &'static str {
        match self {
            Metric::TestAccuracy => "test accuracy",
            Metric::TestLoss => "test loss",
            Metric::TrainAccuracy => "training accuracy",
            Metric::TrainLoss => "training loss",
            Metric::ActivationSparsity => "activation sparsity",
            Metric::ActivationVariance => "activation variance",
        }
    }
}

/// A check on the runs' final metric, averaged over the seeds. "Better"
/// follows the metric (higher accuracy, lower loss); a diverged run is worse
/// than any other.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "camelCase", rename_all_fields = "camelCase", deny_unknown_fields)]
pub enum Expectation {
    /// `run` is better than `other` by at least `margin`, at every sweep
    /// value or only at `at`.
    Beats {
        run: String,
        other: String,
        #[serde(default)]
        margin: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        at: Option<Value>,
    },
    /// `run`'s metric is `value` or better, at every sweep value or only at `at`.
    Reaches {
        run: String,
        value: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        at: Option<Value>,
    },
    /// `run`'s metric is `value` or worse (a run that fails to train), at
    /// every sweep value or only at `at`.
    NoBetterThan {
        run: String,
        value: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        at: Option<Value>,
    },
    /// `run` and `other` differ by at most `tolerance`, at every sweep value
    /// or only at `at`.
    Matches {
        run: String,
        other: String,
        tolerance: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        at: Option<Value>,
    },
    /// The gap by which `other` is better than `run` is smaller at the last
    /// sweep value than at the first.
    GapShrinks { run: String, other: String },
    /// `run` gets better from each sweep value to the next, allowing a step
    /// back of at most `slack`.
    ImprovesAlongSweep {
        run: String,
        #[serde(default)]
        slack: f64,
    },
}

/// One training run of a card: a variant at a sweep value with a seed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedRun {
    pub variant: String,
    /// The index into the sweep's values, if there is a sweep.
    pub sweep_index: Option<usize>,
    pub seed: u64,
    /// "variant" or "variant, label = value", with the seed when there are several.
    pub label: String,
    pub spec: ModelSpec,
    /// The metric is read before any training.
    pub at_init: bool,
    /// How the final evaluation computes the outputs.
    pub evaluate: Inference,
}

fn invalid(path: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::InvalidSpec { path: path.into(), reason: reason.into() }
}

/// Puts `value` at JSON pointer `pointer` of `doc`: replaces what is there,
/// or adds the last key to an object that exists.
fn set_pointer(doc: &mut Value, pointer: &str, value: Value) -> Result<()> {
    if !pointer.starts_with('/') {
        return Err(invalid(pointer, "a JSON pointer starts with /"));
    }
    if let Some(slot) = doc.pointer_mut(pointer) {
        *slot = value;
        return Ok(());
    }
    let (parent, key) = pointer.rsplit_once('/').expect("starts with /");
    let key = key.replace("~1", "/").replace("~0", "~");
    match doc.pointer_mut(parent) {
        Some(Value::Object(map)) => {
            map.insert(key, value);
            Ok(())
        }
        _ => Err(invalid(pointer, "the spec has no such place")),
    }
}

/// A value as the runs' labels show it (strings without quotes).
pub fn show_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Experiment {
    /// Parses and checks a card; errors name the offending field's path.
    pub fn parse(json: &str) -> Result<Experiment> {
        let de = &mut serde_json::Deserializer::from_str(json);
        let exp: Experiment = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            invalid(if path == "." { "experiment".to_string() } else { path }, e.into_inner().to_string())
        })?;
        exp.validate()?;
        Ok(exp)
    }

    pub fn schema() -> Value {
        serde_json::to_value(schemars::schema_for!(Experiment)).expect("schemas serialise")
    }

    fn validate(&self) -> Result<()> {
        if self.name.is_empty() || !self.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
            return Err(invalid("name", "use lower-case letters, digits and dashes"));
        }
        if self.variants.is_empty() || self.variants.len() > MAX_VARIANTS {
            return Err(invalid("variants", format!("give 1 to {MAX_VARIANTS} variants")));
        }
        for (i, v) in self.variants.iter().enumerate() {
            if v.label.trim().is_empty() || self.variants[..i].iter().any(|w| w.label == v.label) {
                return Err(invalid(format!("variants[{i}].label"), format!("\"{}\" is empty or used twice", v.label)));
            }
        }
        if self.seeds.is_empty() || self.seeds.len() > MAX_SEEDS {
            return Err(invalid("seeds", format!("give 1 to {MAX_SEEDS} seeds")));
        }
        if let Some(s) = &self.sweep {
            if s.values.len() < 2 || s.values.len() > MAX_SWEEP_VALUES {
                return Err(invalid("sweep.values", format!("give 2 to {MAX_SWEEP_VALUES} values")));
            }
            if s.paths.is_empty() {
                return Err(invalid("sweep.paths", "name at least one field to sweep"));
            }
        }
        if self.expect.is_empty() {
            return Err(invalid("expect", "state the outcome the claim predicts"));
        }
        let known = |path: String, label: &str| -> Result<()> {
            if self.variants.iter().any(|v| v.label == label) { Ok(()) } else { Err(invalid(path, format!("no variant is labelled \"{label}\""))) }
        };
        for (i, e) in self.expect.iter().enumerate() {
            let at = |field: &str| format!("expect[{i}].{field}");
            let (run, other, value) = match e {
                Expectation::Beats { run, other, at, .. } | Expectation::Matches { run, other, at, .. } => (run, Some(other), at.as_ref()),
                Expectation::Reaches { run, at, .. } | Expectation::NoBetterThan { run, at, .. } => (run, None, at.as_ref()),
                Expectation::GapShrinks { run, other } => (run, Some(other), None),
                Expectation::ImprovesAlongSweep { run, .. } => (run, None, None),
            };
            known(at("run"), run)?;
            if let Some(other) = other {
                known(at("other"), other)?;
            }
            if let Some(v) = value
                && !self.sweep.as_ref().is_some_and(|s| s.values.contains(v))
            {
                return Err(invalid(at("at"), format!("{v} is not one of the sweep's values")));
            }
            if matches!(e, Expectation::GapShrinks { .. } | Expectation::ImprovesAlongSweep { .. }) && self.sweep.is_none() {
                return Err(invalid(at("kind"), "this check compares sweep values; the card has no sweep"));
            }
        }
        let runs = self.variants.len() * self.sweep.as_ref().map_or(1, |s| s.values.len()) * self.seeds.len();
        if runs > MAX_RUNS {
            return Err(invalid("variants", format!("{runs} runs (variants x sweep values x seeds); at most {MAX_RUNS}")));
        }
        self.runs().map(|_| ())
    }

    /// Every run of the card, variant by variant, then sweep value, then seed;
    /// each spec checked as the trainer will take it.
    pub fn runs(&self) -> Result<Vec<PlannedRun>> {
        let base = serde_json::to_value(&self.base).map_err(|e| invalid("base", e.to_string()))?;
        let points: Vec<Option<usize>> = match &self.sweep {
            Some(s) => (0..s.values.len()).map(Some).collect(),
            None => vec![None],
        };
        let mut out = Vec::new();
        for (vi, v) in self.variants.iter().enumerate() {
            for &point in &points {
                for &seed in &self.seeds {
                    let mut doc = base.clone();
                    for (pointer, value) in &v.set {
                        set_pointer(&mut doc, pointer, value.clone()).map_err(|e| invalid(format!("variants[{vi}].set.{pointer}"), e.to_string()))?;
                    }
                    let mut label = v.label.clone();
                    if let (Some(s), Some(k)) = (&self.sweep, point) {
                        for p in &s.paths {
                            set_pointer(&mut doc, p, s.values[k].clone()).map_err(|e| invalid(format!("sweep.paths: {p}"), e.to_string()))?;
                        }
                        label = format!("{label}, {} = {}", s.label, show_value(&s.values[k]));
                    }
                    set_pointer(&mut doc, "/seed", seed.into())?;
                    if self.seeds.len() > 1 {
                        label = format!("{label}, seed {seed}");
                    }
                    let in_run = |e: Error| match e {
                        Error::InvalidSpec { path, reason } => invalid(format!("run \"{label}\": {path}"), reason),
                        other => other,
                    };
                    let spec = ModelSpec::from_json(&doc.to_string()).map_err(in_run)?;
                    crate::spec::limits::check(&spec).map_err(in_run)?;
                    out.push(PlannedRun { variant: v.label.clone(), sweep_index: point, seed, label, spec, at_init: v.at_init, evaluate: v.evaluate });
                }
            }
        }
        Ok(out)
    }
}
