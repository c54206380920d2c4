//! Multi-head attention as torch.nn.MultiheadAttention (batch-first): packed
//! `in_proj_weight` [3E, E] (Xavier uniform) and `in_proj_bias` (zeros), then
//! `out_proj` (a Linear with zero bias); key-padding and attention masks
//! (1 = masked); attention weights averaged over heads for visualisation.

use nnlab_core::{Device, Error, Result, Tensor};

use crate::init::{self, Init};
use crate::layers::prefixed;
use crate::{Linear, Module, Param};

pub struct MultiheadAttention {
    pub embed_dim: usize,
    pub heads: usize,
    pub in_proj_weight: Param,
    pub in_proj_bias: Param,
    pub out_proj: Linear,
}

pub struct AttentionOutput {
    pub output: Tensor,
    /// [N, heads, L, S].
    pub head_weights: Tensor,
}

impl AttentionOutput {
    /// The attention weights averaged over heads, [N, L, S] (as PyTorch
    /// returns them); computed on demand, so training pays nothing for them.
    pub fn weights(&self) -> Result<Tensor> {
        self.head_weights.mean(&[1], false)
    }
}

impl MultiheadAttention {
    pub fn new(embed_dim: usize, heads: usize, seed: u64, stream: u32, device: &Device) -> Result<MultiheadAttention> {
        if heads == 0 || embed_dim == 0 || !embed_dim.is_multiple_of(heads) {
            return Err(Error::InvalidArgument {
                op: "MultiheadAttention",
                reason: format!("embed_dim {embed_dim} must be a positive multiple of heads {heads}"),
            });
        }
        let e = embed_dim;
        let in_proj_weight = Param::new(init::weight(Init::GlorotUniform, &[3 * e, e], e, 3 * e, seed, stream, device)?);
        let in_proj_bias = Param::new(Tensor::zeros(&[3 * e], device)?);
        let out_proj = Linear::new(e, e, true, Init::TorchDefault, seed, stream + 1, device)?;
        out_proj.bias.as_ref().expect("bias requested").set(Tensor::zeros(&[e], device)?);
        Ok(MultiheadAttention { embed_dim, heads, in_proj_weight, in_proj_bias, out_proj })
    }

    /// `x` [N, T, E] -> [N, heads, T, E / heads] using rows `part` of the packed projection.
    fn project(&self, x: &Tensor, part: usize) -> Result<Tensor> {
        let e = self.embed_dim;
        let w = self.in_proj_weight.get().narrow(0, part * e, e)?;
        let b = self.in_proj_bias.get().narrow(0, part * e, e)?;
        self.split_heads(&x.matmul_bias(&w.t()?, &b)?)
    }

    /// [N, T, E] (a view is fine) -> [N, heads, T, E / heads], a view.
    fn split_heads(&self, x: &Tensor) -> Result<Tensor> {
        let (n, t) = (x.shape()[0], x.shape()[1]);
        x.reshape(&[n, t, self.heads, self.embed_dim / self.heads])?.permute(&[0, 2, 1, 3])
    }

    /// query [N, L, E], key and value [N, S, E]; `key_padding_mask` [N, S] and
    /// `attn_mask` [L, S] hold 1 where attention is not allowed.
    pub fn attend(
        &self,
        query: &Tensor,
        key: &Tensor,
        value: &Tensor,
        key_padding_mask: Option<&Tensor>,
        attn_mask: Option<&Tensor>,
    ) -> Result<AttentionOutput> {
        let e = self.embed_dim;
        for t in [query, key, value] {
            if t.rank() != 3 || t.shape()[2] != e {
                return Err(Error::InvalidArgument { op: "MultiheadAttention", reason: format!("expected [N, T, {e}], got {:?}", t.shape()) });
            }
        }
        let (n, l, s) = (query.shape()[0], query.shape()[1], key.shape()[1]);
        let (q, k, v) = if query.id() == key.id() && key.id() == value.id() {
            // Self-attention: one product by the packed weight projects all
            // three (one kernel forward, two backward instead of three and six),
            // and the heads are views of its column blocks.
            // Their gradients meet again in one concat along the [N, T, 3,
            // heads, width] axis they are cut from, read in place.
            let (n, t) = (query.shape()[0], query.shape()[1]);
            let packed = query.matmul_bias(&self.in_proj_weight.get().t()?, &self.in_proj_bias.get())?.reshape(&[n, t, 3, self.heads, e / self.heads])?;
            let part = |i: usize| packed.narrow(2, i, 1)?.reshape(&[n, t, self.heads, e / self.heads])?.permute(&[0, 2, 1, 3]);
            (part(0)?, part(1)?, part(2)?)
        } else {
            (self.project(query, 0)?, self.project(key, 1)?, self.project(value, 2)?)
        };
        let mut scores = q.matmul_scaled(&k.t()?, 1.0 / ((e / self.heads) as f32).sqrt())?;
        let neg_inf = Tensor::scalar(f32::NEG_INFINITY, &query.device())?;
        if let Some(m) = key_padding_mask {
            scores = m.reshape(&[n, 1, 1, s])?.where_(&neg_inf, &scores)?;
        }
        if let Some(m) = attn_mask {
            scores = m.reshape(&[1, 1, l, s])?.where_(&neg_inf, &scores)?;
        }
        let weights = scores.softmax(-1)?;
        let out = weights.matmul(&v)?.permute(&[0, 2, 1, 3])?.reshape(&[n, l, e])?;
        Ok(AttentionOutput { output: self.out_proj.forward(&out)?, head_weights: weights })
    }
}

impl Module for MultiheadAttention {
    /// Self-attention without masks.
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.attend(x, x, x, None, None)?.output)
    }

    fn parameters(&self) -> Vec<(String, Param)> {
        let mut out = vec![("in_proj_weight".to_string(), self.in_proj_weight.clone()), ("in_proj_bias".to_string(), self.in_proj_bias.clone())];
        out.extend(prefixed("out_proj", self.out_proj.parameters()));
        out
    }
}
