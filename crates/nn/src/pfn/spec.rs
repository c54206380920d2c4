//! A PFN as one JSON document: the prior it is trained on, the shape of
//! points it sees, the model and the training run. The shipped ones live in
//! models/pfn-*.json; `nnlab pfn train` reads them.

use nnlab_core::{Error, Result};
use serde::{Deserialize, Serialize};

use super::model::PfnModelConfig;
use super::prior::Prior;
use crate::schedule::Schedule;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PfnSpec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub prior: Prior,
    /// Context points per dataset: drawn once per batch, uniformly in [min, max].
    pub context: [usize; 2],
    /// Query points per dataset during training.
    pub queries: usize,
    pub model: ModelShape,
    pub training: PfnTraining,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ModelShape {
    pub d_model: usize,
    pub heads: usize,
    pub layers: usize,
    pub ff: usize,
    pub decoder_hidden: usize,
    /// Bar-distribution buckets (regression priors only).
    #[serde(default = "buckets")]
    pub buckets: usize,
}

fn buckets() -> usize {
    1000
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PfnTraining {
    pub steps: u32,
    /// Datasets per step.
    pub batch: usize,
    /// Adam's peak learning rate: linear warm-up, then cosine decay to zero at `steps`.
    pub lr: f32,
    pub warmup: u32,
    #[serde(default = "clip")]
    pub clip_grad_norm: f32,
    pub seed: u64,
    /// Prior samples of y the bucket borders are the quantiles of.
    #[serde(default = "border_samples")]
    pub border_samples: usize,
}

fn clip() -> f32 {
    1.0
}

fn border_samples() -> usize {
    200_000
}

impl PfnTraining {
    pub fn schedule(&self) -> Schedule {
        Schedule::WarmupCosine { warmup: self.warmup, start_factor: 0.01, t_max: self.steps.saturating_sub(self.warmup).max(1), eta_min: 0.0 }
    }
}

/// Most points a PFN may be asked to take in at once (context and queries).
pub const MAX_POINTS: usize = 4096;
/// Most values one training step may hold per layer (activations or
/// attention scores): 2^27 f32, 512 MiB, so a spec cannot exhaust a tab.
pub const MAX_STEP_VALUES: usize = 1 << 27;
const MAX_BORDER_SAMPLES: usize = 10_000_000;

impl PfnSpec {
    pub fn parse(text: &str) -> Result<PfnSpec> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let spec: PfnSpec =
            serde_path_to_error::deserialize(de).map_err(|e| Error::InvalidSpec { path: e.path().to_string(), reason: e.inner().to_string() })?;
        spec.validate()?;
        Ok(spec)
    }

    /// The JSON Schema of a PFN spec (models/pfn.schema.json).
    pub fn schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(PfnSpec)).expect("schemas serialise")
    }

    pub fn model_config(&self) -> PfnModelConfig {
        let m = self.model;
        PfnModelConfig {
            d_model: m.d_model,
            heads: m.heads,
            layers: m.layers,
            ff: m.ff,
            decoder_hidden: m.decoder_hidden,
            outputs: self.prior.classes().unwrap_or(m.buckets),
            features: self.prior.features(),
        }
    }

    pub fn validate(&self) -> Result<()> {
        let bad = |path: &str, reason: String| Err(Error::InvalidSpec { path: path.into(), reason });
        self.prior.validate()?;
        self.model_config().validate()?;
        let [lo, hi] = self.context;
        if lo == 0 || lo > hi || hi + self.queries > MAX_POINTS {
            return bad("context", format!("{:?} must be an increasing range from 1, with context + queries at most {MAX_POINTS}", self.context));
        }
        if self.queries == 0 {
            return bad("queries", "must be at least 1".into());
        }
        let t = self.training;
        if t.steps == 0
            || t.batch == 0
            || t.batch > 4096
            || !(t.lr > 0.0 && t.lr.is_finite())
            || t.warmup > t.steps
            || t.clip_grad_norm.is_nan()
            || t.clip_grad_norm <= 0.0
        {
            return bad("training", format!("{t:?}: steps, batch (at most 4096), lr and clipGradNorm must be positive, warmup at most steps"));
        }
        let points = hi + self.queries;
        let per_layer = (points * self.model.d_model.max(self.model.ff)).max(self.model.heads * points * hi).max(self.queries * self.model_config().outputs);
        if t.batch.saturating_mul(per_layer) > MAX_STEP_VALUES {
            return bad(
                "training.batch",
                format!(
                    "{} datasets of {points} points need {} values per layer in one step; the limit is {MAX_STEP_VALUES}",
                    t.batch,
                    t.batch.saturating_mul(per_layer)
                ),
            );
        }
        if t.border_samples > MAX_BORDER_SAMPLES {
            return bad("training.borderSamples", format!("at most {MAX_BORDER_SAMPLES}, got {}", t.border_samples));
        }
        if self.prior.classes().is_none() && (self.model.buckets < 2 || t.border_samples < self.model.buckets * 10) {
            return bad("model.buckets", format!("{} buckets need at least 2 buckets and 10 border samples per bucket", self.model.buckets));
        }
        Ok(())
    }
}
