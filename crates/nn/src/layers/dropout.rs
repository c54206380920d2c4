//! Inverted dropout: in training, zero each element with probability p and
//! scale the rest by 1 / (1 - p); identity in evaluation. Masks come from the
//! counter-based generator, so CPU and GPU drop the same elements.

use std::cell::Cell;

use nnlab_core::{Error, Result, Tensor};

use crate::{Module, Param};

pub struct Dropout {
    pub p: f32,
    seed: u64,
    /// Advances every forward so each step draws a fresh mask.
    stream: Cell<u32>,
    training: Cell<bool>,
}

impl Dropout {
    pub fn new(p: f32, seed: u64) -> Result<Dropout> {
        if !(0.0..1.0).contains(&p) {
            return Err(Error::InvalidArgument { op: "Dropout", reason: format!("p must be in [0, 1), got {p}") });
        }
        Ok(Dropout { p, seed, stream: Cell::new(0), training: Cell::new(true) })
    }
}

impl Module for Dropout {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if !self.training.get() || self.p == 0.0 {
            return Ok(x.clone());
        }
        let stream = self.stream.get();
        self.stream.set(stream.wrapping_add(1));
        let keep = Tensor::bernoulli(x.shape(), 1.0 - self.p, self.seed, stream, &x.device())?;
        x.mul(&keep)?.mul_scalar(1.0 / (1.0 - self.p))
    }

    /// Acts on each position alone.
    fn forward_token(&self, x: &Tensor, _carry: &mut crate::Carry) -> Result<Tensor> {
        self.forward(x)
    }
    fn parameters(&self) -> Vec<(String, Param)> {
        Vec::new()
    }

    fn set_training(&self, training: bool) {
        self.training.set(training);
    }
}
