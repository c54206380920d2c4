//! Training a PFN on its prior: each step draws a batch of datasets (the
//! batch's number of context points drawn uniformly in the spec's range),
//! and minimises the NLL of the query points: the bar-distribution NLL for
//! regression (its gradient is the cross-entropy's over buckets: the tail and
//! width terms do not depend on the model), the cross-entropy for classes.
//!
//! Step s draws from a generator seeded by (seed, s) alone, so a run
//! resumed from a checkpoint continues exactly as if it had never stopped.

use std::collections::HashMap;

use nnlab_core::{Device, Error, Result, Tensor};

use super::pfn::{BATCHES, Pfn, derive_seed};
use super::prior::Dataset;
use super::spec::PfnSpec;
use crate::datasets::Rng;
use crate::gradients::clip_grad_norm;
use crate::{Module, Optimizer, OptimizerConfig, Param};

pub struct PfnTrainer {
    pub pfn: Pfn,
    optimizer: Optimizer,
    params: Vec<Param>,
    /// Steps taken.
    pub step: u32,
}

/// What one step measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepReport {
    /// Mean NLL of the query points (nats).
    pub nll: f64,
    pub context: usize,
    pub lr: f32,
}

/// A batch of datasets with `context` context points each.
pub struct Batch {
    pub datasets: Vec<Dataset>,
    pub context: usize,
}

/// The training batch of step `step`: a pure function of the spec and the step.
pub fn batch(spec: &PfnSpec, step: u32) -> Result<Batch> {
    let mut rng = Rng::new(derive_seed(spec.training.seed, BATCHES, step as u64));
    let [lo, hi] = spec.context;
    let context = lo + (rng.next_u32() as usize) % (hi - lo + 1);
    let datasets = (0..spec.training.batch).map(|_| spec.prior.sample(&mut rng, context + spec.queries)).collect::<Result<Vec<_>>>()?;
    Ok(Batch { datasets, context })
}

impl PfnTrainer {
    pub fn new(spec: PfnSpec, device: &Device) -> Result<PfnTrainer> {
        Self::around(Pfn::new(spec, device)?, 0)
    }

    fn around(pfn: Pfn, step: u32) -> Result<PfnTrainer> {
        let params: Vec<Param> = pfn.model.parameters().into_iter().map(|(_, p)| p).collect();
        let mut optimizer = Optimizer::new(
            OptimizerConfig::Adam { lr: pfn.spec.training.lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0, amsgrad: false, maximize: false },
            params.clone(),
        )?;
        optimizer.set_steps(step);
        Ok(PfnTrainer { pfn, optimizer, params, step })
    }

    pub fn spec(&self) -> &PfnSpec {
        &self.pfn.spec
    }

    pub fn done(&self) -> bool {
        self.step >= self.pfn.spec.training.steps
    }

    /// The query points' targets [B * m] as model labels, and the mean NLL
    /// term the labels leave out (the bar distribution's log widths and tails).
    fn targets(&self, b: &Batch) -> (Vec<f32>, f64) {
        let queries = b.datasets.iter().flat_map(|d| d.y[b.context..].iter().copied());
        match &self.pfn.bar {
            Some(bar) => {
                let mut offset = 0.0;
                let labels: Vec<f32> = queries
                    .map(|y| {
                        offset += bar.log_density_offset(y);
                        bar.bucket(y) as f32
                    })
                    .collect();
                let count = labels.len().max(1) as f64;
                (labels, offset / count)
            }
            None => (queries.map(|y| y as f32).collect(), 0.0),
        }
    }

    /// One optimizer step on the next batch.
    pub async fn train_step(&mut self) -> Result<StepReport> {
        let b = batch(&self.pfn.spec, self.step)?;
        let refs: Vec<&Dataset> = b.datasets.iter().collect();
        let logits = self.pfn.logits(&refs, b.context)?;
        let k = logits.shape()[2];
        let (labels, offset) = self.targets(&b);
        let device = self.pfn.device();
        let labels = Tensor::from_vec(labels, &[logits.numel() / k], &device)?;
        let loss = logits.reshape(&[labels.numel(), k])?.cross_entropy(&labels)?;
        let mut grads = loss.backward()?;
        clip_grad_norm(&self.params, &mut grads, self.pfn.spec.training.clip_grad_norm)?;
        let t = self.pfn.spec.training;
        let lr = t.schedule().lr(t.lr, self.step);
        self.optimizer.lr = lr;
        self.optimizer.step(&grads)?;
        self.step += 1;
        let ce = loss.to_vec().await?[0] as f64;
        if !ce.is_finite() {
            return Err(Error::InvalidArgument { op: "pfn_train", reason: format!("the loss became {ce} at step {}", self.step) });
        }
        Ok(StepReport { nll: ce - offset, context: b.context, lr })
    }

    /// Everything needed to continue: the model file plus the optimizer's state and the step.
    pub async fn checkpoint(&self) -> Result<Vec<u8>> {
        let params = self.params.len();
        let state: Vec<(String, Tensor)> =
            self.optimizer.state_tensors().into_iter().skip(params).enumerate().map(|(i, t)| (format!("optimizer.{i}"), t)).collect();
        let metadata = HashMap::from([("step".to_string(), self.step.to_string())]);
        self.pfn.to_safetensors(state, metadata).await
    }

    /// Continues from a checkpoint (or starts from a model file, at its step).
    pub fn resume(bytes: &[u8], device: &Device) -> Result<PfnTrainer> {
        let (pfn, tensors, metadata) = Pfn::from_safetensors(bytes, device)?;
        let step = metadata.get("step").and_then(|s| s.parse().ok()).unwrap_or(0);
        let mut trainer = Self::around(pfn, step)?;
        let mut state = trainer.optimizer.state_tensors();
        let params = trainer.params.len();
        for (i, slot) in state.iter_mut().skip(params).enumerate() {
            let stored = tensors
                .get(&format!("optimizer.{i}"))
                .ok_or_else(|| Error::InvalidSpec { path: format!("checkpoint.optimizer.{i}"), reason: "missing: not a checkpoint".into() })?;
            if stored.shape != slot.shape() {
                return Err(Error::InvalidSpec {
                    path: format!("checkpoint.optimizer.{i}"),
                    reason: format!("shape {:?}, expected {:?}", stored.shape, slot.shape()),
                });
            }
            *slot = stored.to_tensor(device)?;
        }
        trainer.optimizer.set_state_tensors(&state);
        Ok(trainer)
    }

    /// The model file: parameters, borders, spec and the steps trained.
    pub async fn model_file(&self) -> Result<Vec<u8>> {
        self.pfn.to_safetensors(Vec::new(), HashMap::from([("step".to_string(), self.step.to_string())])).await
    }
}
