//! Mini-batches as contiguous slices of a per-epoch upload: each epoch the
//! trainer uploads its examples once, in a freshly shuffled (or subsampled)
//! order, and every step narrows the next `batch` rows out of it, which costs
//! no copy on either backend. The order and the position are kept, so a
//! restored trainer continues with the very batches it would have drawn.

use nnlab_core::{Result, Tensor};

use crate::datasets::Rng;
use crate::sampling::OrderState;

pub struct EpochBatches {
    seed: u64,
    rng: Rng,
    /// This epoch's example order, and its inputs and targets uploaded in
    /// that order (batch axis first) once a step needs them.
    order: Vec<usize>,
    epoch: Option<(Tensor, Tensor)>,
    pos: usize,
}

impl EpochBatches {
    pub fn new(seed: u64) -> EpochBatches {
        EpochBatches { seed, rng: Rng::new(seed), order: Vec::new(), epoch: None, pos: 0 }
    }

    /// The next `batch` examples (fewer at the end of an epoch). When the epoch
    /// is used up, `new_order` draws the next epoch's order with the shuffling
    /// RNG; `upload` puts an order's examples on the device.
    pub fn next(
        &mut self,
        batch: usize,
        new_order: impl FnOnce(&mut Rng) -> Vec<usize>,
        upload: impl FnOnce(&[usize]) -> Result<(Tensor, Tensor)>,
    ) -> Result<(Tensor, Tensor)> {
        if self.pos >= self.order.len() {
            self.order = new_order(&mut self.rng);
            self.epoch = None;
            self.pos = 0;
        }
        if self.epoch.is_none() {
            self.epoch = Some(upload(&self.order)?);
        }
        let (x, y) = self.epoch.as_ref().expect("epoch uploaded above");
        let take = batch.min(x.shape()[0].saturating_sub(self.pos));
        let out = (x.narrow(0, self.pos, take)?, y.narrow(0, self.pos, take)?);
        self.pos += take;
        Ok(out)
    }

    pub fn state(&self) -> OrderState {
        OrderState { counter: self.rng.counter(), order: self.order.clone(), pos: self.pos }
    }

    /// Continues from `state`; indices at or above `n` (the training set's
    /// size) are dropped, so a tampered state cannot index past the data.
    pub fn restore(&mut self, state: &OrderState, n: usize) {
        self.rng = Rng::resume(self.seed, state.counter);
        self.order = state.order.iter().copied().filter(|&i| i < n).collect();
        self.pos = state.pos.min(self.order.len());
        self.epoch = None;
    }
}
