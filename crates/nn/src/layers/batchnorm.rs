//! BatchNorm1d ([N, C] or [N, C, L]) and BatchNorm2d ([N, C, H, W]), as
//! torch.nn defines them: batch statistics (biased variance) in training, with
//! running_mean/running_var updated by `momentum` (running_var from the unbiased
//! variance; with no momentum, their cumulative average over the batches seen);
//! running statistics in evaluation unless `track_running_stats` is off, in
//! which case batch statistics always; optional affine weight and bias.

use std::cell::Cell;

use nnlab_core::{Device, Error, Result, Tensor, no_grad};

use crate::{Buffer, Module, Param};

pub struct BatchNorm {
    pub num_features: usize,
    pub eps: f32,
    /// The running statistics' update factor; `None` averages every batch equally.
    pub momentum: Option<f32>,
    /// Keep running statistics (and use them in evaluation).
    pub track_running_stats: bool,
    pub weight: Option<Param>,
    pub bias: Option<Param>,
    pub running_mean: Buffer,
    pub running_var: Buffer,
    /// A scalar count, a tensor so that it saves and loads with the others.
    pub num_batches_tracked: Buffer,
    training: Cell<bool>,
}

impl BatchNorm {
    pub fn new(num_features: usize, affine: bool, device: &Device) -> Result<BatchNorm> {
        let (weight, bias) = if affine {
            (Some(Param::new(Tensor::ones(&[num_features], device)?)), Some(Param::new(Tensor::zeros(&[num_features], device)?)))
        } else {
            (None, None)
        };
        Ok(BatchNorm {
            num_features,
            eps: 1e-5,
            momentum: Some(0.1),
            track_running_stats: true,
            weight,
            bias,
            running_mean: Buffer::new(Tensor::zeros(&[num_features], device)?),
            running_var: Buffer::new(Tensor::ones(&[num_features], device)?),
            num_batches_tracked: Buffer::new(Tensor::scalar(0.0, device)?),
            training: Cell::new(true),
        })
    }

    pub fn is_training(&self) -> bool {
        self.training.get()
    }

    /// Shape that broadcasts a per-channel vector against `x` (channels on axis 1).
    fn channel_shape(&self, x: &Tensor) -> Vec<usize> {
        (0..x.rank()).map(|i| if i == 1 { self.num_features } else { 1 }).collect()
    }
}

impl Module for BatchNorm {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if x.rank() < 2 || x.shape()[1] != self.num_features {
            return Err(Error::ShapeMismatch { op: "BatchNorm", lhs: x.shape().to_vec(), rhs: vec![usize::MAX, self.num_features] });
        }
        let cs = self.channel_shape(x);
        let axes: Vec<isize> = (0..x.rank() as isize).filter(|&a| a != 1).collect();
        let (mean, var) = if self.training.get() || !self.track_running_stats {
            let count = x.numel() / self.num_features;
            if count < 2 {
                return Err(Error::InvalidArgument { op: "BatchNorm", reason: "training needs more than one value per channel".into() });
            }
            let mean = x.mean(&axes, true)?;
            let var = x.sub(&mean)?.square()?.mean(&axes, true)?;
            if self.training.get() && self.track_running_stats {
                let _g = no_grad();
                let batches = self.num_batches_tracked.get().add_scalar(1.0)?;
                // The cumulative average moves by 1 / batches, read from the
                // counter tensor so that a replayed step follows it.
                let toward = |running: Tensor, batch: Tensor| -> Result<Tensor> {
                    match self.momentum {
                        Some(m) => running.mul_scalar(1.0 - m)?.add(&batch.mul_scalar(m)?),
                        None => running.add(&batch.sub(&running)?.mul(&batches.recip()?)?),
                    }
                };
                let unbiased = var.mul_scalar(count as f32 / (count - 1) as f32)?.reshape(&[self.num_features])?;
                self.running_mean.set(toward(self.running_mean.get(), mean.reshape(&[self.num_features])?)?);
                self.running_var.set(toward(self.running_var.get(), unbiased)?);
                self.num_batches_tracked.set(batches);
            }
            (mean, var)
        } else {
            (self.running_mean.get().reshape(&cs)?, self.running_var.get().reshape(&cs)?)
        };
        let mut y = x.sub(&mean)?.div(&var.add_scalar(self.eps)?.sqrt()?)?;
        if let (Some(w), Some(b)) = (&self.weight, &self.bias) {
            y = y.mul(&w.get().reshape(&cs)?)?.add(&b.get().reshape(&cs)?)?;
        }
        Ok(y)
    }

    fn parameters(&self) -> Vec<(String, Param)> {
        let mut out = Vec::new();
        out.extend(self.weight.iter().map(|w| ("weight".to_string(), w.clone())));
        out.extend(self.bias.iter().map(|b| ("bias".to_string(), b.clone())));
        out
    }

    fn buffers(&self) -> Vec<(String, Buffer)> {
        if !self.track_running_stats {
            return Vec::new();
        }
        vec![
            ("running_mean".into(), self.running_mean.clone()),
            ("running_var".into(), self.running_var.clone()),
            ("num_batches_tracked".into(), self.num_batches_tracked.clone()),
        ]
    }

    fn set_training(&self, training: bool) {
        self.training.set(training);
    }
}
