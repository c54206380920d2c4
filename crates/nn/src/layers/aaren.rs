//! Attention as an RNN (Aaren; Feng et al. 2024, "Attention as an RNN"):
//! attention of a learned query over the prefix x_1..x_k, for every k. Trained
//! in parallel with prefix sums; run token by token with constant memory
//! (running max m, normaliser u, weighted value sum w).
//!
//! Parallel mode shifts all scores of a sequence by its largest score before
//! exponentiating; every prefix ratio is unchanged by the shift. So that no
//! prefix sum can underflow to zero, scores are soft-capped to (-30, 30)
//! (30 tanh(s / 30), as Gemma 2 caps logits): shifted scores then stay above
//! -60, and exp(-60) is a normal f32. Both modes use the capped scores.

use std::cell::Cell;

use nnlab_core::{Device, Error, Result, Tensor};

use crate::init::Init;
use crate::layers::prefixed;
use crate::{Carry, Inference, Linear, Module, Param, ProbeKind, Probes};

/// Scores lie in (-SCORE_CAP, SCORE_CAP).
pub const SCORE_CAP: f32 = 30.0;

pub struct Aaren {
    pub dim: usize,
    pub query: Param,
    pub key: Linear,
    pub value: Linear,
    pub out: Linear,
    /// Evaluation runs token by token (`Inference::Recurrent`).
    recurrent: Cell<bool>,
}

/// Recurrent state for a batch: m [N, 1], u [N, 1], w [N, dim].
pub struct AarenState {
    pub m: Tensor,
    pub u: Tensor,
    pub w: Tensor,
}

impl Aaren {
    pub fn new(dim: usize, seed: u64, stream: u32, device: &Device) -> Result<Aaren> {
        if dim == 0 {
            return Err(Error::InvalidArgument { op: "Aaren", reason: "dim must be >= 1".into() });
        }
        let s = stream.wrapping_mul(8);
        Ok(Aaren {
            dim,
            query: Param::new(Tensor::randn(&[dim], 0.0, 1.0 / (dim as f32).sqrt(), seed, s, device)?),
            key: Linear::new(dim, dim, true, Init::TorchDefault, seed, s + 1, device)?,
            value: Linear::new(dim, dim, true, Init::TorchDefault, seed, s + 2, device)?,
            out: Linear::new(dim, dim, true, Init::TorchDefault, seed, s + 3, device)?,
            recurrent: Cell::new(false),
        })
    }

    /// Capped scores 30 tanh(q . k / (30 sqrt(dim))) for x [..., dim] -> [..., 1].
    fn scores(&self, x: &Tensor) -> Result<Tensor> {
        let q = self.query.get().reshape(&[self.dim, 1])?;
        self.key.forward(x)?.matmul(&q)?.mul_scalar(1.0 / (SCORE_CAP * (self.dim as f32).sqrt()))?.tanh()?.mul_scalar(SCORE_CAP)
    }

    fn check(&self, x: &Tensor, rank: usize) -> Result<()> {
        if x.rank() != rank || x.shape()[rank - 1] != self.dim {
            return Err(Error::InvalidArgument { op: "Aaren", reason: format!("expected rank {rank} with {} features, got {:?}", self.dim, x.shape()) });
        }
        Ok(())
    }

    /// Parallel mode over x [N, T, dim] -> [N, T, dim].
    pub fn forward_parallel(&self, x: &Tensor) -> Result<Tensor> {
        self.check(x, 3)?;
        let s = self.scores(x)?; // [N, T, 1]
        let shift = s.max(&[1], true)?.detach();
        let e = s.sub(&shift)?.exp()?;
        let u = e.cumsum(1)?;
        let w = e.mul(&self.value.forward(x)?)?.cumsum(1)?;
        self.out.forward(&w.div(&u)?)
    }

