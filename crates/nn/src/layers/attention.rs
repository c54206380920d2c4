//! Multi-head attention as torch.nn.MultiheadAttention: packed
//! `in_proj_weight` [3E, E] (Xavier uniform), or separate `q_proj_weight`,
//! `k_proj_weight` [E, kdim] and `v_proj_weight` [E, vdim] when keys or values
//! have another width; `in_proj_bias` (zeros) unless `bias` is off; then
//! `out_proj` (a Linear with zero bias). Options as torch names them:
//! `add_bias_kv` (a learned key and value appended to every sequence),
//! `add_zero_attn` (a zero key and value appended per head), `batch_first`.
//! Key-padding and attention masks hold 1 where attention is not allowed; the
//! attention weights come per head and averaged over heads.

use nnlab_core::{Device, Error, Result, Tensor};

use crate::init::{self, Init};
use crate::layers::prefixed;
use crate::{Linear, Module, Param};

/// torch.nn.MultiheadAttention's arguments besides the width and heads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttentionOptions {
    pub bias: bool,
    pub add_bias_kv: bool,
    pub add_zero_attn: bool,
    /// Keys' and values' widths (the embedding's when None).
    pub kdim: Option<usize>,
    pub vdim: Option<usize>,
    /// [N, T, E] when true, [T, N, E] otherwise (torch's default is false; nnlab's layers are batch-first).
    pub batch_first: bool,
}

impl Default for AttentionOptions {
    fn default() -> Self {
        AttentionOptions { bias: true, add_bias_kv: false, add_zero_attn: false, kdim: None, vdim: None, batch_first: true }
    }
}

/// The input projections: packed for equal widths, else one per input.
pub enum Projection {
    Packed(Param),
    Separate { q: Param, k: Param, v: Param },
}

pub struct MultiheadAttention {
    pub embed_dim: usize,
    pub heads: usize,
    pub projection: Projection,
    pub in_proj_bias: Option<Param>,
    /// [1, 1, E] each, appended to the projected keys and values.
    pub bias_kv: Option<(Param, Param)>,
    pub add_zero_attn: bool,
    pub batch_first: bool,
    pub out_proj: Linear,
}

