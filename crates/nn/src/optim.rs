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

fn beta1() -> f32 { 0.9 }
fn beta2() -> f32 { 0.999 }
fn eps() -> f32 { 1e-8 }
fn adamw_decay() -> f32 { 0.01 }
fn rms_alpha() -> f32 { 0.99 }

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
        Ok(Optimizer { config, params, state, steps: 0, lr: config.lr() })
    }

    pub fn steps(&self) -> u32 {
        self.steps
    }

    /// Applies one update from `grads`; parameters without a gradient stay.
    pub fn step(&mut self, grads: &GradStore) -> Result<()> {
        let _guard = nnlab_core::no_grad();
        self.steps += 1;
        let (t, lr) = (self.steps as i32, self.lr);
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
                OptimizerConfig::Adam { beta1, beta2, eps, weight_decay, .. } => adam(&p, g, state, lr, beta1, beta2, eps, weight_decay, t)?,
                OptimizerConfig::AdamW { beta1, beta2, eps, weight_decay, .. } => {
                    let decayed = p.mul_scalar(1.0 - lr * weight_decay)?;
                    adam(&decayed, g, state, lr, beta1, beta2, eps, 0.0, t)?
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
        Ok(())
    }
}

#[allow(clippy::too_many_arguments)]
fn adam(p: &Tensor, g: &Tensor, state: &mut [Tensor], lr: f32, beta1: f32, beta2: f32, eps: f32, weight_decay: f32, t: i32) -> Result<Tensor> {
    let hp = AdamParams { n: 0, lr, beta1, beta2, eps, bias1: 1.0 - beta1.powi(t), bias2: 1.0 - beta2.powi(t), weight_decay };
    let (np, nm, nv) = Tensor::adam_update(p, g, &state[0], &state[1], hp)?;
    state[0] = nm;
    state[1] = nv;
    Ok(np)
}
