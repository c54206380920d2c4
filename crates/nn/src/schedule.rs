//! Learning-rate schedules in closed form, matching torch.optim.lr_scheduler
//! (StepLR, CosineAnnealingLR, and LinearLR warm-up followed by cosine).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "name", rename_all = "camelCase", deny_unknown_fields)]
pub enum Schedule {
    Constant,
    /// lr * gamma^(floor(step / step_size))
    #[serde(rename_all = "camelCase")]
    Step {
        step_size: u32,
        gamma: f32,
    },
    /// eta_min + (lr - eta_min) (1 + cos(pi t / t_max)) / 2
    #[serde(rename_all = "camelCase")]
    Cosine {
        t_max: u32,
        eta_min: f32,
    },
    /// Linear warm-up from lr * start_factor over `warmup` steps, then cosine
    /// over `t_max` steps (torch SequentialLR of LinearLR and CosineAnnealingLR).
    #[serde(rename_all = "camelCase")]
    WarmupCosine {
        warmup: u32,
        start_factor: f32,
        t_max: u32,
        eta_min: f32,
    },
}

/// PyTorch's closed form, which keeps oscillating past t_max.
fn cosine(base: f32, t: u32, t_max: u32, eta_min: f32) -> f32 {
    let t = t as f32;
    eta_min + (base - eta_min) * (1.0 + (std::f32::consts::PI * t / t_max.max(1) as f32).cos()) / 2.0
}

impl Schedule {
    /// The learning rate for step `t` (0 = the first step) from the base rate.
    pub fn lr(&self, base: f32, t: u32) -> f32 {
        match *self {
            Schedule::Constant => base,
            Schedule::Step { step_size, gamma } => base * gamma.powi((t / step_size.max(1)) as i32),
            Schedule::Cosine { t_max, eta_min } => cosine(base, t, t_max, eta_min),
            Schedule::WarmupCosine { warmup, start_factor, t_max, eta_min } => {
                if t < warmup {
                    base * (start_factor + (1.0 - start_factor) * t as f32 / warmup as f32)
                } else {
                    cosine(base, t - warmup, t_max, eta_min)
                }
            }
        }
    }
}
