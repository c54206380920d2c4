//! Optimizers as torch.optim defines them: SGD (momentum, Nesterov, weight
//! decay), Adam, AdamW (decoupled weight decay) and RMSprop. Adam and plain
//! momentum SGD use the core's fused update kernels; the others are short
//! elementwise compositions, so every optimizer runs on every backend.

use nnlab_core::{AdamParams, GradStore, Result, SgdParams, Tensor};
use serde::{Deserialize, Serialize};

use crate::Param;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "name", rename_all = "lowercase", deny_unknown_fields)]
pub enum OptimizerConfig {
    Sgd {
        lr: f32,
        #[serde(default)]
        momentum: f32,
        #[serde(default)]
        nesterov: bool,
        #[serde(default, rename = "weightDecay")]
        weight_decay: f32,
    },
    Adam {
        lr: f32,
        #[serde(default = "beta1")]
        beta1: f32,
        #[serde(default = "beta2")]
        beta2: f32,
        #[serde(default = "eps")]
        eps: f32,
        #[serde(default, rename = "weightDecay")]
        weight_decay: f32,
    },
    #[serde(rename = "adamw")]
    AdamW {
        lr: f32,
        #[serde(default = "beta1")]
        beta1: f32,
        #[serde(default = "beta2")]
        beta2: f32,
        #[serde(default = "eps")]
        eps: f32,
        #[serde(default = "adamw_decay", rename = "weightDecay")]
        weight_decay: f32,
    },
    Rmsprop {
        lr: f32,
        #[serde(default = "rms_alpha")]
        alpha: f32,
        #[serde(default = "eps")]
        eps: f32,
        #[serde(default)]
        momentum: f32,
        #[serde(default, rename = "weightDecay")]
        weight_decay: f32,
    },
}

fn beta1() -> f32 {
    0.9
}
fn beta2() -> f32 {
    0.999
}
fn eps() -> f32 {
    1e-8
}
fn adamw_decay() -> f32 {
    0.01
}
fn rms_alpha() -> f32 {
    0.99
}

impl OptimizerConfig {
    pub fn lr(&self) -> f32 {
        match *self {
            OptimizerConfig::Sgd { lr, .. } | OptimizerConfig::Adam { lr, .. } | OptimizerConfig::AdamW { lr, .. } | OptimizerConfig::Rmsprop { lr, .. } => lr,
        }
    }

    fn slots(&self) -> usize {
        match self {
            OptimizerConfig::Sgd { .. } => 1,
            OptimizerConfig::Adam { .. } | OptimizerConfig::AdamW { .. } | OptimizerConfig::Rmsprop { .. } => 2,
        }
    }
}

pub struct Optimizer {
    config: OptimizerConfig,
    params: Vec<Param>,
    /// Per parameter: momentum buffer (SGD), moments (Adam), or square average and momentum buffer (RMSprop).
    state: Vec<Vec<Tensor>>,
    steps: u32,
    /// The learning rate of the next step (schedules change it).
    pub lr: f32,
    /// Adam's per-step scalars [lr, 1 - beta1^t, 1 - beta2^t] as the last step used them.
    adam_scalars: Option<Tensor>,
}

impl Optimizer {
    pub fn new(config: OptimizerConfig, params: Vec<Param>) -> Result<Optimizer> {
        let state = params
            .iter()
            .map(|p| {
                let t = p.get();
                (0..config.slots()).map(|_| Tensor::zeros(t.shape(), &t.device())).collect::<Result<Vec<_>>>()
            })
            .collect::<Result<_>>()?;
        Ok(Optimizer { config, params, state, steps: 0, lr: config.lr(), adam_scalars: None })
    }

    pub fn config(&self) -> OptimizerConfig {
        self.config
    }

    pub fn steps(&self) -> u32 {
        self.steps
    }

    /// Sets the step count (Adam's bias corrections depend on it) when
    /// restoring saved state.
    pub fn set_steps(&mut self, steps: u32) {
        self.steps = steps;
    }

    /// Every tensor the optimizer carries from step to step: the parameters'
    /// current values, then its state (moments, momentum buffers).
    pub fn state_tensors(&self) -> Vec<Tensor> {
        self.params.iter().map(Param::get).chain(self.state.iter().flatten().cloned()).collect()
    }