pub struct AttentionOutput {
    pub output: Tensor,
    /// [N, heads, L, S] (S counts the appended bias and zero keys).
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
        MultiheadAttention::with(embed_dim, heads, AttentionOptions::default(), seed, stream, device)
    }

    pub fn with(embed_dim: usize, heads: usize, o: AttentionOptions, seed: u64, stream: u32, device: &Device) -> Result<MultiheadAttention> {
        if heads == 0 || embed_dim == 0 || !embed_dim.is_multiple_of(heads) || o.kdim == Some(0) || o.vdim == Some(0) {
            return Err(Error::InvalidArgument {
                op: "MultiheadAttention",
                reason: format!("embed_dim {embed_dim} must be a positive multiple of heads {heads}, and kdim and vdim positive"),
            });
        }
        let e = embed_dim;
        let xavier = |rows: usize, cols: usize, s: u32| -> Result<Param> {
            Ok(Param::new(init::weight(Init::GlorotUniform, &[rows, cols], cols, rows, seed, s, device)?))
        };
        let (kdim, vdim) = (o.kdim.unwrap_or(e), o.vdim.unwrap_or(e));
        let projection = if kdim == e && vdim == e {
            Projection::Packed(xavier(3 * e, e, stream)?)
        } else {
            Projection::Separate { q: xavier(e, e, stream)?, k: xavier(e, kdim, stream + 2)?, v: xavier(e, vdim, stream + 3)? }
        };
        let in_proj_bias = o.bias.then(|| Tensor::zeros(&[3 * e], device).map(Param::new)).transpose()?;
        let out_proj = Linear::new(e, e, o.bias, Init::TorchDefault, seed, stream + 1, device)?;
        if let Some(b) = &out_proj.bias {
            b.set(Tensor::zeros(&[e], device)?);
        }
        // torch: Xavier normal on [1, 1, E], a standard deviation of 1 / sqrt(E).
        let std = (1.0 / e as f32).sqrt();
        let bias_kv = o
            .add_bias_kv
            .then(|| -> Result<(Param, Param)> {
                Ok((
                    Param::new(Tensor::randn(&[1, 1, e], 0.0, std, seed, stream + 4, device)?),
                    Param::new(Tensor::randn(&[1, 1, e], 0.0, std, seed, stream + 5, device)?),
                ))
            })
            .transpose()?;
        Ok(MultiheadAttention { embed_dim, heads, projection, in_proj_bias, bias_kv, add_zero_attn: o.add_zero_attn, batch_first: o.batch_first, out_proj })
    }

    /// The weight [E, width] and bias of input projection `part` (0 q, 1 k, 2 v).
    fn weight_and_bias(&self, part: usize) -> Result<(Tensor, Option<Tensor>)> {
        let e = self.embed_dim;
        let w = match &self.projection {
            Projection::Packed(w) => w.get().narrow(0, part * e, e)?,
            Projection::Separate { q, k, v } => [q, k, v][part].get(),
        };
        Ok((w, self.in_proj_bias.as_ref().map(|b| b.get().narrow(0, part * e, e)).transpose()?))
    }

    /// `x` [N, T, width] -> [N, T, E] by input projection `part`.
    fn project(&self, x: &Tensor, part: usize) -> Result<Tensor> {
        let (w, b) = self.weight_and_bias(part)?;
        match b {
            Some(b) => x.matmul_bias(&w.t()?, &b),
            None => x.matmul(&w.t()?),
        }
    }

    /// [N, T, E] (a view is fine) -> [N, heads, T, E / heads], a view.
    fn split_heads(&self, x: &Tensor) -> Result<Tensor> {
        let (n, t) = (x.shape()[0], x.shape()[1]);
        x.reshape(&[n, t, self.heads, self.embed_dim / self.heads])?.permute(&[0, 2, 1, 3])
    }

    /// query [N, L, E], key [N, S, kdim] and value [N, S, vdim] (time first
    /// without `batch_first`); `key_padding_mask` [N, S] and `attn_mask` [L, S]
    /// hold 1 where attention is not allowed.
    pub fn attend(
        &self,
        query: &Tensor,
        key: &Tensor,
        value: &Tensor,
        key_padding_mask: Option<&Tensor>,
        attn_mask: Option<&Tensor>,
    ) -> Result<AttentionOutput> {
        let width = |part: usize| self.weight_and_bias(part).map(|(w, _)| w.shape()[1]);
        for (part, t) in [query, key, value].into_iter().enumerate() {
            let w = width(part)?;
            if t.rank() != 3 || t.shape()[2] != w {
                return Err(Error::InvalidArgument { op: "MultiheadAttention", reason: format!("expected [N, T, {w}], got {:?}", t.shape()) });
            }
        }
        let self_attention = query.id() == key.id() && key.id() == value.id();
        if !self.batch_first {
            let first = |t: &Tensor| t.permute(&[1, 0, 2]);
            let mut out = self.attend_batch_first(&first(query)?, &first(key)?, &first(value)?, key_padding_mask, attn_mask, self_attention)?;
            out.output = out.output.permute(&[1, 0, 2])?;
            return Ok(out);
        }
        self.attend_batch_first(query, key, value, key_padding_mask, attn_mask, self_attention)
    }

    /// Causal self-attention continued: the positions `x` [N, T, E] (batch
    /// first) join those `seen` before, and attend to all of them.
    pub fn attend_next(&self, x: &Tensor, seen: &mut Option<Tensor>) -> Result<Tensor> {
        let kv = match seen.take() {
            Some(before) => Tensor::concat(&[before, x.clone()], 1)?,
            None => x.clone(),
        };
        *seen = Some(kv.clone());
        Ok(self.attend(x, &kv, &kv, None, None)?.output)
    }

    fn attend_batch_first(
        &self,
        query: &Tensor,
        key: &Tensor,
        value: &Tensor,
        key_padding_mask: Option<&Tensor>,
        attn_mask: Option<&Tensor>,
        self_attention: bool,
    ) -> Result<AttentionOutput> {
        let e = self.embed_dim;
        let (n, l, s) = (query.shape()[0], query.shape()[1], key.shape()[1]);
        let plain = self.bias_kv.is_none() && !self.add_zero_attn;
        let (q, k, v) = match (&self.projection, &self.in_proj_bias) {
            (Projection::Packed(w), Some(b)) if self_attention && plain => {
                // Self-attention: one product by the packed weight projects all
                // three (one kernel forward, two backward instead of three and six),
                // and the heads are views of its column blocks.
                // Their gradients meet again in one concat along the [N, T, 3,
                // heads, width] axis they are cut from, read in place.
                let packed = query.matmul_bias(&w.get().t()?, &b.get())?.reshape(&[n, l, 3, self.heads, e / self.heads])?;
                let part = |i: usize| packed.narrow(2, i, 1)?.reshape(&[n, l, self.heads, e / self.heads])?.permute(&[0, 2, 1, 3]);
                (part(0)?, part(1)?, part(2)?)
            }
            _ => {
                let (mut k, mut v) = (self.project(key, 1)?, self.project(value, 2)?);
                if let Some((bk, bv)) = &self.bias_kv {
                    k = Tensor::concat(&[k, bk.get().broadcast_to(&[n, 1, e])?], 1)?;
                    v = Tensor::concat(&[v, bv.get().broadcast_to(&[n, 1, e])?], 1)?;
                }
                let (mut k, mut v) = (self.split_heads(&k)?, self.split_heads(&v)?);
                if self.add_zero_attn {
                    let zeros = Tensor::zeros(&[n, self.heads, 1, e / self.heads], &query.device())?;
                    k = Tensor::concat(&[k, zeros.clone()], 2)?;
                    v = Tensor::concat(&[v, zeros], 2)?;
                }
                (self.split_heads(&self.project(query, 0)?)?, k, v)
            }
        };
        // Keys appended after the sequence are never masked.
        let extra = k.shape()[2] - s;
        let widen = |m: &Tensor| if extra == 0 { Ok(m.clone()) } else { m.pad(&[(0, 0), (0, extra)]) };
        let s = s + extra;
        let mut scores = q.matmul_scaled(&k.t()?, 1.0 / ((e / self.heads) as f32).sqrt())?;
        let neg_inf = Tensor::scalar(f32::NEG_INFINITY, &query.device())?;
        if let Some(m) = key_padding_mask {
            scores = widen(m)?.reshape(&[n, 1, 1, s])?.where_(&neg_inf, &scores)?;
        }
        if let Some(m) = attn_mask {
            scores = widen(m)?.reshape(&[1, 1, l, s])?.where_(&neg_inf, &scores)?;
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
        let mut out = match &self.projection {
            Projection::Packed(w) => vec![("in_proj_weight".to_string(), w.clone())],
            Projection::Separate { q, k, v } => {
                vec![("q_proj_weight".to_string(), q.clone()), ("k_proj_weight".to_string(), k.clone()), ("v_proj_weight".to_string(), v.clone())]
            }
        };
        out.extend(self.in_proj_bias.iter().map(|b| ("in_proj_bias".to_string(), b.clone())));
        if let Some((bk, bv)) = &self.bias_kv {
            out.extend([("bias_k".to_string(), bk.clone()), ("bias_v".to_string(), bv.clone())]);
        }
        out.extend(prefixed("out_proj", self.out_proj.parameters()));
        out
    }
}
