//! The MobileNetV2 inverted residual block (Sandler et al. 2018): a 1x1
//! expansion (skipped when the ratio is 1), a 3x3 depthwise convolution, both
//! with BatchNorm and ReLU6, then a linear 1x1 bottleneck with BatchNorm (or,
//! for the paper's ablation, one followed by an activation); the input is
//! added back when stride is 1 and the channel counts match.

use nnlab_core::{Device, Result, Tensor};

use crate::layers::{ConvBn, Padding, Sequential, prefixed};
use crate::{Activation, Buffer, Inference, Module, Param};

pub struct InvertedResidual {
    pub block: Sequential,
    pub use_residual: bool,
}

impl InvertedResidual {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        inputs: usize,
        outputs: usize,
        expand: usize,
        stride: usize,
        bottleneck: Option<Activation>,
        seed: u64,
        stream: u32,
        device: &Device,
    ) -> Result<InvertedResidual> {
        let hidden = inputs * expand;
        let s = stream.wrapping_mul(8);
        let relu6 = Some(Activation::Relu6);
        let mut layers: Vec<Box<dyn Module>> = Vec::new();
        if expand != 1 {
            layers.push(Box::new(ConvBn::new(inputs, hidden, 1, 1, Padding::Explicit([0, 0]), 1, relu6, seed, s, device)?));
        }
        layers.push(Box::new(ConvBn::new(hidden, hidden, 3, stride, Padding::Explicit([1, 1]), hidden, relu6, seed, s + 1, device)?));
        layers.push(Box::new(ConvBn::new(hidden, outputs, 1, 1, Padding::Explicit([0, 0]), 1, bottleneck, seed, s + 2, device)?));
        Ok(InvertedResidual { block: Sequential::new(layers), use_residual: stride == 1 && inputs == outputs })
    }
}

impl Module for InvertedResidual {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = self.block.forward(x)?;
        if self.use_residual { x.add(&y) } else { Ok(y) }
    }

    fn parameters(&self) -> Vec<(String, Param)> {
        prefixed("block", self.block.parameters())
    }

    fn buffers(&self) -> Vec<(String, Buffer)> {
        self.block.buffers().into_iter().map(|(n, b)| (format!("block.{n}"), b)).collect()
    }

    fn set_training(&self, training: bool) {
        self.block.set_training(training);
    }

    fn set_inference(&self, mode: Inference) -> Result<()> {
        self.block.set_inference(mode)
    }
}