    /// Replaces what `state_tensors` returns (same order, same shapes).
    pub fn set_state_tensors(&mut self, tensors: &[Tensor]) {
        let (params, state) = tensors.split_at(self.params.len());
        for (p, t) in self.params.iter().zip(params) {
            p.set(t.clone());
        }
        for (slot, t) in self.state.iter_mut().flatten().zip(state) {
            *slot = t.clone();
        }
    }

    /// Adam's per-step scalars for step `t`: [lr, 1 - beta1^t, 1 - beta2^t].
    fn adam_scalars_for(&self, t: u32) -> Option<[f32; 3]> {
        match self.config {
            OptimizerConfig::Adam { beta1, beta2, .. } | OptimizerConfig::AdamW { beta1, beta2, .. } => {
                Some([self.lr, 1.0 - beta1.powi(t as i32), 1.0 - beta2.powi(t as i32)])
            }
            _ => None,
        }
    }

    /// The device tensor that holds Adam's per-step scalars (once a step ran).
    pub(crate) fn adam_scalars(&self) -> Option<&Tensor> {
        self.adam_scalars.as_ref()
    }

    /// Counts a step that a recorded plan performs; returns the values its
    /// Adam scalars must hold.
    pub(crate) fn replayed_step(&mut self) -> Option<[f32; 3]> {
        self.steps += 1;
        self.adam_scalars_for(self.steps)
    }

    /// Applies one update from `grads`; parameters without a gradient stay.
    pub fn step(&mut self, grads: &GradStore) -> Result<()> {
        let _guard = nnlab_core::no_grad();
        self.steps += 1;
        let lr = self.lr;
        // One small upload per step, shared by every parameter's Adam update.
        let scalars = match (self.adam_scalars_for(self.steps), self.params.first()) {
            (Some(values), Some(p)) => Some(Tensor::from_vec(values.to_vec(), &[3], &p.get().device())?),
            _ => None,
        };
        for (param, state) in self.params.iter().zip(&mut self.state) {
            let p = param.get();
            let Some(g) = grads.get(&p) else { continue };
            let new_p = match self.config {
                OptimizerConfig::Sgd { momentum, nesterov: false, weight_decay, .. } => {
                    let (np, nb) = Tensor::sgd_update(&p, g, &state[0], SgdParams { n: 0, lr, momentum, weight_decay })?;
                    state[0] = nb;
                    np
                }
                OptimizerConfig::Sgd { momentum, nesterov: true, weight_decay, .. } => {
                    let g = g.add(&p.mul_scalar(weight_decay)?)?;
                    state[0] = state[0].mul_scalar(momentum)?.add(&g)?;
                    p.sub(&g.add(&state[0].mul_scalar(momentum)?)?.mul_scalar(lr)?)?
                }
                OptimizerConfig::Adam { beta1, beta2, eps, weight_decay, .. } => {
                    adam(&p, g, state, AdamParams::new(beta1, beta2, eps, weight_decay), scalars.as_ref().expect("Adam has scalars"))?
                }
                OptimizerConfig::AdamW { beta1, beta2, eps, weight_decay, .. } => {
                    let decayed = p.mul_scalar(1.0 - lr * weight_decay)?;
                    adam(&decayed, g, state, AdamParams::new(beta1, beta2, eps, 0.0), scalars.as_ref().expect("AdamW has scalars"))?
                }
                OptimizerConfig::Rmsprop { alpha, eps, momentum, weight_decay, .. } => {
                    let g = g.add(&p.mul_scalar(weight_decay)?)?;
                    state[0] = state[0].mul_scalar(alpha)?.add(&g.square()?.mul_scalar(1.0 - alpha)?)?;
                    let step = g.div(&state[0].sqrt()?.add_scalar(eps)?)?;
                    let step = if momentum > 0.0 {
                        state[1] = state[1].mul_scalar(momentum)?.add(&step)?;
                        state[1].clone()
                    } else {
                        step
                    };
                    p.sub(&step.mul_scalar(lr)?)?
                }
            };
            param.set(new_p);
        }
        self.adam_scalars = scalars;
        Ok(())
    }
}

fn adam(p: &Tensor, g: &Tensor, state: &mut [Tensor], hp: AdamParams, scalars: &Tensor) -> Result<Tensor> {
    let (np, nm, nv) = Tensor::adam_update(p, g, &state[0], &state[1], hp, scalars)?;
    state[0] = nm;
    state[1] = nv;
    Ok(np)
}
