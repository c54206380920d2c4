//! A residual block y = act(shortcut(x) + scale * body(x)). An empty shortcut
//! is the identity; `scale` < 1 is the activation scaling of Inception-ResNet
//! (Szegedy et al. 2017), which steadies very deep residual stacks.

use nnlab_core::{Result, Tensor};

use crate::layers::{prefixed, Sequential};
use crate::{Activation, Buffer, Module, Param};

pub struct Residual {
    pub body: Sequential,
    pub shortcut: Sequential,
    pub scale: f32,
    pub activation: Option<Activation>,
}

impl Module for Residual {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut body = self.body.forward(x)?;
        if self.scale != 1.0 {
            body = body.mul_scalar(self.scale)?;
        }
        let y = self.shortcut.forward(x)?.add(&body)?;
        match self.activation {
            Some(a) => a.apply(&y),
            None => Ok(y),
        }
    }

    fn parameters(&self) -> Vec<(String, Param)> {
        let mut out = prefixed("body", self.body.parameters());
        out.extend(prefixed("shortcut", self.shortcut.parameters()));
        out
    }

    fn buffers(&self) -> Vec<(String, Buffer)> {
        let tag = |p: &str, v: Vec<(String, Buffer)>| v.into_iter().map(|(n, b)| (format!("{p}.{n}"), b)).collect::<Vec<_>>();
        let mut out = tag("body", self.body.buffers());
        out.extend(tag("shortcut", self.shortcut.buffers()));
        out
    }

    fn set_training(&self, training: bool) {
        self.body.set_training(training);
        self.shortcut.set_training(training);
    }
}
