//! Fully connected layer, y = x W^T + b, with PyTorch's names and layout
//! (`weight` [out, in], `bias` [out]).

use nnlab_core::{Device, Result, Tensor};

use crate::init::{self, Init};
use crate::{Module, Param};

pub struct Linear {
    pub weight: Param,
    pub bias: Option<Param>,
}

impl Linear {
    /// Weights drawn with `init` from Philox stream `stream`; bias zero.
    pub fn new(inputs: usize, outputs: usize, bias: bool, init: Init, seed: u64, stream: u32, device: &Device) -> Result<Linear> {
        let weight = Param::new(init::weight(init, &[outputs, inputs], inputs, outputs, seed, stream, device)?);
        // PyTorch draws the bias like the weight; the other schemes start it at zero.
        let bias = match (bias, init) {
            (false, _) => None,
            (true, Init::TorchDefault) => {
                let b = 1.0 / (inputs.max(1) as f32).sqrt();
                Some(Param::new(Tensor::rand_uniform(&[outputs], -b, b, seed, stream.wrapping_add(1 << 30), device)?))
            }
            (true, _) => Some(Param::new(Tensor::zeros(&[outputs], device)?)),
        };
        Ok(Linear { weight, bias })
    }
}

impl Module for Linear {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let w = self.weight.get().t()?;
        match &self.bias {
            Some(b) => x.matmul_bias(&w, &b.get()),
            None => x.matmul(&w),
        }
    }

    /// Acts on each position alone.
    fn forward_token(&self, x: &Tensor, _carry: &mut crate::Carry) -> Result<Tensor> {
        self.forward(x)
    }
    fn parameters(&self) -> Vec<(String, Param)> {
        let mut out = vec![("weight".to_string(), self.weight.clone())];
        if let Some(b) = &self.bias {
            out.push(("bias".to_string(), b.clone()));
        }
        out
    }
}
