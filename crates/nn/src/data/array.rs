//! The container every dataset in [`crate::data`] returns: examples stored flat,
//! with a per-example shape for inputs and targets, and a seeded train/test split.

use nnlab_core::{Error, Result};

use crate::datasets::Rng;

/// Examples stored flat: example i's input is `x[i*x_len..(i+1)*x_len]` with shape
/// `x_shape` (per example, no batch axis), its target `y[i*y_len..(i+1)*y_len]`
/// with shape `y_shape` (`[]` for one class index or one regression value per
/// example; `[K]` for K per-step targets). `x_len` and `y_len` are the products
/// of the shapes (1 for `[]`).
#[derive(Debug, Clone)]
pub struct ArrayDataset {
    pub x: Vec<f32>,
    pub x_shape: Vec<usize>,
    pub y: Vec<f32>,
    pub y_shape: Vec<usize>,
}

impl ArrayDataset {
    /// Values per example's input (the product of `x_shape`).
    pub fn x_len(&self) -> usize {
        self.x_shape.iter().product()
    }

    /// Values per example's target (the product of `y_shape`; 1 for `[]`).
    pub fn y_len(&self) -> usize {
        self.y_shape.iter().product()
    }

    /// The number of examples.
    pub fn len(&self) -> usize {
        match self.x_len() {
            0 => 0,
            l => self.x.len() / l,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Example `i`'s input and target, or `None` past the end.
    pub fn get(&self, i: usize) -> Option<(&[f32], &[f32])> {
        if i >= self.len() {
            return None;
        }
        let (xl, yl) = (self.x_len(), self.y_len());
        Some((&self.x[i * xl..(i + 1) * xl], &self.y[i * yl..(i + 1) * yl]))
    }

    /// The examples at `idx`, in that order (repeats allowed). Indices past the
    /// end are skipped.
    pub fn subset(&self, idx: &[usize]) -> ArrayDataset {
        let (xl, yl, n) = (self.x_len(), self.y_len(), self.len());
        let kept = idx.iter().filter(|&&i| i < n);
        let mut x = Vec::with_capacity(idx.len() * xl);
        let mut y = Vec::with_capacity(idx.len() * yl);
        for &i in kept {
            x.extend_from_slice(&self.x[i * xl..(i + 1) * xl]);
            y.extend_from_slice(&self.y[i * yl..(i + 1) * yl]);
        }
        ArrayDataset { x, x_shape: self.x_shape.clone(), y, y_shape: self.y_shape.clone() }
    }
}

/// What the targets are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Class indices 0..n stored as f32 whole numbers.
    Classes(usize),
    /// Real-valued targets.
    Regression,
}

#[derive(Debug, Clone)]
pub struct Splits {
    pub train: ArrayDataset,
    pub test: ArrayDataset,
    pub target: Target,
}

/// The number of training examples out of `n` for `train_ratio`:
/// `round(n * train_ratio)`, at least 1, and at most `n - 1` when the ratio is
/// below 1 (so the test set is not empty). A ratio of 1 trains on everything.
/// Out-of-range or NaN ratios are clamped into [0, 1] first.
pub fn train_count(n: usize, train_ratio: f32) -> usize {
    if n == 0 {
        return 0;
    }
    let r = if train_ratio.is_nan() { 0.0 } else { train_ratio.clamp(0.0, 1.0) };
    let upper = if r < 1.0 && n > 1 { n - 1 } else { n };
    ((n as f64 * r as f64).round() as usize).clamp(1, upper)
}

/// Philox key offset for the split's shuffle, so it draws from a stream of its
/// own and does not reuse the words the generator of the examples drew from the
/// same seed.
const SPLIT_KEY: u64 = 0x9e37_79b9_7f4a_7c15;

/// Shuffles the examples with `seed` and puts the first [`train_count`] of them
/// in `train`, the rest in `test`. Never panics: a ratio outside (0, 1] is
/// clamped (the dataset functions validate it first with [`check_ratio`]).
pub fn split(all: ArrayDataset, target: Target, train_ratio: f32, seed: u64) -> Splits {
    let n = all.len();
    let mut order: Vec<usize> = (0..n).collect();
    Rng::new(seed ^ SPLIT_KEY).shuffle(&mut order);
    let k = train_count(n, train_ratio);
    Splits { train: all.subset(&order[..k]), test: all.subset(&order[k..]), target }
}

/// `Ok` for a train ratio in (0, 1]; `InvalidArgument` naming `op` otherwise.
pub fn check_ratio(op: &'static str, train_ratio: f32) -> Result<()> {
    if train_ratio > 0.0 && train_ratio <= 1.0 {
        Ok(())
    } else {
        Err(Error::InvalidArgument { op, reason: format!("train_ratio must be in (0, 1], got {train_ratio}") })
    }
}

/// `Ok` for a positive count; `InvalidArgument` naming `op` and `what` for 0.
pub fn check_positive(op: &'static str, what: &str, value: usize) -> Result<()> {
    if value > 0 { Ok(()) } else { Err(Error::InvalidArgument { op, reason: format!("{what} must be at least 1, got 0") }) }
}

/// The number of values `dims` multiply to, or `InvalidArgument` naming `op`
/// when that does not fit in memory's address space (so a huge request fails
/// here rather than panicking in an allocation).
pub fn check_size(op: &'static str, dims: &[usize]) -> Result<usize> {
    let limit = isize::MAX as usize / std::mem::size_of::<f32>();
    dims.iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|&total| total <= limit)
        .ok_or_else(|| Error::InvalidArgument { op, reason: format!("{dims:?} is too many values") })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy(n: usize) -> ArrayDataset {
        ArrayDataset { x: (0..n * 6).map(|v| v as f32).collect(), x_shape: vec![2, 3], y: (0..n).map(|v| v as f32).collect(), y_shape: vec![] }
    }

