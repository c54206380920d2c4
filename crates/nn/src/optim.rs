//! SGD with momentum and Adam, as torch.optim defines them, applied with the
//! core's fused update kernels (one per parameter tensor).

use nnlab_core::{AdamParams, GradStore, Result, SgdParams, Tensor};
use serde::{Deserialize, Serialize};

use crate::Param;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "lowercase")]
pub enum OptimizerConfig {
    Sgd { lr: f32, #[serde(default)] momentum: f32 },
    Adam { lr: f32, #[serde(default = "beta1")] beta1: f32, #[serde(default = "beta2")] beta2: f32, #[serde(default = "eps")] eps: f32 },
}

fn beta1() -> f32 { 0.9 }
fn beta2() -> f32 { 0.999 }
fn eps() -> f32 { 1e-8 }

pub struct Optimizer {
    config: OptimizerConfig,
    params: Vec<Param>,
    /// Per parameter: momentum buffer (SGD) or first and second moments (Adam).
    state: Vec<Vec<Tensor>>,
    steps: u32,
}

impl Optimizer {
    pub fn new(config: OptimizerConfig, params: Vec<Param>) -> Result<Optimizer> {
        let slots = match config { OptimizerConfig::Sgd { .. } => 1, OptimizerConfig::Adam { .. } => 2 };
        let state = params
            .iter()
            .map(|p| {
                let t = p.get();
                (0..slots).map(|_| Tensor::zeros(t.shape(), &t.device())).collect::<Result<Vec<_>>>()
            })
            .collect::<Result<_>>()?;
        Ok(Optimizer { config, params, state, steps: 0 })
    }

    /// Applies one update from `grads`; parameters without a gradient stay.
    pub fn step(&mut self, grads: &GradStore) -> Result<()> {
        let _guard = nnlab_core::no_grad();
        self.steps += 1;
        for (param, state) in self.params.iter().zip(&mut self.state) {
            let p = param.get();
            let Some(g) = grads.get(&p) else { continue };
            match self.config {
                OptimizerConfig::Sgd { lr, momentum } => {
                    let (np, nb) = Tensor::sgd_update(&p, g, &state[0], SgdParams { n: 0, lr, momentum, weight_decay: 0.0 })?;
                    param.set(np);
                    state[0] = nb;
                }
                OptimizerConfig::Adam { lr, beta1, beta2, eps } => {
                    let t = self.steps as i32;
                    let hp = AdamParams { n: 0, lr, beta1, beta2, eps, bias1: 1.0 - beta1.powi(t), bias2: 1.0 - beta2.powi(t), weight_decay: 0.0 };
                    let (np, nm, nv) = Tensor::adam_update(&p, g, &state[0], &state[1], hp)?;
                    param.set(np);
                    state[0] = nm;
                    state[1] = nv;
                }
            }
        }
        Ok(())
    }
}
