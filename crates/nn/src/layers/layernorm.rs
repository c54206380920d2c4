//! Layer normalisation over the last axis (torch.nn.LayerNorm(dim)): biased
//! variance, eps 1e-5, affine weight (ones) and bias (zeros).

use nnlab_core::{Device, Error, Result, Tensor};

use crate::{Module, Param};

pub struct LayerNorm {
    pub weight: Param,
    pub bias: Param,
    pub eps: f32,
}

impl LayerNorm {
    pub fn new(dim: usize, device: &Device) -> Result<LayerNorm> {
        Ok(LayerNorm { weight: Param::new(Tensor::ones(&[dim], device)?), bias: Param::new(Tensor::zeros(&[dim], device)?), eps: 1e-5 })
    }
}

impl Module for LayerNorm {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let w = self.weight.get();
        if x.shape().last() != w.shape().last() {
            return Err(Error::ShapeMismatch { op: "LayerNorm", lhs: x.shape().to_vec(), rhs: w.shape().to_vec() });
        }
        x.layer_norm_affine(&w, &self.bias.get(), self.eps)
    }

    fn parameters(&self) -> Vec<(String, Param)> {
        vec![("weight".to_string(), self.weight.clone()), ("bias".to_string(), self.bias.clone())]
    }
}