    /// The attention weights of every prefix, [N, 1, T, T]: row k holds the
    /// weights of x_1..x_k in the output at step k (one head; zero above the
    /// diagonal), the same normalised exponentials as `forward_parallel`.
    pub fn prefix_weights(&self, x: &Tensor) -> Result<Tensor> {
        self.check(x, 3)?;
        let (n, t) = (x.shape()[0], x.shape()[1]);
        let s = self.scores(x)?;
        let e = s.sub(&s.max(&[1], true)?)?.exp()?; // [N, T, 1]
        let u = e.cumsum(1)?;
        let lower: Vec<f32> = (0..t * t).map(|k| ((k % t) <= (k / t)) as u8 as f32).collect();
        let lower = Tensor::from_vec(lower, &[1, t, t], &x.device())?;
        e.reshape(&[n, 1, t])?.mul(&lower)?.div(&u)?.reshape(&[n, 1, t, t])
    }

    /// Recurrent mode over a whole sequence x [N, T, dim] -> [N, T, dim]: one
    /// `step` per token, holding only the state (dim + 2 numbers per
    /// sequence). On a GPU the steps run inside one kernel
    /// (`Tensor::attention_scan`, the same state arithmetic) after the scores
    /// and values of all tokens, instead of a handful of dispatches per token.
    pub fn forward_recurrent(&self, x: &Tensor) -> Result<Tensor> {
        self.check(x, 3)?;
        let (n, t) = (x.shape()[0], x.shape()[1]);
        if let Device::Gpu(_) = x.device() {
            let s = self.scores(x)?.reshape(&[n, t])?;
            return self.out.forward(&Tensor::attention_scan(&s, &self.value.forward(x)?)?);
        }
        let mut state = self.initial_state(n, &x.device())?;
        let mut outputs = Vec::with_capacity(t);
        for k in 0..t {
            let (y, next) = self.step(&x.narrow(1, k, 1)?.reshape(&[n, self.dim])?, &state)?;
            outputs.push(y.reshape(&[n, 1, self.dim])?);
            state = next;
        }
        Tensor::concat(&outputs, 1)
    }

    pub fn initial_state(&self, batch: usize, device: &Device) -> Result<AarenState> {
        Ok(AarenState {
            m: Tensor::full(f32::NEG_INFINITY, &[batch, 1], device)?,
            u: Tensor::zeros(&[batch, 1], device)?,
            w: Tensor::zeros(&[batch, self.dim], device)?,
        })
    }

    /// Recurrent mode: one token x_t [N, dim] -> (output [N, dim], next state).
    pub fn step(&self, x: &Tensor, state: &AarenState) -> Result<(Tensor, AarenState)> {
        self.check(x, 2)?;
        let s = self.scores(x)?; // [N, 1]
        let m = state.m.maximum(&s)?;
        let decay = state.m.sub(&m)?.exp()?;
        let fresh = s.sub(&m)?.exp()?;
        let u = state.u.mul(&decay)?.add(&fresh)?;
        let w = state.w.mul(&decay)?.add(&fresh.mul(&self.value.forward(x)?)?)?;
        Ok((self.out.forward(&w.div(&u)?)?, AarenState { m, u, w }))
    }
}

impl Module for Aaren {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if self.recurrent.get() { self.forward_recurrent(x) } else { self.forward_parallel(x) }
    }

    fn set_inference(&self, mode: Inference) -> Result<()> {
        self.recurrent.set(mode == Inference::Recurrent);
        Ok(())
    }

    /// One `step`; the carry holds m, u and w.
    fn forward_token(&self, x: &Tensor, carry: &mut Carry) -> Result<Tensor> {
        self.check(x, 3)?;
        let n = x.shape()[0];
        let state = match &carry.tensors[..] {
            [m, u, w] => AarenState { m: m.clone(), u: u.clone(), w: w.clone() },
            _ => self.initial_state(n, &x.device())?,
        };
        let (y, next) = self.step(&x.reshape(&[n, self.dim])?, &state)?;
        carry.tensors = vec![next.m, next.u, next.w];
        y.reshape(&[n, 1, self.dim])
    }

    fn probe(&self, x: &Tensor, probes: &mut Probes) -> Result<Tensor> {
        probes.record(ProbeKind::Attention, &self.prefix_weights(x)?);
        self.forward_parallel(x)
    }

    fn parameters(&self) -> Vec<(String, Param)> {
        let mut out = vec![("query".to_string(), self.query.clone())];
        out.extend(prefixed("key", self.key.parameters()));
        out.extend(prefixed("value", self.value.parameters()));
        out.extend(prefixed("out", self.out.parameters()));
        out
    }
}
