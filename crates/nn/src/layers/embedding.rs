//! Lookup table (torch.nn.Embedding): `weight` [num, dim], default init N(0, 1).
//! `padding_idx` names a row that starts at zero and gets no gradient;
//! `max_norm` rescales, before each lookup, every row it reads whose norm
//! exceeds it (in place, as torch does).

use nnlab_core::{Device, Error, Result, Tensor, no_grad};

use crate::{Module, Param};

pub struct Embedding {
    pub weight: Param,
    /// The row that gets no gradient, in [0, num).
    pub padding_idx: Option<usize>,
    pub max_norm: Option<f32>,
}

impl Embedding {
    pub fn new(num: usize, dim: usize, seed: u64, stream: u32, device: &Device) -> Result<Embedding> {
        Ok(Embedding { weight: Param::new(Tensor::randn(&[num, dim], 0.0, 1.0, seed, stream, device)?), padding_idx: None, max_norm: None })
    }

    /// torch.nn.Embedding(num, dim, padding_idx, max_norm); a negative
    /// `padding_idx` counts from the end, as in torch.
    pub fn with(num: usize, dim: usize, padding_idx: Option<i64>, max_norm: Option<f32>, seed: u64, stream: u32, device: &Device) -> Result<Embedding> {
        let padding_idx = padding_idx
            .map(|p| {
                let row = if p < 0 { num as i64 + p } else { p };
                usize::try_from(row)
                    .ok()
                    .filter(|&r| r < num)
                    .ok_or_else(|| Error::InvalidArgument { op: "Embedding", reason: format!("padding_idx {p} is outside the {num} rows") })
            })
            .transpose()?;
        let mut e = Embedding::new(num, dim, seed, stream, device)?;
        if let Some(row) = padding_idx {
            let keep: Vec<f32> = (0..num).map(|r| (r != row) as u8 as f32).collect();
            e.weight.set(e.weight.get().mul(&Tensor::from_vec(keep, &[num, 1], device)?)?);
        }
        (e.padding_idx, e.max_norm) = (padding_idx, max_norm);
        Ok(e)
    }

    /// Rescales the rows that `idx` reads to norms of at most `max_norm`
    /// (torch's embedding_renorm_: by max_norm / (norm + 1e-7)).
    fn renorm(&self, idx: &Tensor, max_norm: f32) -> Result<()> {
        let _g = no_grad();
        let w = self.weight.get();
        let read = Tensor::one_hot(idx, w.shape()[0])?.sum(&[0], false)?.reshape(&[w.shape()[0], 1])?;
        let norm = w.square()?.sum(&[-1], true)?.sqrt()?;
        let too_long = norm.gt(&Tensor::scalar(max_norm, &w.device())?)?.mul(&read.gt(&Tensor::scalar(0.0, &w.device())?)?)?;
        let scale = too_long.where_(&norm.add_scalar(1e-7)?.recip()?.mul_scalar(max_norm)?, &Tensor::ones(norm.shape(), &w.device())?)?;
        self.weight.set(w.mul(&scale)?);
        Ok(())
    }
}

impl Module for Embedding {
    /// Indices of any shape (whole numbers) -> the same shape plus [dim].
    fn forward(&self, idx: &Tensor) -> Result<Tensor> {
        let flat = idx.reshape(&[idx.numel()])?;
        if let Some(max_norm) = self.max_norm {
            self.renorm(&flat, max_norm)?;
        }
        let w = self.weight.get();
        let mut rows = w.index_select(0, &flat)?;
        if let Some(row) = self.padding_idx {
            // The padding row's lookups pass its value but no gradient.
            let padded = flat.eq(&Tensor::scalar(row as f32, &w.device())?)?.reshape(&[idx.numel(), 1])?;
            rows = padded.where_(&rows.detach(), &rows)?;
        }
        let shape: Vec<usize> = idx.shape().iter().copied().chain([w.shape()[1]]).collect();
        rows.reshape(&shape)
    }

    /// Acts on each position alone.
    fn forward_token(&self, x: &Tensor, _carry: &mut crate::Carry) -> Result<Tensor> {
        self.forward(x)
    }
    fn parameters(&self) -> Vec<(String, Param)> {
        vec![("weight".to_string(), self.weight.clone())]
    }
}
