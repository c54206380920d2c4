//! Training a random subset of the scalar parameters: after every step the
//! entries outside the subset are put back to their initial values, so only
//! the chosen ones ever change. This is the control run of Frankle et al.,
//! "Training BatchNorm and Only BatchNorm" (2021): as many parameters as
//! BatchNorm has, chosen at random from the whole network.

use nnlab_core::{Error, Result, Tensor, no_grad};

use crate::Param;
use crate::datasets::Rng;

pub struct RandomSubset {
    /// Each parameter with a subset entry: its 0/1 mask and its initial values.
    parts: Vec<(Param, Tensor, Tensor)>,
}

impl RandomSubset {
    /// Chooses `count` of the scalar entries of `params`, uniformly without
    /// replacement from `seed`, and remembers every other entry's value.
    pub fn new(params: &[Param], count: usize, seed: u64) -> Result<RandomSubset> {
        let sizes: Vec<usize> = params.iter().map(|p| p.get().numel()).collect();
        let total: usize = sizes.iter().sum();
        if count == 0 || count > total {
            return Err(Error::InvalidArgument { op: "train_random", reason: format!("{count} parameters asked for; the trained tensors hold {total}") });
        }
        let mut order: Vec<usize> = (0..total).collect();
        let mut rng = Rng::new(seed);
        rng.shuffle(&mut order);
        let mut chosen = vec![0.0f32; total];
        for &i in &order[..count] {
            chosen[i] = 1.0;
        }
        let mut parts = Vec::new();
        let mut offset = 0;
        for (p, n) in params.iter().zip(sizes) {
            let mask = &chosen[offset..offset + n];
            offset += n;
            if mask.iter().all(|&m| m == 1.0) {
                continue;
            }
            let w = p.get();
            parts.push((p.clone(), Tensor::from_vec(mask.to_vec(), w.shape(), &w.device())?, w.copy()?));
        }
        Ok(RandomSubset { parts })
    }

    /// Puts the entries outside the subset back (call after every optimizer step).
    pub fn apply(&self) -> Result<()> {
        let _g = no_grad();
        for (p, mask, initial) in &self.parts {
            p.set(initial.add(&p.get().sub(initial)?.mul(mask)?)?);
        }
        Ok(())
    }
}
