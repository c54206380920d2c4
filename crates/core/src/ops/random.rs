//! Random tensors from the counter-based generator: the same (seed, stream)
//! gives the same numbers on every backend.

use nnlab_gpu::RandomKind;

use crate::layout::numel;
use crate::{Device, Result, Storage, Tensor, random};

impl Tensor {
    pub fn random(shape: &[usize], kind: RandomKind, seed: u64, stream: u32, device: &Device) -> Result<Tensor> {
        let n = numel(shape);
        let storage = match device {
            Device::Cpu => Storage::Cpu(random::sample(n, kind, seed, stream)),
            Device::Gpu(ctx) => Storage::Gpu(ctx.random(n, kind, seed, stream)?),
        };
        Ok(Tensor::from_storage(storage, shape, None))
    }

    pub fn rand_uniform(shape: &[usize], low: f32, high: f32, seed: u64, stream: u32, device: &Device) -> Result<Tensor> {
        Tensor::random(shape, RandomKind::Uniform { low, high }, seed, stream, device)
    }

    pub fn randn(shape: &[usize], mean: f32, std: f32, seed: u64, stream: u32, device: &Device) -> Result<Tensor> {
        Tensor::random(shape, RandomKind::Normal { mean, std }, seed, stream, device)
    }

    /// 1 with probability `p`, else 0 (dropout masks).
    pub fn bernoulli(shape: &[usize], p: f32, seed: u64, stream: u32, device: &Device) -> Result<Tensor> {
        Tensor::random(shape, RandomKind::Bernoulli { p }, seed, stream, device)
    }
}
