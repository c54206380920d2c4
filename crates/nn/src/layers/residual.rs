//! A residual block y = act(shortcut(x) + scale * body(x)). An empty shortcut
//! is the identity; `scale` < 1 is the activation scaling of Inception-ResNet
//! (Szegedy et al. 2017), which steadies very deep residual stacks.

use nnlab_core::{Result, Tensor};

use crate::layers::{Sequential, prefixed};
use crate::{Activation, Buffer, Carry, Inference, Module, Param, Probes};

pub struct Residual {
    pub body: Sequential,
    pub shortcut: Sequential,
    pub scale: f32,
    pub activation: Option<Activation>,
}

impl Residual {
    fn join(&self, body: Tensor, shortcut: Tensor) -> Result<Tensor> {
        let body = if self.scale != 1.0 { body.mul_scalar(self.scale)? } else { body };
        let y = shortcut.add(&body)?;
        match self.activation {
            Some(a) => a.apply(&y),
            None => Ok(y),
        }
    }
}

impl Module for Residual {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.join(self.body.forward(x)?, self.shortcut.forward(x)?)
    }

    fn forward_token(&self, x: &Tensor, carry: &mut Carry) -> Result<Tensor> {
        let body = self.body.forward_token(x, carry.child(".body"))?;
        self.join(body, self.shortcut.forward_token(x, carry.child(".shortcut"))?)
    }

    fn probe(&self, x: &Tensor, probes: &mut Probes) -> Result<Tensor> {
        let body = probes.within(".body", |p| self.body.probe(x, p))?;
        let shortcut = probes.within(".shortcut", |p| self.shortcut.probe(x, p))?;
        self.join(body, shortcut)
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

    fn set_inference(&self, mode: Inference) -> Result<()> {
        self.body.set_inference(mode)?;
        self.shortcut.set_inference(mode)
    }
}
