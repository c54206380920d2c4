//! Layer normalisation (torch.nn.LayerNorm): each example normalised over its
//! trailing `normalized_shape` axes (biased variance, eps 1e-5), then an
//! optional elementwise affine weight (ones) and bias (zeros) of that shape.

use nnlab_core::{Device, Error, Result, Tensor};

use crate::{Module, Param};

pub struct LayerNorm {
    pub normalized_shape: Vec<usize>,
    pub weight: Option<Param>,
    pub bias: Option<Param>,
    pub eps: f32,
}

impl LayerNorm {
    /// Over the last axis, of size `dim`, with weight and bias.
    pub fn new(dim: usize, device: &Device) -> Result<LayerNorm> {
        LayerNorm::with(&[dim], true, true, device)
    }

    /// torch.nn.LayerNorm(normalized_shape, elementwise_affine, bias): without
    /// `elementwise_affine` there is neither weight nor bias.
    pub fn with(normalized_shape: &[usize], elementwise_affine: bool, bias: bool, device: &Device) -> Result<LayerNorm> {
        let param = |ones: bool| -> Result<Param> {
            Ok(Param::new(if ones { Tensor::ones(normalized_shape, device)? } else { Tensor::zeros(normalized_shape, device)? }))
        };
        Ok(LayerNorm {
            normalized_shape: normalized_shape.to_vec(),
            weight: elementwise_affine.then(|| param(true)).transpose()?,
            bias: (elementwise_affine && bias).then(|| param(false)).transpose()?,
            eps: 1e-5,
        })
    }
}

impl Module for LayerNorm {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let k = self.normalized_shape.len();
        if x.rank() < k || x.shape()[x.rank() - k..] != self.normalized_shape[..] {
            return Err(Error::ShapeMismatch { op: "LayerNorm", lhs: x.shape().to_vec(), rhs: self.normalized_shape.clone() });
        }
        // The normalised axes as one row per example, which the row kernels take.
        let row: usize = self.normalized_shape.iter().product();
        let rows = x.reshape(&[x.numel() / row.max(1), row])?;
        let flat = |p: &Param| p.get().reshape(&[row]);
        let y = match (&self.weight, &self.bias) {
            (Some(w), Some(b)) => rows.layer_norm_affine(&flat(w)?, &flat(b)?, self.eps)?,
            (Some(w), None) => rows.layer_norm(self.eps)?.mul(&flat(w)?)?,
            _ => rows.layer_norm(self.eps)?,
        };
        y.reshape(x.shape())
    }

    /// Acts on each position alone.
    fn forward_token(&self, x: &Tensor, _carry: &mut crate::Carry) -> Result<Tensor> {
        self.forward(x)
    }
    fn parameters(&self) -> Vec<(String, Param)> {
        let mut out = Vec::new();
        out.extend(self.weight.iter().map(|w| ("weight".to_string(), w.clone())));
        out.extend(self.bias.iter().map(|b| ("bias".to_string(), b.clone())));
        out
    }
}
