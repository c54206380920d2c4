//! Pruning masks that stay applied during training: random masks at
//! initialisation with Erdős-Rényi-Kernel layer densities (Evci et al. 2020,
//! "Rigging the Lottery"), magnitude pruning, and gradual magnitude pruning
//! during training (Narang et al. 2017; the cubic schedule of Zhu and Gupta
//! 2017). Biases and norms (rank < 2) are never pruned.

use nnlab_core::{Error, Result, Tensor, no_grad};

use crate::Param;
use crate::datasets::Rng;

pub struct Pruner {
    /// Each prunable parameter with its 0/1 mask on the parameter's device.
    masks: Vec<(Param, Tensor)>,
    kept: usize,
    total: usize,
    schedule: Option<Gradual>,
}

/// Gradual pruning: from dense at step `start` to `density` at step `end`,
/// masks recomputed from the weights' magnitudes every `every` steps, the
/// density following d + (1 - d) (1 - (t - start) / (end - start))^3.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gradual {
    pub density: f32,
    pub start: u64,
    pub end: u64,
    pub every: u64,
}

impl Gradual {
    /// The density the masks should have after step `t`, if they change then.
    pub fn target(&self, t: u64) -> Option<f32> {
        if t < self.start || t > self.end || (!(t - self.start).is_multiple_of(self.every.max(1)) && t != self.end) {
            return None;
        }
        // A schedule with start = end prunes to `density` at once.
        let left = if self.end == self.start { 0.0 } else { 1.0 - (t - self.start) as f32 / (self.end - self.start) as f32 };
        Some(self.density + (1.0 - self.density) * left.powi(3))
    }

    /// The density in force after step `t`: that of the last change so far.
    pub fn in_force(&self, t: u64) -> f32 {
        if t < self.start {
            return 1.0;
        }
        let last = if t >= self.end { self.end } else { self.start + (t - self.start) / self.every.max(1) * self.every.max(1) };
        self.target(last).unwrap_or(1.0)
    }
}

/// A 0/1 mask keeping at most `keep` of `w`'s largest magnitudes, found on
/// `w`'s device without reading it back: a bisection on the threshold in
/// which every decision is a tensor op. Ties at the threshold are all dropped.
fn magnitude_mask(w: &Tensor, keep: usize) -> Result<Tensor> {
    let n = w.numel();
    let a = w.abs()?.reshape(&[n])?;
    if keep >= n {
        return Tensor::ones(w.shape(), &w.device());
    }
    let dev = w.device();
    let target = Tensor::scalar(keep as f32, &dev)?;
    // Invariant: more than `keep` entries are at least lo; at most `keep` (or
    // every entry equal to the maximum) are at least hi.
    let (mut lo, mut hi) = (Tensor::scalar(0.0, &dev)?, a.max(&[0], false)?);
    for _ in 0..32 {
        let mid = lo.add(&hi)?.mul_scalar(0.5)?;
        let too_many = a.ge(&mid)?.sum_all()?.gt(&target)?;
        lo = too_many.where_(&mid, &lo)?;
        hi = too_many.where_(&hi, &mid)?;
    }
    let mask = a.ge(&hi)?;
    // An all-zero tensor has a threshold of 0, which every entry meets.
    let mask = if keep == 0 { mask.mul_scalar(0.0)? } else { mask.mul(&hi.gt(&Tensor::scalar(0.0, &dev)?)?)? };
    mask.reshape(w.shape())
}

fn prunable(params: &[(String, Param)]) -> Vec<Param> {
    params.iter().filter(|(_, p)| p.get().rank() >= 2).map(|(_, p)| p.clone()).collect()
}

/// How many of `n` weights a density keeps.
fn kept_of(density: f32, n: usize) -> usize {
    (density * n as f32).round() as usize
}

fn check_density(density: f32) -> Result<()> {
    if (0.0..=1.0).contains(&density) {
        Ok(())
    } else {
        Err(Error::InvalidArgument { op: "pruning", reason: format!("density must be in [0, 1], got {density}") })
    }
}

/// ERK densities for the given shapes at overall `density`: each layer's
/// density is proportional to sum(shape) / prod(shape); layers that would pass
/// 1 are kept dense and the others rescaled (RigL's procedure).
pub fn erk_densities(shapes: &[Vec<usize>], density: f32) -> Vec<f32> {
    let numel: Vec<f32> = shapes.iter().map(|s| s.iter().product::<usize>() as f32).collect();
    let raw: Vec<f32> = shapes.iter().zip(&numel).map(|(s, n)| s.iter().sum::<usize>() as f32 / n).collect();
    let mut dense = vec![false; shapes.len()];
    loop {
        let budget: f32 = numel.iter().sum::<f32>() * density - numel.iter().zip(&dense).filter(|(_, d)| **d).map(|(n, _)| n).sum::<f32>();
        let weighted: f32 = raw.iter().zip(&numel).zip(&dense).filter(|(_, d)| !**d).map(|((r, n), _)| r * n).sum();
        let eps = if weighted > 0.0 { budget / weighted } else { 0.0 };
        let over: Vec<usize> = (0..shapes.len()).filter(|&i| !dense[i] && raw[i] * eps > 1.0).collect();
        if over.is_empty() {
            return (0..shapes.len()).map(|i| if dense[i] { 1.0 } else { (raw[i] * eps).clamp(0.0, 1.0) }).collect();
        }
        for i in over {
            dense[i] = true;
        }
    }
}

