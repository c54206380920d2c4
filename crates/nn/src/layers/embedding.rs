//! Lookup table (torch.nn.Embedding): `weight` [num, dim], default init N(0, 1).

use nnlab_core::{Device, Result, Tensor};

use crate::{Module, Param};

pub struct Embedding {
    pub weight: Param,
}

impl Embedding {
    pub fn new(num: usize, dim: usize, seed: u64, stream: u32, device: &Device) -> Result<Embedding> {
        Ok(Embedding { weight: Param::new(Tensor::randn(&[num, dim], 0.0, 1.0, seed, stream, device)?) })
    }
}

impl Module for Embedding {
    /// Indices of any shape (whole numbers) -> the same shape plus [dim].
    fn forward(&self, idx: &Tensor) -> Result<Tensor> {
        let w = self.weight.get();
        let rows = w.index_select(0, &idx.reshape(&[idx.numel()])?)?;
        let shape: Vec<usize> = idx.shape().iter().copied().chain([w.shape()[1]]).collect();
        rows.reshape(&shape)
    }

    fn parameters(&self) -> Vec<(String, Param)> {
        vec![("weight".to_string(), self.weight.clone())]
    }
}
