//! Training one run of a card to its final metric; `run_native` trains a
//! whole card, one run after another (the command line and the tests).

use nnlab_core::{Device, Error, Result};
use serde::{Deserialize, Serialize};

use super::{invalid, Metric, PlannedRun};
use crate::spec::{SpecMetrics, SpecTrainer};

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
}

/// The card's metric out of the trainer's numbers.
pub fn metric_value(metric: Metric, m: &SpecMetrics) -> Result<f64> {
    let v = match metric {
        Metric::TestAccuracy => m.test_accuracy,
        Metric::TrainAccuracy => m.train_accuracy,
        Metric::TestLoss => Some(m.test_loss),
        Metric::TrainLoss => Some(m.train_loss),
    };
    v.map(f64::from).ok_or_else(|| invalid("metric", format!("{} needs a classification task", metric.name())))
}

/// How often a run looks at its loss, to stop early once it has diverged
/// (the page looks at the same steps, on the same sample, so both see the
/// same divergence).
const LOOKS: usize = 20;

/// Trains `run` for its spec's steps on `device` and reads the final metric.
/// A run whose loss stops being finite ends there, as diverged.
pub async fn train_run(run: &PlannedRun, metric: Metric, device: Device) -> Result<RunResult> {
    let mut trainer = SpecTrainer::new(&run.spec, device).await?;
    let steps = run.spec.training.as_ref().map_or(1000, |t| t.steps);
    let chunk = steps.div_ceil(LOOKS).max(1);
    let mut result = RunResult { variant: run.variant.clone(), sweep_index: run.sweep_index, seed: run.seed, metric: None, diverged_at: None, seconds: 0.0 };
    let mut done = 0;
    while done < steps {
        let n = chunk.min(steps - done);
        trainer.train(n)?;
        done += n;
        let looked = if done == steps { trainer.metrics().await } else { trainer.metrics_on(256).await };
        match looked {
            Ok(m) if done == steps => result.metric = Some(metric_value(metric, &m)?),
            Ok(_) => {}
            Err(Error::NonFinite { .. }) => {
                result.diverged_at = Some(done as u64);
                break;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(result)
}

/// Every run of `exp` on `device`, in order, each timed; `progress` hears of
/// each result as it comes.
#[cfg(not(target_arch = "wasm32"))]
pub async fn run_native(exp: &super::Experiment, device: Device, mut progress: impl FnMut(&PlannedRun, &RunResult)) -> Result<Vec<RunResult>> {
    let mut out = Vec::new();
    for run in exp.runs()? {
        let start = std::time::Instant::now();
        let mut r = train_run(&run, exp.metric, device.clone()).await?;
        r.seconds = start.elapsed().as_secs_f64();
        progress(&run, &r);
        out.push(r);
    }
    Ok(out)
}
