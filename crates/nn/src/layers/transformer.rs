//! torch.nn.TransformerEncoderLayer (batch-first): self-attention and a
//! two-layer feed-forward block, each with a residual connection and layer
//! norm, either after the residual (post-norm, PyTorch's default) or before the
//! block (pre-norm, `norm_first`).

use nnlab_core::{Device, Result, Tensor};

use crate::init::Init;
use crate::layers::{Dropout, LayerNorm, MultiheadAttention, prefixed};
use crate::{Activation, Linear, Module, Param};

pub struct TransformerEncoderLayer {
    pub self_attn: MultiheadAttention,
    pub linear1: Linear,
    pub linear2: Linear,
    pub norm1: LayerNorm,
    pub norm2: LayerNorm,
    pub activation: Activation,
    pub norm_first: bool,
    dropouts: [Dropout; 3],
}

impl TransformerEncoderLayer {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        d_model: usize,
        heads: usize,
        ff: usize,
        dropout: f32,
        activation: Activation,
        norm_first: bool,
        seed: u64,
        stream: u32,
        device: &Device,
    ) -> Result<Self> {
        let s = stream.wrapping_mul(16);
        Ok(TransformerEncoderLayer {
            self_attn: MultiheadAttention::new(d_model, heads, seed, s, device)?,
            linear1: Linear::new(d_model, ff, true, Init::TorchDefault, seed, s + 2, device)?,
            linear2: Linear::new(ff, d_model, true, Init::TorchDefault, seed, s + 3, device)?,
            norm1: LayerNorm::new(d_model, device)?,
            norm2: LayerNorm::new(d_model, device)?,
            activation,
            norm_first,
            dropouts: [
                Dropout::new(dropout, seed ^ (s as u64 + 5))?,
                Dropout::new(dropout, seed ^ (s as u64 + 6))?,
                Dropout::new(dropout, seed ^ (s as u64 + 7))?,
            ],
        })
    }

    /// The attention block's output and its attention weights [N, heads, T, T].
    fn attention_block(&self, x: &Tensor, key_padding_mask: Option<&Tensor>, attn_mask: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        let a = self.self_attn.attend(x, x, x, key_padding_mask, attn_mask)?;
        Ok((self.dropouts[0].forward(&a.output)?, a.head_weights))
    }

    fn feed_forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = self.dropouts[1].forward(&self.activation.apply(&self.linear1.forward(x)?)?)?;
        self.dropouts[2].forward(&self.linear2.forward(&h)?)
    }

    /// `x` [N, T, d_model] with optional masks (1 = masked), as in MultiheadAttention.
    pub fn forward_masked(&self, x: &Tensor, key_padding_mask: Option<&Tensor>, attn_mask: Option<&Tensor>) -> Result<Tensor> {
        Ok(self.forward_attending(x, key_padding_mask, attn_mask)?.0)
    }

    /// Every token attends only to the first `context` tokens: what
    /// `forward_masked` computes with an attention mask that hides the other
    /// keys, without projecting or scoring them (a PFN's context and queries).
    pub fn forward_context(&self, x: &Tensor, context: usize) -> Result<Tensor> {
        self.around_attention(x, |h| {
            let kv = h.narrow(1, 0, context)?;
            self.dropouts[0].forward(&self.self_attn.attend(h, &kv, &kv, None, None)?.output)
        })
    }

    /// The next token x [N, 1, d_model] of a causal layer: it attends to
    /// itself and the tokens in `seen` (what attention read of each,
    /// [N, t, d_model]), which it joins. What `forward_masked` with a causal
    /// mask gives at that position.
    pub fn forward_next(&self, x: &Tensor, seen: &mut Option<Tensor>) -> Result<Tensor> {
        self.around_attention(x, |h| self.dropouts[0].forward(&self.self_attn.attend_next(h, seen)?))
    }

    /// The layer around an attention block `attend` (given what attention
    /// reads: the input, or its norm1 with `norm_first`).
    fn around_attention(&self, x: &Tensor, attend: impl FnOnce(&Tensor) -> Result<Tensor>) -> Result<Tensor> {
        if self.norm_first {
            let x = x.add(&attend(&self.norm1.forward(x)?)?)?;
            x.add(&self.feed_forward(&self.norm2.forward(&x)?)?)
        } else {
            let x = self.norm1.forward(&x.add(&attend(x)?)?)?;
            self.norm2.forward(&x.add(&self.feed_forward(&x)?)?)
        }
    }

    /// `forward_masked`, with the self-attention weights [N, heads, T, T].
    pub fn forward_attending(&self, x: &Tensor, key_padding_mask: Option<&Tensor>, attn_mask: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        if self.norm_first {
            let (a, weights) = self.attention_block(&self.norm1.forward(x)?, key_padding_mask, attn_mask)?;
            let x = x.add(&a)?;
            Ok((x.add(&self.feed_forward(&self.norm2.forward(&x)?)?)?, weights))
        } else {
            let (a, weights) = self.attention_block(x, key_padding_mask, attn_mask)?;
            let x = self.norm1.forward(&x.add(&a)?)?;
            Ok((self.norm2.forward(&x.add(&self.feed_forward(&x)?)?)?, weights))
        }
    }
}

impl Module for TransformerEncoderLayer {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_masked(x, None, None)
    }

    fn parameters(&self) -> Vec<(String, Param)> {
        let mut out = prefixed("self_attn", self.self_attn.parameters());
        out.extend(prefixed("linear1", self.linear1.parameters()));
        out.extend(prefixed("linear2", self.linear2.parameters()));
        out.extend(prefixed("norm1", self.norm1.parameters()));
        out.extend(prefixed("norm2", self.norm2.parameters()));
        out
    }

    fn set_training(&self, training: bool) {
        for d in &self.dropouts {
            d.set_training(training);
        }
    }
}
