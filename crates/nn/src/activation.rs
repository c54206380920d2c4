//! Elementwise activations selectable by name in a model spec, each a short
//! composition of core primitives.

use nnlab_core::{Result, Tensor};
use serde::{Deserialize, Serialize};

use crate::init::Init;
use crate::{Module, Param};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    Relu,
    Relu6,
    /// Slope 0.01 for negative inputs, as torch.nn.LeakyReLU's default;
    /// `leaky_relu` takes another slope.
    LeakyRelu,
    Gelu,
    GeluTanh,
    Silu,
    Tanh,
    Sigmoid,
    /// Softmax over the last axis.
    Softmax,
    /// Log-softmax over the last axis.
    LogSoftmax,
    Linear,
}

/// max(x, slope x) for slope in [0, 1): x where x > 0, slope x elsewhere.
pub fn leaky_relu(x: &Tensor, slope: f32) -> Result<Tensor> {
    x.maximum(&x.mul_scalar(slope)?)
}

impl Activation {
    pub fn apply(self, x: &Tensor) -> Result<Tensor> {
        match self {
            Activation::Relu => x.relu(),
            Activation::Relu6 => x.relu()?.minimum(&Tensor::scalar(6.0, &x.device())?),
            Activation::LeakyRelu => leaky_relu(x, 0.01),
            Activation::Gelu => x.gelu(),
            Activation::GeluTanh => x.gelu_tanh(),
            Activation::Silu => x.mul(&x.sigmoid()?),
            Activation::Tanh => x.tanh(),
            Activation::Sigmoid => x.sigmoid(),
            Activation::Softmax => x.softmax(-1),
            Activation::LogSoftmax => x.log_softmax(-1),
            Activation::Linear => Ok(x.clone()),
        }
    }

    /// The initialisation that keeps activations well scaled through this nonlinearity.
    pub fn preferred_init(self) -> Init {
        match self {
            Activation::Relu | Activation::Relu6 | Activation::LeakyRelu | Activation::Gelu | Activation::GeluTanh | Activation::Silu => Init::HeNormal,
            _ => Init::GlorotUniform,
        }
    }
}

/// An activation as a layer, with an optional negative slope for leaky ReLU.
pub struct ActivationLayer {
    pub function: Activation,
    pub slope: Option<f32>,
}

impl ActivationLayer {
    pub fn new(function: Activation) -> ActivationLayer {
        ActivationLayer { function, slope: None }
    }
}

impl Module for ActivationLayer {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match (self.function, self.slope) {
            (Activation::LeakyRelu, Some(s)) => leaky_relu(x, s),
            (f, _) => f.apply(x),
        }
    }
    /// Acts on each position alone.
    fn forward_token(&self, x: &Tensor, _carry: &mut crate::Carry) -> Result<Tensor> {
        self.forward(x)
    }
    fn parameters(&self) -> Vec<(String, Param)> {
        Vec::new()
    }
}
