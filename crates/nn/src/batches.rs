//! Mini-batches as contiguous slices of a per-epoch upload: each epoch the
//! trainer uploads its examples once, in a freshly shuffled (or subsampled)
//! order, and every step narrows the next `batch` rows out of it, which costs
//! no copy on either backend.

use nnlab_core::{Result, Tensor};

use crate::datasets::Rng;

pub struct EpochBatches {
    rng: Rng,
    /// This epoch's inputs and targets, batch axis first.
    epoch: Option<(Tensor, Tensor)>,
    pos: usize,
}

impl EpochBatches {
    pub fn new(seed: u64) -> EpochBatches {
        EpochBatches { rng: Rng::new(seed), epoch: None, pos: 0 }
    }

    /// The next `batch` examples (fewer at the end of an epoch). When the epoch
    /// is used up, `new_epoch` uploads the next one; it gets the shuffling RNG.
    pub fn next(&mut self, batch: usize, new_epoch: impl FnOnce(&mut Rng) -> Result<(Tensor, Tensor)>) -> Result<(Tensor, Tensor)> {
        let len = self.epoch.as_ref().map_or(0, |(x, _)| x.shape()[0]);
        if self.pos >= len {
            self.epoch = Some(new_epoch(&mut self.rng)?);
            self.pos = 0;
        }
        let (x, y) = self.epoch.as_ref().expect("epoch uploaded above");
        let take = batch.min(x.shape()[0] - self.pos);
        let out = (x.narrow(0, self.pos, take)?, y.narrow(0, self.pos, take)?);
        self.pos += take;
        Ok(out)
    }
}
