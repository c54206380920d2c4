//! The bounds of what a spec may ask for: one list, read by the checks below,
//! written into the JSON Schema (`minimum`/`maximum`) by the spec types, and
//! read from the schema by the page, so no limit is repeated anywhere else.
//! They keep a browser tab responsive and its memory bounded; shape inference
//! adds the model-wide bounds (parameters, activation sizes).

use nnlab_core::Result;

use super::train::invalid;
use super::{DataSpec, ModelSpec, PruneSpec};
use crate::OptimizerConfig;

pub const MAX_LAYERS: usize = 64;
pub const MAX_WIDTH: usize = 4096;
/// The largest weight scale of a Linear layer's `sigmaW` initialisation.
pub const MAX_SIGMA_W: f32 = 10.0;
pub const MAX_CHANNELS: usize = 1024;
pub const MAX_HIDDEN: usize = 1024;
pub const MAX_HEADS: usize = 64;
pub const MAX_KERNEL: usize = 31;
pub const MAX_BATCH: usize = 4096;
pub const MAX_STEPS: usize = 10_000_000;
pub const MAX_SAMPLES: usize = 50_000;
pub const MAX_LENGTH: usize = 1024;
pub const MAX_LR: f32 = 10.0;
pub const MAX_NOISE: f32 = 0.5;
pub const MAX_POINTS: usize = 2000;
pub const MIN_TRAIN_RATIO: f32 = 0.05;
pub const MAX_TRAIN_RATIO: f32 = 0.95;
pub const MAX_SEED: u64 = u32::MAX as u64;

fn whole(path: &str, v: usize, min: usize, max: usize) -> Result<()> {
    if (min..=max).contains(&v) { Ok(()) } else { Err(invalid(path, format!("must be from {min} to {max} (got {v})"))) }
}

fn real(path: &str, v: f32, min: f32, max: f32) -> Result<()> {
    if v.is_finite() && (min..=max).contains(&v) { Ok(()) } else { Err(invalid(path, format!("must be a number from {min} to {max} (got {v})"))) }
}

/// Checks everything outside the layers (those are checked by shape inference).
pub fn check(spec: &ModelSpec) -> Result<()> {
    if spec.seed > MAX_SEED {
        return Err(invalid("seed", format!("must be from 0 to {MAX_SEED} (got {})", spec.seed)));
    }
    if spec.layers.len() > MAX_LAYERS {
        return Err(invalid("layers", format!("at most {MAX_LAYERS} layers (got {})", spec.layers.len())));
    }
    if let Some(data) = &spec.data {
        check_data(data)?;
    }
    if let Some(t) = &spec.training {
        whole("training.batchSize", t.batch_size, 1, MAX_BATCH)?;
        whole("training.steps", t.steps, 1, MAX_STEPS)?;
        if let Some(c) = t.clip_grad_norm {
            real("training.clipGradNorm", c, f32::MIN_POSITIVE, 1e6)?;
        }
        if let Some(g) = t.gradient_noise {
            real("training.gradientNoise", g, 0.0, 10.0)?;
        }
        if let Some(r) = t.subset_ratio {
            real("training.subsetRatio", r, 0.01, 1.0)?;
        }
        match t.prune {
            Some(PruneSpec::RandomErk { density } | PruneSpec::Magnitude { density }) => real("training.prune.density", density, 0.0, 1.0)?,
            Some(PruneSpec::Gradual { density, start, end, every }) => {
                real("training.prune.density", density, 0.0, 1.0)?;
                if start > end || end > t.steps as u64 {
                    return Err(invalid(
                        "training.prune",
                        format!("gradual pruning runs from start to end within the training steps (got {start} to {end} of {})", t.steps),
                    ));
                }
                if every == 0 {
                    return Err(invalid("training.prune.every", "prune at least every step (every >= 1)"));
                }
            }
            None => {}
        }
        if t.subset_fixed && t.subset_ratio.is_none() {
            return Err(invalid("training.subsetFixed", "a fixed subset needs subsetRatio (the fraction of examples it keeps)"));
        }
    }
    if let Some(o) = &spec.optimizer {
        let lr = o.lr();
        if !(lr.is_finite() && lr > 0.0 && lr <= MAX_LR) {
            return Err(invalid("optimizer.lr", format!("the learning rate must be above 0 and at most {MAX_LR} (got {lr})")));
        }
        if let OptimizerConfig::Sgd { momentum, .. } | OptimizerConfig::Rmsprop { momentum, .. } = o
            && !(0.0..1.0).contains(momentum)
        {
            return Err(invalid("optimizer.momentum", format!("must be from 0 to below 1 (got {momentum})")));
        }
        if let OptimizerConfig::Sgd { dampening, nesterov, momentum, .. } = *o {
            if !(0.0..=1.0).contains(&dampening) {
                return Err(invalid("optimizer.dampening", format!("must be from 0 to 1 (got {dampening})")));
            }
            if nesterov && (momentum == 0.0 || dampening != 0.0) {
                return Err(invalid("optimizer.nesterov", "Nesterov momentum needs a momentum above 0 and no dampening"));
            }
        }
    }
    Ok(())
}

