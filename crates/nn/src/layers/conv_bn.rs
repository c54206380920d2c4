//! Convolution (no bias) + BatchNorm2d + optional activation, the unit of most
//! CNNs. For inference the BatchNorm folds into the convolution:
//! w' = w γ / sqrt(var + eps), b' = β - γ μ / sqrt(var + eps), giving the same
//! outputs with one layer fewer.

use std::cell::RefCell;

use nnlab_core::{Device, Result, Tensor, no_grad};

use crate::layers::{BatchNorm, Conv2d, Padding, prefixed};
use crate::{Activation, Buffer, Inference, Module, Param};

pub struct ConvBn {
    pub conv: Conv2d,
    pub bn: BatchNorm,
    pub activation: Option<Activation>,
    /// The folded convolution, used in evaluation mode while set.
    folded: RefCell<Option<Conv2d>>,
}

impl ConvBn {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        inputs: usize,
        outputs: usize,
        kernel: usize,
        stride: usize,
        padding: Padding,
        groups: usize,
        activation: Option<Activation>,
        seed: u64,
        stream: u32,
        device: &Device,
    ) -> Result<ConvBn> {
        Ok(ConvBn {
            conv: Conv2d::new(inputs, outputs, [kernel; 2], [stride; 2], padding, [1, 1], groups, false, seed, stream, device)?,
            bn: BatchNorm::new(outputs, true, device)?,
            activation,
            folded: RefCell::new(None),
        })
    }

    /// A convolution with bias equal to this block's conv + BatchNorm in
    /// evaluation mode (the activation is not included).
    pub fn fold(&self) -> Result<Conv2d> {
        let _g = no_grad();
        let w = self.conv.weight.get();
        let o = w.shape()[0];
        let inv_std = self.bn.running_var.get().add_scalar(self.bn.eps)?.sqrt()?.recip()?;
        let gamma = self.bn.weight.as_ref().map(Param::get).map_or_else(|| Tensor::ones(&[o], &w.device()), Ok)?;
        let beta = self.bn.bias.as_ref().map(Param::get).map_or_else(|| Tensor::zeros(&[o], &w.device()), Ok)?;
        let factor = gamma.mul(&inv_std)?;
        let weight = w.mul(&factor.reshape(&[o, 1, 1, 1])?)?;
        let bias = beta.sub(&self.bn.running_mean.get().mul(&factor)?)?;
        Ok(Conv2d {
            weight: Param::new(weight),
            bias: Some(Param::new(bias)),
            stride: self.conv.stride,
            padding: self.conv.padding,
            padding_mode: self.conv.padding_mode,
            dilation: self.conv.dilation,
            groups: self.conv.groups,
        })
    }
}

impl Module for ConvBn {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = match self.folded.borrow().as_ref() {
            Some(conv) if !self.bn.is_training() => conv.forward(x)?,
            _ => self.bn.forward(&self.conv.forward(x)?)?,
        };
        match self.activation {
            Some(a) => a.apply(&y),
            None => Ok(y),
        }
    }

    fn parameters(&self) -> Vec<(String, Param)> {
        let mut out = prefixed("conv", self.conv.parameters());
        out.extend(prefixed("bn", self.bn.parameters()));
        out
    }

    fn buffers(&self) -> Vec<(String, Buffer)> {
        self.bn.buffers().into_iter().map(|(n, b)| (format!("bn.{n}"), b)).collect()
    }

    fn set_training(&self, training: bool) {
        self.bn.set_training(training);
        // Weights about to change would leave a folded copy stale.
        if training {
            self.folded.replace(None);
        }
    }

    fn set_inference(&self, mode: Inference) -> Result<()> {
        self.folded.replace(if mode == Inference::FoldedBatchnorm { Some(self.fold()?) } else { None });
        Ok(())
    }
}
