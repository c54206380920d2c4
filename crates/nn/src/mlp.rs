//! A multi-layer perceptron: Linear layers with one activation between them and
//! a linear output (the shape TensorFlow Playground builds).

use nnlab_core::{Device, Result, Tensor};

use crate::{Activation, Linear, Module, Param};

pub struct Mlp {
    pub layers: Vec<Linear>,
    pub activation: Activation,
}

impl Mlp {
    /// `sizes` = [inputs, hidden..., outputs].
    pub fn new(sizes: &[usize], activation: Activation, seed: u64, device: &Device) -> Result<Mlp> {
        let layers = sizes
            .windows(2)
            .enumerate()
            .map(|(i, w)| Linear::new(w[0], w[1], true, activation.preferred_init(), seed, i as u32, device))
            .collect::<Result<_>>()?;
        Ok(Mlp { layers, activation })
    }
}

impl Module for Mlp {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut h = x.clone();
        for (i, layer) in self.layers.iter().enumerate() {
            h = layer.forward(&h)?;
            if i + 1 < self.layers.len() {
                h = self.activation.apply(&h)?;
            }
        }
        Ok(h)
    }

    /// Names as a PyTorch `nn.Sequential` of Linear and activation modules would
    /// have them (`0.weight`, `2.weight`, ...).
    fn parameters(&self) -> Vec<(String, Param)> {
        self.layers
            .iter()
            .enumerate()
            .flat_map(|(i, l)| l.parameters().into_iter().map(move |(n, p)| (format!("{}.{n}", 2 * i), p)))
            .collect()
    }
}
