//! A chain of modules, named like torch.nn.Sequential (`0.weight`, `3.bias`).

use nnlab_core::{Result, Tensor};

use crate::layers::prefixed;
use crate::{Buffer, Carry, Inference, Module, Param, ProbeKind, Probes};

#[derive(Default)]
pub struct Sequential {
    pub layers: Vec<Box<dyn Module>>,
}

impl Sequential {
    pub fn new(layers: Vec<Box<dyn Module>>) -> Sequential {
        Sequential { layers }
    }
}

impl Module for Sequential {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.layers.iter().try_fold(x.clone(), |h, layer| layer.forward(&h))
    }

    fn forward_token(&self, x: &Tensor, carry: &mut Carry) -> Result<Tensor> {
        self.layers.iter().enumerate().try_fold(x.clone(), |h, (i, layer)| layer.forward_token(&h, carry.child(&format!("[{i}]"))))
    }

    fn parameters(&self) -> Vec<(String, Param)> {
        self.layers.iter().enumerate().flat_map(|(i, l)| prefixed(&i.to_string(), l.parameters())).collect()
    }

    fn buffers(&self) -> Vec<(String, Buffer)> {
        self.layers.iter().enumerate().flat_map(|(i, l)| l.buffers().into_iter().map(move |(n, b)| (format!("{i}.{n}"), b))).collect()
    }

    fn set_training(&self, training: bool) {
        for l in &self.layers {
            l.set_training(training);
        }
    }

    fn set_inference(&self, mode: Inference) -> Result<()> {
        self.layers.iter().try_for_each(|l| l.set_inference(mode))
    }

    fn probe(&self, x: &Tensor, probes: &mut Probes) -> Result<Tensor> {
        self.layers.iter().enumerate().try_fold(x.clone(), |h, (i, layer)| {
            probes.within(&format!("[{i}]"), |p| {
                let y = layer.probe(&h, p)?;
                p.record(ProbeKind::Output, &y);
                Ok(y)
            })
        })
    }
}
