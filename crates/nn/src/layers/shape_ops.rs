//! Layers without parameters that only reshape or select: Flatten, the last
//! time step(s) of a sequence, and the mean over time. Batch axis first.

use nnlab_core::{Result, Tensor};

use crate::{Module, Param};

/// [N, ...] -> [N, product].
pub struct Flatten;

impl Module for Flatten {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.flatten_from(1)
    }
    fn parameters(&self) -> Vec<(String, Param)> {
        Vec::new()
    }
}

/// The last time step: [N, T, F] -> [N, F].
pub struct LastStep;

impl Module for LastStep {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let t = x.dim(1)?;
        x.narrow(1, t - 1, 1)?.flatten_from(1)
    }
    fn parameters(&self) -> Vec<(String, Param)> {
        Vec::new()
    }
}

/// The last `.0` time steps: [N, T, F] -> [N, steps, F].
pub struct Tail(pub usize);

impl Module for Tail {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let t = x.dim(1)?;
        x.narrow(1, t - self.0, self.0)
    }
    fn parameters(&self) -> Vec<(String, Param)> {
        Vec::new()
    }
}

/// Mean over time: [N, T, F] -> [N, F].
pub struct MeanOverTime;

impl Module for MeanOverTime {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.mean(&[1], false)
    }
    fn parameters(&self) -> Vec<(String, Param)> {
        Vec::new()
    }
}
