//! Seeded weight initialisation. Every draw names its own Philox stream, so a
//! layer's weights depend only on (seed, stream), whatever the backend.

use nnlab_core::{Device, Result, Tensor};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Init {
    /// Glorot/Xavier uniform: U(-a, a), a = sqrt(6 / (fan_in + fan_out)). For tanh and sigmoid.
    GlorotUniform,
    /// He/Kaiming normal: N(0, 2 / fan_in). For ReLU-like activations.
    HeNormal,
    /// PyTorch's nn.Linear default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    TorchDefault,
    /// N(0, sigma_w^2 / fan_in): the variance scale of signal-propagation
    /// analyses (Roberts and Yaida), critical at sigma_w = 1 for tanh.
    Scaled { sigma_w: f32 },
}

pub fn weight(init: Init, shape: &[usize], fan_in: usize, fan_out: usize, seed: u64, stream: u32, device: &Device) -> Result<Tensor> {
    let (fi, fo) = (fan_in.max(1) as f32, fan_out.max(1) as f32);
    match init {
        Init::GlorotUniform => {
            let a = (6.0 / (fi + fo)).sqrt();
            Tensor::rand_uniform(shape, -a, a, seed, stream, device)
        }
        Init::HeNormal => Tensor::randn(shape, 0.0, (2.0 / fi).sqrt(), seed, stream, device),
        Init::TorchDefault => {
            let a = 1.0 / fi.sqrt();
            Tensor::rand_uniform(shape, -a, a, seed, stream, device)
        }
        Init::Scaled { sigma_w } => Tensor::randn(shape, 0.0, sigma_w / fi.sqrt(), seed, stream, device),
    }
}