impl Pruner {
    /// Random masks at initialisation with ERK densities at overall `density`.
    pub fn random_erk(params: &[(String, Param)], density: f32, seed: u64) -> Result<Pruner> {
        check_density(density)?;
        let targets = prunable(params);
        let shapes: Vec<Vec<usize>> = targets.iter().map(|p| p.get().shape().to_vec()).collect();
        let mut rng = Rng::new(seed);
        let chosen = targets
            .into_iter()
            .zip(erk_densities(&shapes, density))
            .map(|(p, d)| {
                let n = p.get().numel();
                let mut order: Vec<usize> = (0..n).collect();
                rng.shuffle(&mut order);
                (p, order, kept_of(d, n))
            })
            .collect();
        Pruner::build(chosen)
    }

    /// Keeps the largest-magnitude fraction `density` of each weight tensor.
    pub async fn magnitude(params: &[(String, Param)], density: f32) -> Result<Pruner> {
        check_density(density)?;
        let mut chosen = Vec::new();
        for p in prunable(params) {
            let values = p.get().to_vec().await?;
            let mut order: Vec<usize> = (0..values.len()).collect();
            order.sort_by(|&a, &b| values[b].abs().total_cmp(&values[a].abs()));
            let keep = kept_of(density, values.len());
            chosen.push((p, order, keep));
        }
        Pruner::build(chosen)
    }

    /// Masks keeping the first `keep` positions of each `order`, applied at once.
    fn build(chosen: Vec<(Param, Vec<usize>, usize)>) -> Result<Pruner> {
        let (mut kept, mut total, mut masks) = (0, 0, Vec::new());
        for (p, order, keep) in chosen {
            let keep = keep.min(order.len());
            let mut mask = vec![0.0; order.len()];
            for &i in &order[..keep] {
                mask[i] = 1.0;
            }
            let w = p.get();
            masks.push((p.clone(), Tensor::from_vec(mask, w.shape(), &w.device())?));
            kept += keep;
            total += order.len();
        }
        let pruner = Pruner { masks, kept, total, schedule: None };
        pruner.apply()?;
        Ok(pruner)
    }

    /// Dense at first, then pruned by magnitude on `schedule` (see [`Gradual`]).
    pub fn gradual(params: &[(String, Param)], schedule: Gradual) -> Result<Pruner> {
        check_density(schedule.density)?;
        if schedule.end < schedule.start || schedule.every == 0 {
            return Err(Error::InvalidArgument { op: "pruning", reason: "gradual pruning needs start <= end and every >= 1".into() });
        }
        let chosen = prunable(params).into_iter().map(|p| {
            let n = p.get().numel();
            (p, (0..n).collect(), n)
        });
        let mut pruner = Pruner::build(chosen.collect())?;
        pruner.schedule = Some(schedule);
        Ok(pruner)
    }

    /// After optimizer step `step` (counted from 1): recomputes the masks if
    /// the schedule prunes then, and zeroes the pruned weights.
    pub fn after_step(&mut self, step: u64) -> Result<()> {
        if let Some(density) = self.schedule.and_then(|g| g.target(step)) {
            self.prune_to(density)?;
        }
        self.apply()
    }

    fn prune_to(&mut self, density: f32) -> Result<()> {
        let _g = no_grad();
        self.kept = 0;
        for (p, mask) in &mut self.masks {
            let w = p.get();
            let keep = kept_of(density, w.numel());
            *mask = magnitude_mask(&w.mul(mask)?, keep)?;
            self.kept += keep.min(w.numel());
        }
        Ok(())
    }

    /// Masks again after a restore: a gradually pruned run keeps the weights
    /// that are not zero once its schedule has started.
    pub fn restore(&mut self, step: u64) -> Result<()> {
        let Some(g) = self.schedule else { return Ok(()) };
        if step < g.start {
            return Ok(());
        }
        let _g = no_grad();
        self.kept = 0;
        for (p, mask) in &mut self.masks {
            let w = p.get();
            *mask = w.ne(&Tensor::scalar(0.0, &w.device())?)?;
            self.kept += kept_of(g.in_force(step), w.numel());
        }
        Ok(())
    }

    /// Zeroes the pruned weights again (call after every optimizer step).
    pub fn apply(&self) -> Result<()> {
        let _g = no_grad();
        for (p, mask) in &self.masks {
            p.set(p.get().mul(mask)?);
        }
        Ok(())
    }

    /// Fraction of prunable weights kept.
    pub fn density(&self) -> f32 {
        if self.total == 0 { 1.0 } else { self.kept as f32 / self.total as f32 }
    }
}