    #[test]
    fn array_dataset_len_get_and_subset() {
        let d = toy(5);
        assert_eq!((d.len(), d.x_len(), d.y_len()), (5, 6, 1));
        assert!(!d.is_empty());
        assert_eq!(d.get(2), Some((&d.x[12..18], &d.y[2..3])));
        assert_eq!(d.get(5), None);
        let s = d.subset(&[4, 0, 4, 99]);
        assert_eq!(s.len(), 3);
        assert_eq!(s.y, vec![4.0, 0.0, 4.0]);
        assert_eq!(&s.x[6..12], &d.x[0..6]);
        assert!(d.subset(&[]).is_empty());
    }

    #[test]
    fn split_is_a_seeded_partition() {
        let s = split(toy(100), Target::Regression, 0.7, 3);
        assert_eq!((s.train.len(), s.test.len()), (70, 30));
        let mut ys: Vec<f32> = s.train.y.iter().chain(&s.test.y).copied().collect();
        // Each example keeps its own input.
        for d in [&s.train, &s.test] {
            for i in 0..d.len() {
                let (x, y) = d.get(i).unwrap();
                assert_eq!(x[0], y[0] * 6.0);
            }
        }
        ys.sort_by(f32::total_cmp);
        assert_eq!(ys, (0..100).map(|v| v as f32).collect::<Vec<_>>());
        assert_eq!(split(toy(100), Target::Regression, 0.7, 3).train.y, s.train.y);
        assert_ne!(split(toy(100), Target::Regression, 0.7, 4).train.y, s.train.y);
        assert_ne!(s.train.y, (0..70).map(|v| v as f32).collect::<Vec<_>>(), "shuffled");
    }

    #[test]
    fn train_count_and_ratio_checks() {
        assert_eq!(train_count(10, 0.5), 5);
        assert_eq!(train_count(10, 0.01), 1);
        assert_eq!(train_count(10, 0.99), 9);
        assert_eq!(train_count(10, 1.0), 10);
        assert_eq!(train_count(1, 0.5), 1);
        assert_eq!(train_count(0, 0.5), 0);
        assert_eq!(train_count(10, f32::NAN), 1);
        assert!(check_ratio("t", 0.5).is_ok() && check_ratio("t", 1.0).is_ok());
        for bad in [0.0, -0.1, 1.5, f32::NAN, f32::INFINITY] {
            assert!(matches!(check_ratio("t", bad), Err(Error::InvalidArgument { op: "t", .. })), "{bad}");
        }
        assert!(check_positive("t", "n", 0).is_err() && check_positive("t", "n", 1).is_ok());
        assert_eq!(check_size("t", &[3, 4, 5]), Ok(60));
        assert!(check_size("t", &[usize::MAX, 2]).is_err());
        assert!(check_size("t", &[usize::MAX / 2]).is_err());
    }
}
