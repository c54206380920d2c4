//! The PFN as Müller et al. (2022) describe it: a transformer encoder without
//! positional encoding over a set of points. A context point's token is
//! encoder(x) + y_encoder(y); a query point's is encoder(x) alone. Context
//! tokens attend to every context token and query tokens attend only to the
//! context, so no query can influence another: the keys and values of every
//! layer are the context tokens' alone (the attention mask of the paper,
//! without scoring the keys it hides). A two-layer decoder maps each
//! query token to logits: over the bar distribution's buckets (regression) or
//! over the classes (classification).
//!
//! Parameter names follow automl/PFNs (`encoder`, `y_encoder`,
//! `transformer_encoder.layers.{i}`, `decoder.0`, `decoder.2`), so the
//! safetensors load into a PyTorch module with the same layout.

use nnlab_core::{Device, Error, Result, Tensor};
use serde::{Deserialize, Serialize};

use crate::init::Init;
use crate::layers::{TransformerEncoderLayer, prefixed};
use crate::{Activation, Linear, Module, Param};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PfnModelConfig {
    pub d_model: usize,
    pub heads: usize,
    pub layers: usize,
    /// Width of each transformer layer's feed-forward block.
    pub ff: usize,
    /// Width of the decoder's hidden layer.
    pub decoder_hidden: usize,
    /// Outputs per query: bar-distribution buckets, or classes.
    pub outputs: usize,
    /// Input features per point.
    pub features: usize,
}

impl PfnModelConfig {
    pub fn validate(&self) -> Result<()> {
        let bad = |field: &str, reason: String| Err(Error::InvalidSpec { path: format!("model.{field}"), reason });
        if self.d_model == 0 || self.d_model > 1024 || self.heads == 0 || !self.d_model.is_multiple_of(self.heads) {
            return bad("dModel", format!("{} must be in 1..=1024 and a multiple of heads ({})", self.d_model, self.heads));
        }
        if self.layers == 0 || self.layers > 24 {
            return bad("layers", format!("must be in 1..=24, got {}", self.layers));
        }
        for (name, v) in [("ff", self.ff), ("decoderHidden", self.decoder_hidden), ("outputs", self.outputs)] {
            if v == 0 || v > 8192 {
                return bad(name, format!("must be in 1..=8192, got {v}"));
            }
        }
        if self.features == 0 || self.features > super::prior::MAX_FEATURES {
            return bad("features", format!("must be in 1..={}, got {}", super::prior::MAX_FEATURES, self.features));
        }
        Ok(())
    }
}

pub struct PfnModel {
    pub config: PfnModelConfig,
    pub encoder: Linear,
    pub y_encoder: Linear,
    pub layers: Vec<TransformerEncoderLayer>,
    pub decoder_hidden: Linear,
    pub decoder_out: Linear,
}

impl PfnModel {
    pub fn new(config: PfnModelConfig, seed: u64, device: &Device) -> Result<PfnModel> {
        config.validate()?;
        let d = config.d_model;
        let layers = (0..config.layers)
            .map(|i| TransformerEncoderLayer::new(d, config.heads, config.ff, 0.0, Activation::Gelu, false, seed, 8 + i as u32, device))
            .collect::<Result<Vec<_>>>()?;
        Ok(PfnModel {
            config,
            encoder: Linear::new(config.features, d, true, Init::TorchDefault, seed, 1, device)?,
            y_encoder: Linear::new(1, d, true, Init::TorchDefault, seed, 3, device)?,
            layers,
            decoder_hidden: Linear::new(d, config.decoder_hidden, true, Init::TorchDefault, seed, 5, device)?,
            decoder_out: Linear::new(config.decoder_hidden, config.outputs, true, Init::TorchDefault, seed, 7, device)?,
        })
    }

    /// The attention mask of `context` context points among `total` points
    /// (1 = masked): every token may attend to the context only. The model
    /// computes the same without it (`TransformerEncoderLayer::forward_context`).
    pub fn context_mask(context: usize, total: usize, device: &Device) -> Result<Tensor> {
        let row: Vec<f32> = (0..total).map(|j| (j >= context) as u8 as f32).collect();
        Tensor::from_vec(row.repeat(total), &[total, total], device)
    }

    /// `x` [B, T, features] (context points first), `y_context` [B, n] for the
    /// first n points -> logits [B, T - n, outputs] for the query points.
    pub fn forward_split(&self, x: &Tensor, y_context: &Tensor) -> Result<Tensor> {
        let (b, t, n) = (x.shape()[0], x.shape()[1], y_context.shape().get(1).copied().unwrap_or(0));
        if x.rank() != 3 || x.shape()[2] != self.config.features || y_context.shape() != [b, n] || n == 0 || n >= t {
            return Err(Error::ShapeMismatch { op: "pfn", lhs: x.shape().to_vec(), rhs: y_context.shape().to_vec() });
        }
        let y_tokens = self.y_encoder.forward(&y_context.reshape(&[b, n, 1])?)?.pad(&[(0, 0), (0, t - n), (0, 0)])?;
        let mut h = self.encoder.forward(x)?.add(&y_tokens)?;
        for layer in &self.layers {
            h = layer.forward_context(&h, n)?;
        }
        let queries = h.narrow(1, n, t - n)?;
        self.decoder_out.forward(&self.decoder_hidden.forward(&queries)?.gelu()?)
    }
}

impl Module for PfnModel {
    /// The PFN needs the context's targets: use `forward_split`.
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Err(Error::InvalidArgument { op: "pfn", reason: format!("a PFN predicts from a context; call forward_split (got one input {:?})", x.shape()) })
    }

    fn parameters(&self) -> Vec<(String, Param)> {
        let mut out = prefixed("encoder", self.encoder.parameters());
        out.extend(prefixed("y_encoder", self.y_encoder.parameters()));
        for (i, layer) in self.layers.iter().enumerate() {
            out.extend(prefixed(&format!("transformer_encoder.layers.{i}"), layer.parameters()));
        }
        out.extend(prefixed("decoder.0", self.decoder_hidden.parameters()));
        out.extend(prefixed("decoder.2", self.decoder_out.parameters()));
        out
    }
}