fn check_data(data: &DataSpec) -> Result<()> {
    let ratio = |r: f32| real("data.trainRatio", r, MIN_TRAIN_RATIO, MAX_TRAIN_RATIO);
    let samples = |n: usize| whole("data.samples", n, 20, MAX_SAMPLES);
    let length = |n: usize| whole("data.length", n, 2, MAX_LENGTH);
    match *data {
        DataSpec::Digits { train_ratio } => ratio(train_ratio),
        DataSpec::Mnist1d { samples: n, train_ratio } => samples(n).and(ratio(train_ratio)),
        DataSpec::Adding { samples: n, length: l, train_ratio } | DataSpec::Parity { samples: n, length: l, train_ratio } => {
            samples(n).and(length(l)).and(ratio(train_ratio))
        }
        DataSpec::Copy { samples: n, symbols, length: l, delay, train_ratio } => {
            samples(n)?;
            whole("data.symbols", symbols, 1, 64)?;
            whole("data.length", l, 1, MAX_LENGTH)?;
            whole("data.delay", delay, 0, MAX_LENGTH)?;
            ratio(train_ratio)
        }
        DataSpec::Sine { samples: n, length: l, horizon, train_ratio } => {
            samples(n).and(length(l)).and(whole("data.horizon", horizon, 1, MAX_LENGTH)).and(ratio(train_ratio))
        }
        DataSpec::Table { train_ratio, .. } => ratio(train_ratio),
        DataSpec::Plane { set, noise, samples: n, train_ratio, ref points, ref removed } => {
            real("data.noise", noise, 0.0, MAX_NOISE)?;
            samples(n)?;
            ratio(train_ratio)?;
            if points.len() > MAX_POINTS {
                return Err(invalid("data.points", format!("at most {MAX_POINTS} added points (got {})", points.len())));
            }
            let classes = !matches!(set, super::PlaneSet::RegPlane | super::PlaneSet::RegGauss);
            for (i, &[x, y, t]) in points.iter().enumerate() {
                let target_ok = if classes { t == 0.0 || t == 1.0 } else { (-1.0..=1.0).contains(&t) };
                if !((-1.0..=1.0).contains(&x) && (-1.0..=1.0).contains(&y) && target_ok) {
                    return Err(invalid(
                        &format!("data.points[{i}]"),
                        format!("needs x and y in [-1, 1] and a target {} (got [{x}, {y}, {t}])", if classes { "of 0 or 1" } else { "in [-1, 1]" }),
                    ));
                }
            }
            if let Some(i) = removed.iter().position(|&r| r >= n) {
                return Err(invalid(&format!("data.removed[{i}]"), format!("there are only {n} generated points")));
            }
            Ok(())
        }
    }
}

/// Upper bounds of layer fields, checked by shape inference.
pub(super) fn at_most(path: &str, field: &str, v: usize, max: usize) -> Result<()> {
    if v > max { Err(invalid(&format!("{path}.{field}"), format!("must be <= {max} (got {v})"))) } else { Ok(()) }
}
