//! Layers without parameters that only reshape, select or pad: Flatten, the
//! last time step(s) of a sequence, the mean over time, padding. Batch axis first.

use nnlab_core::{Error, PadMode, Result, Tensor};

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
    /// A token is the last step of the sequence so far.
    fn forward_token(&self, x: &Tensor, _carry: &mut crate::Carry) -> Result<Tensor> {
        self.forward(x)
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

/// Pads the trailing axes of [N, C, ...] by `pads` (before, after), first
/// padded axis first, in `mode` (torch's ConstantPad/ReflectionPad/
/// ReplicationPad/CircularPad layers).
pub struct Pad {
    pub pads: Vec<(usize, usize)>,
    pub mode: PadMode,
}

impl Module for Pad {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if x.rank() < self.pads.len() {
            return Err(Error::InvalidArgument { op: "pad", reason: format!("{} padded axes for input {:?}", self.pads.len(), x.shape()) });
        }
        let pads: Vec<(usize, usize)> = std::iter::repeat_n((0, 0), x.rank() - self.pads.len()).chain(self.pads.iter().copied()).collect();
        x.pad_mode(&pads, self.mode)
    }

    fn parameters(&self) -> Vec<(String, Param)> {
        Vec::new()
    }
}
