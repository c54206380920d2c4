//! Elementwise activations selectable by name in a model spec.

use nnlab_core::{Result, Tensor};
use serde::{Deserialize, Serialize};

use crate::init::Init;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    Relu,
    Tanh,
    Sigmoid,
    Gelu,
    Linear,
}

impl Activation {
    pub fn apply(self, x: &Tensor) -> Result<Tensor> {
        match self {
            Activation::Relu => x.relu(),
            Activation::Tanh => x.tanh(),
            Activation::Sigmoid => x.sigmoid(),
            Activation::Gelu => x.gelu(),
            Activation::Linear => Ok(x.clone()),
        }
    }

    /// The initialisation that keeps activations well scaled through this nonlinearity.
    pub fn preferred_init(self) -> Init {
        match self {
            Activation::Relu | Activation::Gelu => Init::HeNormal,
            _ => Init::GlorotUniform,
        }
    }
}
