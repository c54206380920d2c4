//! Optimizers as torch.optim defines them: SGD (momentum, dampening,
//! Nesterov, weight decay), Adam and AdamW (decoupled weight decay), both
//! with amsgrad, and RMSprop (momentum, centered); each can maximize. Adam and plain
//! momentum SGD use the core's fused update kernels; the others are short
//! elementwise compositions, so every optimizer runs on every backend.

use nnlab_core::{AdamParams, Error, GradStore, Result, SgdParams, Tensor};
use serde::{Deserialize, Serialize};

use crate::Param;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "name", rename_all = "lowercase", deny_unknown_fields)]
pub enum OptimizerConfig {
    Sgd {
        lr: f32,
        #[serde(default)]
        momentum: f32,
        /// Scales the gradient's share of the momentum buffer by 1 - dampening
        /// (from the second step on, as torch does).
        #[serde(default)]
        dampening: f32,
        #[serde(default)]
        nesterov: bool,
        #[serde(default, rename = "weightDecay")]
        weight_decay: f32,
        /// Ascend the objective instead.
        #[serde(default)]
        maximize: bool,
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
        /// Divide by the largest second moment seen so far (Reddi et al. 2018).
        #[serde(default)]
        amsgrad: bool,
        #[serde(default)]
        maximize: bool,
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
        /// Divide by the largest second moment seen so far (Reddi et al. 2018).
        #[serde(default)]
        amsgrad: bool,
        #[serde(default)]
        maximize: bool,
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
        /// Normalise by the gradient's estimated variance rather than its second moment.
        #[serde(default)]
        centered: bool,
        #[serde(default)]
        maximize: bool,
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

    /// Per parameter: the momentum buffer (SGD); the moments and, with
    /// amsgrad, the largest second moment (Adam); the square average, the
    /// momentum buffer and, centered, the gradient average (RMSprop).
    fn slots(&self) -> usize {
        match *self {
            OptimizerConfig::Sgd { .. } => 1,
            OptimizerConfig::Adam { amsgrad, .. } | OptimizerConfig::AdamW { amsgrad, .. } => 2 + amsgrad as usize,
            OptimizerConfig::Rmsprop { centered, .. } => 2 + centered as usize,
        }
    }

    fn maximize(&self) -> bool {
        match *self {
            OptimizerConfig::Sgd { maximize, .. }
            | OptimizerConfig::Adam { maximize, .. }
            | OptimizerConfig::AdamW { maximize, .. }
            | OptimizerConfig::Rmsprop { maximize, .. } => maximize,
        }
    }
}

pub struct Optimizer {
    config: OptimizerConfig,
    params: Vec<Param>,
    /// Per parameter: the tensors `OptimizerConfig::slots` lists.
    state: Vec<Vec<Tensor>>,
    steps: u32,
    /// The learning rate of the next step (schedules change it).
    pub lr: f32,
    /// The per-step scalars (`step_scalars_for`) as the last step used them.
    step_scalars: Option<Tensor>,
}

impl Optimizer {
    pub fn new(config: OptimizerConfig, params: Vec<Param>) -> Result<Optimizer> {
        if let OptimizerConfig::Sgd { momentum, dampening, nesterov: true, .. } = config
            && (momentum <= 0.0 || dampening != 0.0)
        {
            return Err(Error::InvalidArgument { op: "sgd", reason: "Nesterov momentum needs a momentum above 0 and no dampening".into() });
        }
        let state = params
            .iter()
            .map(|p| {
                let t = p.get();
                (0..config.slots()).map(|_| Tensor::zeros(t.shape(), &t.device())).collect::<Result<Vec<_>>>()
            })
            .collect::<Result<_>>()?;
        Ok(Optimizer { config, params, state, steps: 0, lr: config.lr(), step_scalars: None })
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

    /// The values that change from step to step, kept in a device tensor so
    /// that a recorded plan can rewrite them: Adam's [lr, 1 - beta1^t, 1 -
    /// beta2^t, 1] (the last, the gradient scale, is replaced by a device
    /// value when an update is given one: `step_scaled`); for SGD with
    /// dampening, the momentum buffer's [decay, share of the gradient], [0, 1]
    /// at the first step (the buffer starts as the gradient) and
    /// [momentum, 1 - dampening] after.
    fn step_scalars_for(&self, t: u32) -> Option<Vec<f32>> {
        match self.config {
            OptimizerConfig::Adam { beta1, beta2, .. } | OptimizerConfig::AdamW { beta1, beta2, .. } => {
                Some(vec![self.lr, 1.0 - beta1.powi(t as i32), 1.0 - beta2.powi(t as i32), 1.0])
            }
            OptimizerConfig::Sgd { momentum, dampening, .. } if momentum != 0.0 && dampening != 0.0 => {
                Some(if t <= 1 { vec![0.0, 1.0] } else { vec![momentum, 1.0 - dampening] })
            }
            _ => None,
        }
    }

    /// The device tensor that holds the per-step scalars (once a step ran).
    pub(crate) fn step_scalars(&self) -> Option<&Tensor> {
        self.step_scalars.as_ref()
    }

    /// Counts a step that a recorded plan performs; returns the values its
    /// step scalars must hold.
    pub(crate) fn replayed_step(&mut self) -> Option<Vec<f32>> {
        self.steps += 1;
        self.step_scalars_for(self.steps)
    }

    /// Applies one update from `grads`; parameters without a gradient stay.
    pub fn step(&mut self, grads: &GradStore) -> Result<()> {
        self.step_scaled(grads, None)
    }

    /// `step` with every gradient multiplied by `scale` (one value, on the
    /// parameters' device), as clipping by norm asks
    /// (`gradients::clip_coefficient`). Adam's and AdamW's fused updates
    /// apply it as they read the gradient, so it costs no dispatch per
    /// parameter; the other updates multiply first.
    pub fn step_scaled(&mut self, grads: &GradStore, scale: Option<&Tensor>) -> Result<()> {
        let _guard = nnlab_core::no_grad();
        self.steps += 1;
        let lr = self.lr;
        // One small upload per step, shared by every parameter's update.
        let scalars = match (self.step_scalars_for(self.steps), self.params.first()) {
            (Some(values), Some(p)) => Some(Tensor::from_vec(values.clone(), &[values.len()], &p.get().device())?),
            _ => None,
        };
        let scalar = |i: usize| scalars.as_ref().expect("this optimizer has step scalars").narrow(0, i, 1);
        // What the fused Adam reads: the uploaded scalars, their gradient
        // scale replaced by the given one (the upload stays what a recorded
        // plan rewrites).
        let fused_adam = matches!(self.config, OptimizerConfig::Adam { amsgrad: false, .. } | OptimizerConfig::AdamW { amsgrad: false, .. });
        let adam_scalars = match (&scalars, scale) {
            (Some(s), Some(k)) if fused_adam => Some(Tensor::concat(&[s.narrow(0, 0, 3)?, k.reshape(&[1])?], 0)?),
            _ => scalars.clone(),
        };
        let scale = scale.filter(|_| !fused_adam);
        for (param, state) in self.params.iter().zip(&mut self.state) {
            let p = param.get();
            let Some(g) = grads.get(&p) else { continue };
            let g = if self.config.maximize() { g.neg()? } else { g.clone() };
            let g = match scale {
                Some(k) => g.mul(k)?,
                None => g,
            };
            let new_p = match self.config {
                OptimizerConfig::Sgd { momentum, nesterov: false, weight_decay, dampening, .. } if momentum == 0.0 || dampening == 0.0 => {
                    let (np, nb) = Tensor::sgd_update(&p, &g, &state[0], SgdParams { n: 0, lr, momentum, weight_decay })?;
                    state[0] = nb;
                    np
                }
                OptimizerConfig::Sgd { momentum, nesterov, weight_decay, dampening, .. } => {
                    let g = g.add(&p.mul_scalar(weight_decay)?)?;
                    state[0] = if dampening == 0.0 { state[0].mul_scalar(momentum)?.add(&g)? } else { state[0].mul(&scalar(0)?)?.add(&g.mul(&scalar(1)?)?)? };
                    let step = if nesterov { g.add(&state[0].mul_scalar(momentum)?)? } else { state[0].clone() };
                    p.sub(&step.mul_scalar(lr)?)?
                }
                OptimizerConfig::Adam { beta1, beta2, eps, weight_decay, amsgrad, .. } => {
                    let hp = AdamParams::new(beta1, beta2, eps, weight_decay);
                    let s = adam_scalars.as_ref().expect("Adam has scalars");
                    if amsgrad { adam_amsgrad(&p, &g, state, hp, s)? } else { adam(&p, &g, state, hp, s)? }
                }
                OptimizerConfig::AdamW { beta1, beta2, eps, weight_decay, amsgrad, .. } => {
                    let decayed = p.mul_scalar(1.0 - lr * weight_decay)?;
                    let hp = AdamParams::new(beta1, beta2, eps, 0.0);
                    let s = adam_scalars.as_ref().expect("AdamW has scalars");
                    if amsgrad { adam_amsgrad(&decayed, &g, state, hp, s)? } else { adam(&decayed, &g, state, hp, s)? }
                }
                OptimizerConfig::Rmsprop { alpha, eps, momentum, weight_decay, centered, .. } => {
                    let g = g.add(&p.mul_scalar(weight_decay)?)?;
                    state[0] = state[0].mul_scalar(alpha)?.add(&g.square()?.mul_scalar(1.0 - alpha)?)?;
                    let variance = if centered {
                        state[2] = state[2].mul_scalar(alpha)?.add(&g.mul_scalar(1.0 - alpha)?)?;
                        state[0].sub(&state[2].square()?)?
                    } else {
                        state[0].clone()
                    };
                    let step = g.div(&variance.sqrt()?.add_scalar(eps)?)?;
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
        self.step_scalars = scalars;
        Ok(())
    }
}

fn adam(p: &Tensor, g: &Tensor, state: &mut [Tensor], hp: AdamParams, scalars: &Tensor) -> Result<Tensor> {
    let (np, nm, nv) = Tensor::adam_update(p, g, &state[0], &state[1], hp, scalars)?;
    state[0] = nm;
    state[1] = nv;
    Ok(np)
}

/// Adam with amsgrad as elementwise ops (the fused kernel already binds all
/// the buffers a device guarantees): the denominator uses the largest second
/// moment so far, state[2]. `scalars` is [lr, 1 - beta1^t, 1 - beta2^t, 1]
/// (the gradient comes scaled).
fn adam_amsgrad(p: &Tensor, g: &Tensor, state: &mut [Tensor], hp: AdamParams, scalars: &Tensor) -> Result<Tensor> {
    let g = g.add(&p.mul_scalar(hp.weight_decay)?)?;
    state[0] = state[0].mul_scalar(hp.beta1)?.add(&g.mul_scalar(1.0 - hp.beta1)?)?;
    state[1] = state[1].mul_scalar(hp.beta2)?.add(&g.square()?.mul_scalar(1.0 - hp.beta2)?)?;
    state[2] = state[2].maximum(&state[1])?;
    let [lr, correction1, correction2] = [0, 1, 2].map(|i| scalars.narrow(0, i, 1));
    let denominator = state[2].div(&correction2?)?.sqrt()?.add_scalar(hp.eps)?;
    p.sub(&state[0].div(&correction1?)?.div(&denominator)?.mul(&lr?)?)
}
