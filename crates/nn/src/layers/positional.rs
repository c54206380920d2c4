//! Positional encodings added to [N, T, d] inputs: the fixed sinusoids of
//! Vaswani et al. (2017) and a learned table (`weight` [max_len, d], N(0, 0.02)).

use nnlab_core::{Device, Error, Result, Tensor};

use crate::{Carry, Module, Param};

/// `x` [N, 1, d] plus row `carry.position` of `table`, counting the token.
fn add_at_position(x: &Tensor, table: &Tensor, carry: &mut Carry, op: &'static str) -> Result<Tensor> {
    let (max_len, d) = (table.shape()[0], table.shape()[1]);
    check(x, max_len, d, op)?;
    if carry.position >= max_len {
        return Err(Error::InvalidArgument { op, reason: format!("the sequence is longer than its maxLen of {max_len} positions") });
    }
    let y = x.add(&table.narrow(0, carry.position, 1)?)?;
    carry.position += 1;
    Ok(y)
}

fn check(x: &Tensor, max_len: usize, d: usize, op: &'static str) -> Result<usize> {
    if x.rank() != 3 || x.shape()[2] != d || x.shape()[1] > max_len {
        return Err(Error::InvalidArgument { op, reason: format!("expected [N, T <= {max_len}, {d}], got {:?}", x.shape()) });
    }
    Ok(x.shape()[1])
}

pub struct SinusoidalPositionalEncoding {
    table: Tensor,
}

impl SinusoidalPositionalEncoding {
    /// pe[t, 2i] = sin(t / 10000^(2i/d)), pe[t, 2i+1] = cos(t / 10000^(2i/d)).
    pub fn new(max_len: usize, d: usize, device: &Device) -> Result<Self> {
        let mut pe = vec![0.0f32; max_len * d];
        for t in 0..max_len {
            for j in 0..d {
                let angle = t as f64 / 10000f64.powf((j - j % 2) as f64 / d as f64);
                pe[t * d + j] = if j % 2 == 0 { angle.sin() } else { angle.cos() } as f32;
            }
        }
        Ok(SinusoidalPositionalEncoding { table: Tensor::from_vec(pe, &[max_len, d], device)? })
    }
}

impl Module for SinusoidalPositionalEncoding {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (max_len, d) = (self.table.shape()[0], self.table.shape()[1]);
        let t = check(x, max_len, d, "sinusoidal positional encoding")?;
        x.add(&self.table.narrow(0, 0, t)?)
    }

    fn forward_token(&self, x: &Tensor, carry: &mut Carry) -> Result<Tensor> {
        add_at_position(x, &self.table, carry, "sinusoidal positional encoding")
    }

    fn parameters(&self) -> Vec<(String, Param)> {
        Vec::new()
    }
}

pub struct LearnedPositionalEncoding {
    pub weight: Param,
}

impl LearnedPositionalEncoding {
    pub fn new(max_len: usize, d: usize, seed: u64, stream: u32, device: &Device) -> Result<Self> {
        Ok(LearnedPositionalEncoding { weight: Param::new(Tensor::randn(&[max_len, d], 0.0, 0.02, seed, stream, device)?) })
    }
}

impl Module for LearnedPositionalEncoding {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let w = self.weight.get();
        let t = check(x, w.shape()[0], w.shape()[1], "learned positional encoding")?;
        x.add(&w.narrow(0, 0, t)?)
    }

    fn forward_token(&self, x: &Tensor, carry: &mut Carry) -> Result<Tensor> {
        add_at_position(x, &self.weight.get(), carry, "learned positional encoding")
    }

    fn parameters(&self) -> Vec<(String, Param)> {
        vec![("weight".to_string(), self.weight.clone())]
    }
}
