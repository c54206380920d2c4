//! A trainer's whole state on the host: the model's `state_dict`, the
//! optimizer's moments and step count, the step and where the batches stand.
//! It moves a run between backends (continuing from the same weights and
//! optimizer state), survives a lost GPU (the periodic snapshot), and is what
//! a saved session holds. Restoring checks every name, shape and value
//! before touching the trainer, so a stale or tampered state changes nothing.

use std::collections::HashMap;

use nnlab_core::{Device, Result, Tensor};
use serde::{Deserialize, Serialize};

use super::{SpecTrainer, state_dict, train::invalid};
use crate::Module;
use crate::sampling::OrderState;

/// The largest step count a saved state may carry (a run at a million steps
/// a second would take weeks to get there).
const MAX_SAVED_STEP: u64 = 1 << 40;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NamedValues {
    pub name: String,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrainerState {
    pub step: u64,
    pub optimizer_steps: u32,
    /// `model.<state_dict name>` and `optimizer.<parameter>.<slot>`.
    pub tensors: Vec<NamedValues>,
    pub batches: OrderState,
    #[serde(default)]
    pub subsets: Option<OrderState>,
}

impl SpecTrainer {
    /// Every tensor of the state, named, in a stable order.
    fn named_state(&self) -> Vec<(String, Tensor)> {
        let mut out: Vec<(String, Tensor)> = state_dict(&self.model).into_iter().map(|(n, t)| (format!("model.{n}"), t)).collect();
        let moments = self.optimizer.state_tensors().split_off(self.trainable.len());
        let slots = moments.len() / self.trainable.len().max(1);
        for (i, t) in moments.into_iter().enumerate() {
            out.push((format!("optimizer.{}.{}", self.trainable[i / slots.max(1)], i % slots.max(1)), t));
        }
        out
    }

    /// Copies the whole state to the host (one readback).
    pub async fn export_state(&self) -> Result<TrainerState> {
        let named = self.named_state();
        let flat = named.iter().map(|(_, t)| t.reshape(&[t.numel()])).collect::<Result<Vec<_>>>()?;
        let values = Tensor::concat(&flat, 0)?.to_vec().await?;
        let mut at = 0;
        let tensors = named
            .into_iter()
            .map(|(name, t)| {
                at += t.numel();
                NamedValues { name, shape: t.shape().to_vec(), values: values[at - t.numel()..at].to_vec() }
            })
            .collect();
        Ok(TrainerState {
            step: self.step,
            optimizer_steps: self.optimizer.steps(),
            tensors,
            batches: self.batches.state(),
            subsets: self.subsets.as_ref().map(|s| s.state()),
        })
    }

    /// Continues from `state`, which must come from a trainer of the same
    /// spec: every tensor present, with its shape, finite. Nothing changes
    /// unless all of it checks out.
    pub fn import_state(&mut self, state: &TrainerState) -> Result<()> {
        self.reset_tokens();
        // Counters a run of any length stays far below; larger ones are tampered.
        if state.step > MAX_SAVED_STEP || u64::from(state.optimizer_steps) > MAX_SAVED_STEP.min(u32::MAX as u64 / 2) {
            return Err(invalid("state.step", format!("{} steps ({} optimizer steps) is beyond any run", state.step, state.optimizer_steps)));
        }
        let by_name: HashMap<&str, &NamedValues> = state.tensors.iter().map(|t| (t.name.as_str(), t)).collect();
        let named = self.named_state();
        if by_name.len() != state.tensors.len() || state.tensors.len() != named.len() {
            return Err(invalid("state.tensors", format!("{} tensors (some repeated or unknown), the model has {}", state.tensors.len(), named.len())));
        }
        let mut tensors = Vec::with_capacity(named.len());
        for (name, current) in &named {
            let path = format!("state.{name}");
            let saved = by_name.get(name.as_str()).ok_or_else(|| invalid(&path, "missing"))?;
            if saved.shape != current.shape() || saved.values.len() != current.numel() {
                return Err(invalid(&path, format!("shape {:?} with {} values, the model has {:?}", saved.shape, saved.values.len(), current.shape())));
            }
            if saved.values.iter().any(|v| !v.is_finite()) {
                return Err(invalid(&path, "holds NaN or infinite values"));
            }
            tensors.push(Tensor::from_vec(saved.values.clone(), &saved.shape, &self.device)?);
        }
        let n_model = named.iter().filter(|(n, _)| n.starts_with("model.")).count();
        let (model_part, moments) = tensors.split_at(n_model);
        let params = self.model.parameters();
        for ((_, p), t) in params.iter().zip(model_part) {
            p.set(t.clone());
        }
        for ((_, b), t) in self.model.buffers().iter().zip(&model_part[params.len()..]) {
            b.set(t.clone());
        }
        // The optimizer's list starts with the trained parameters (shared with
        // the model, so already restored), then its moments.
        let mut opt_state = self.optimizer.state_tensors();
        opt_state.truncate(self.trainable.len());
        opt_state.extend(moments.iter().cloned());
        self.optimizer.set_state_tensors(&opt_state);
        self.optimizer.set_steps(state.optimizer_steps);
        self.step = state.step;
        self.batches.restore(&state.batches, self.data.train.len());
        if let (Some(s), Some(saved)) = (self.subsets.as_mut(), state.subsets.as_ref()) {
            s.restore(saved);
        }
        if let Some(p) = self.pruner.as_mut() {
            p.restore(state.step)?;
        }
        Ok(())
    }

    /// The same run on `device`: the same spec, weights, optimizer state,
    /// step and batch order. The GPU's step plan is recorded anew there.
    pub async fn to_device(&self, device: Device) -> Result<SpecTrainer> {
        let state = self.export_state().await?;
        let mut moved = SpecTrainer::new(&self.spec, device).await?;
        moved.import_state(&state)?;
        Ok(moved)
    }

    /// Keeps a host copy of the state (one readback), for `fall_back_to_cpu`.
    pub async fn snapshot(&mut self) -> Result<()> {
        self.saved = Some(self.export_state().await?);
        Ok(())
    }

    /// The step the last snapshot was taken at, if any.
    pub fn snapshot_step(&self) -> Option<u64> {
        self.saved.as_ref().map(|s| s.step)
    }

    /// After the GPU was lost: rebuilds this trainer on the CPU from the last
    /// snapshot (or from the initial weights when there is none). Returns the
    /// step training continues from.
    pub async fn fall_back_to_cpu(&mut self) -> Result<u64> {
        let mut cpu = SpecTrainer::new(&self.spec, Device::Cpu).await?;
        if let Some(saved) = self.saved.take() {
            cpu.import_state(&saved)?;
            cpu.saved = Some(saved);
        }
        *self = cpu;
        Ok(self.step)
    }
}
