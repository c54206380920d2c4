//! Pruning masks that stay applied during training: random masks at
//! initialisation with Erdős-Rényi-Kernel layer densities (Evci et al. 2020,
//! "Rigging the Lottery"), and magnitude pruning. Biases and norms (rank < 2)
//! are never pruned.

use nnlab_core::{no_grad, Error, Result, Tensor};

use crate::datasets::Rng;
use crate::Param;

pub struct Pruner {
    /// Each prunable parameter with its 0/1 mask on the parameter's device.
    masks: Vec<(Param, Tensor)>,
    kept: usize,
    total: usize,
}

fn prunable(params: &[(String, Param)]) -> Vec<Param> {
    params.iter().filter(|(_, p)| p.get().rank() >= 2).map(|(_, p)| p.clone()).collect()
}

fn check_density(density: f32) -> Result<()> {
    if (0.0..=1.0).contains(&density) { Ok(()) } else {
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
                (p, order, (d * n as f32).round() as usize)
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
            let keep = (density * values.len() as f32).round() as usize;
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
        let pruner = Pruner { masks, kept, total };
        pruner.apply()?;
        Ok(pruner)
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
