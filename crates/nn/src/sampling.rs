//! Repeated random sampling (RS2, Okanovic et al. 2023): each epoch trains on a
//! fresh random subset of the training set, drawn without replacement across
//! epochs, so every example is seen before any is repeated.

use crate::datasets::Rng;

pub struct Rs2Sampler {
    n: usize,
    subset: usize,
    order: Vec<usize>,
    pos: usize,
    rng: Rng,
    seed: u64,
    /// The one subset every epoch uses, when the subset is fixed (the
    /// baseline RS2 is compared with): drawn once from the seed.
    fixed: Option<Vec<usize>>,
}

/// Where a sampler or an epoch stands: the generator's counter, the current
/// order and the position in it. Restoring it continues the same sequence.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct OrderState {
    pub counter: u32,
    pub order: Vec<usize>,
    pub pos: usize,
}

impl Rs2Sampler {
    /// Subsets of `ratio` (0, 1] of `n` examples per epoch.
    pub fn new(n: usize, ratio: f32, seed: u64) -> Rs2Sampler {
        let subset = ((n as f32 * ratio.clamp(0.0, 1.0)).round() as usize).clamp(1, n.max(1));
        Rs2Sampler { n, subset, order: Vec::new(), pos: n, rng: Rng::new(seed), seed, fixed: None }
    }

    /// The same subset of `ratio` of `n` examples in every epoch, in a fresh
    /// order each time.
    pub fn fixed(n: usize, ratio: f32, seed: u64) -> Rs2Sampler {
        let mut s = Rs2Sampler::new(n, ratio, seed);
        let mut all: Vec<usize> = (0..n).collect();
        Rng::new(seed ^ 0x6669_7865).shuffle(&mut all);
        all.truncate(s.subset);
        s.fixed = Some(all);
        s
    }

    pub fn state(&self) -> OrderState {
        OrderState { counter: self.rng.counter(), order: self.order.clone(), pos: self.pos }
    }

    /// Continues from `state` (indices at or above `n` are dropped).
    pub fn restore(&mut self, state: &OrderState) {
        self.rng = Rng::resume(self.seed, state.counter);
        self.order = state.order.iter().copied().filter(|&i| i < self.n).collect();
        // An order that is not a whole epoch's (a tampered state) is treated
        // as used up, so the next epoch draws a fresh one.
        self.pos = if self.order.len() == self.n { state.pos.min(self.n) } else { self.n };
    }

    /// The example indices of the next epoch.
    pub fn next_epoch(&mut self) -> Vec<usize> {
        if let Some(kept) = &self.fixed {
            let mut out = kept.clone();
            self.rng.shuffle(&mut out);
            return out;
        }
        let mut out = Vec::with_capacity(self.subset);
        while out.len() < self.subset && self.n > 0 {
            if self.pos >= self.n {
                self.order = (0..self.n).collect();
                self.rng.shuffle(&mut self.order);
                self.pos = 0;
            }
            let take = (self.subset - out.len()).min(self.n - self.pos);
            out.extend_from_slice(&self.order[self.pos..self.pos + take]);
            self.pos += take;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::Rs2Sampler;

    #[test]
    fn epochs_cover_everything_before_repeating() {
        let mut s = Rs2Sampler::new(10, 0.3, 1);
        let mut seen: Vec<usize> = (0..3).flat_map(|_| s.next_epoch()).collect();
        assert_eq!(seen.len(), 9);
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 9, "no repeats within one pass");
    }

    #[test]
    fn a_fixed_subset_repeats_in_a_new_order() {
        let mut s = Rs2Sampler::fixed(100, 0.2, 3);
        let (a, b) = (s.next_epoch(), s.next_epoch());
        assert_eq!(a.len(), 20);
        assert_ne!(a, b, "reshuffled");
        let (mut a, mut b) = (a, b);
        a.sort();
        b.sort();
        assert_eq!(a, b, "the same examples");
    }
}
