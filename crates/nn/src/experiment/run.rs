//! Training one run of a card to its final metric; `run_native` trains a
//! whole card, one run after another (the command line and the tests).

use nnlab_core::{Device, Error, Result};
use serde::{Deserialize, Serialize};

use super::{Metric, PlannedRun, invalid};
use crate::spec::SpecTrainer;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunResult {
    pub variant: String,
    pub sweep_index: Option<usize>,
    pub seed: u64,
    /// The final metric on the whole split; None when the run diverged.
    pub metric: Option<f64>,
    /// The step after which the loss was first seen not finite.
    #[serde(default)]
    pub diverged_at: Option<u64>,
    #[serde(default)]
    pub seconds: f64,
    /// How long reading the final metric took (an evaluation of the whole
    /// split), when measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_seconds: Option<f64>,
    /// The metric layer by layer, for the activation metrics.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<LayerValue>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LayerValue {
    pub path: String,
    pub value: f64,
}

/// A card's metric on a model: the value the checks use, and per layer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Measured {
    pub value: f64,
    pub layers: Vec<LayerValue>,
}

/// The card's metric on the trainer's current weights, on the whole split it
/// reads or on at most `limit` examples of it (a fixed sample).
pub async fn measure(trainer: &SpecTrainer, metric: Metric, limit: usize) -> Result<Measured> {
    if !metric.per_layer() {
        // Only the split the metric reads.
        let test = matches!(metric, Metric::TestAccuracy | Metric::TestLoss);
        let (loss, accuracy) = trainer.evaluate(test, limit.max(1)).await?;
        if !loss.is_finite() {
            return Err(Error::NonFinite { what: "loss" });
        }
        let value = if matches!(metric, Metric::TestLoss | Metric::TrainLoss) { Some(loss) } else { accuracy };
        let value = value.ok_or_else(|| invalid("metric", format!("{} needs a classification task", metric.name())))?;
        return Ok(Measured { value: value as f64, layers: Vec::new() });
    }
    let stats = trainer.activation_stats(limit).await?;
    let (layers, value) = if metric == Metric::ActivationSparsity {
        let relu: Vec<LayerValue> = stats.iter().filter(|s| s.relu).map(|s| LayerValue { path: s.path.clone(), value: s.zeros as f64 }).collect();
        let mean = relu.iter().map(|l| l.value).sum::<f64>() / relu.len().max(1) as f64;
        (relu, mean)
    } else {
        let all: Vec<LayerValue> = stats.iter().map(|s| LayerValue { path: s.path.clone(), value: s.variance as f64 }).collect();
        let last = all.last().map(|l| l.value);
        (all, last.unwrap_or(0.0))
    };
    if layers.is_empty() {
        let which = if metric == Metric::ActivationSparsity { "a ReLU" } else { "an activation function" };
        return Err(invalid("metric", format!("{} needs a layer that ends in {which}", metric.name())));
    }
    if !value.is_finite() {
        return Err(Error::NonFinite { what: "activation statistics" });
    }
    Ok(Measured { value, layers })
}

/// How often a run looks at its loss, to stop early once it has diverged
/// (the page looks at the same steps), and on how many examples of each
/// split: a diverged model's loss is not finite on any of them.
const LOOKS: usize = 20;
const LOOK_SAMPLE: usize = 64;

/// Trains `run` for its spec's steps on `device` and reads the final metric.
/// A run whose loss stops being finite ends there, as diverged.
/// A run marked `at_init` is not trained: the metric is read as initialised.
/// `clock` (seconds) times the final evaluation, the fastest of `repeats`.
pub async fn train_run(run: &PlannedRun, metric: Metric, device: Device, clock: &dyn Fn() -> f64, repeats: usize) -> Result<RunResult> {
    let mut trainer = SpecTrainer::new(&run.spec, device).await?;
    let steps = if run.at_init { 0 } else { run.spec.training.as_ref().map_or(1000, |t| t.steps) };
    let chunk = steps.div_ceil(LOOKS).max(1);
    let mut result = RunResult {
        variant: run.variant.clone(),
        sweep_index: run.sweep_index,
        seed: run.seed,
        metric: None,
        diverged_at: None,
        seconds: 0.0,
        eval_seconds: None,
        layers: Vec::new(),
    };
    let mut done = 0;
    while done < steps {
        let n = chunk.min(steps - done);
        trainer.train(n)?;
        done += n;
        if done < steps {
            match trainer.metrics_on(LOOK_SAMPLE).await {
                Ok(_) => {}
                Err(Error::NonFinite { .. }) => {
                    result.diverged_at = Some(done as u64);
                    return Ok(result);
                }
                Err(e) => return Err(e),
            }
        }
    }
    trainer.set_inference(run.evaluate);
    trainer.sync().await?;
    let mut fastest = f64::INFINITY;
    let mut measured = Err(Error::NonFinite { what: "test loss" });
    for _ in 0..repeats.max(1) {
        let start = clock();
        measured = measure(&trainer, metric, usize::MAX).await;
        fastest = fastest.min(clock() - start);
        if measured.is_err() {
            break;
        }
    }
    match measured {
        Ok(m) => {
            result.eval_seconds = Some(fastest);
            result.metric = Some(m.value);
            result.layers = m.layers;
        }
        Err(Error::NonFinite { .. }) => result.diverged_at = Some(done as u64),
        Err(e) => return Err(e),
    }
    Ok(result)
}

/// Every run of `exp` on `device`, in order, each timed; `progress` hears of
/// each result as it comes.
#[cfg(not(target_arch = "wasm32"))]
pub async fn run_native(exp: &super::Experiment, device: Device, mut progress: impl FnMut(&PlannedRun, &RunResult)) -> Result<Vec<RunResult>> {
    let mut out = Vec::new();
    let epoch = std::time::Instant::now();
    let clock = || epoch.elapsed().as_secs_f64();
    let repeats = super::timing_repeats(exp);
    for run in exp.runs()? {
        let start = std::time::Instant::now();
        let mut r = train_run(&run, exp.metric, device.clone(), &clock, repeats).await?;
        r.seconds = start.elapsed().as_secs_f64();
        progress(&run, &r);
        out.push(r);
    }
    Ok(out)
}
