//! Trains a model spec on its dataset: seeded epochs (optionally RS2 subsets),
//! mini-batches as contiguous slices of the epoch's upload, the spec's loss,
//! optimizer, schedule, gradient clipping and noise, frozen parameters and
//! pruning masks; metrics on the whole training and test sets.

use nnlab_core::{no_grad, Device, Error, Result, Tensor};
use serde::Serialize;

use super::{build, DataSpec, LossSpec, ModelReport, ModelSpec, PruneSpec, TrainingSpec};
use crate::data::{self, ArrayDataset, Splits, Target};
use crate::batches::EpochBatches;
use crate::gradients;
use crate::layers::Sequential;
use crate::pruning::Pruner;
use crate::sampling::Rs2Sampler;
use crate::{loss, Module, Optimizer, OptimizerConfig, Param};

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SpecMetrics {
    pub step: u64,
    pub train_loss: f32,
    pub test_loss: f32,
    /// Fraction of correct class predictions (per step for sequence targets).
    pub train_accuracy: Option<f32>,
    pub test_accuracy: Option<f32>,
}

pub fn load_data(spec: &DataSpec, seed: u64) -> Result<Splits> {
    match *spec {
        DataSpec::Digits { train_ratio } => data::digits::load(train_ratio, seed),
        DataSpec::Mnist1d { samples, train_ratio } => data::mnist1d::generate(samples, train_ratio, seed),
        DataSpec::Adding { samples, length, train_ratio } => data::sequence::adding(samples, length, train_ratio, seed),
        DataSpec::Copy { samples, symbols, length, delay, train_ratio } => data::sequence::copy_memory(samples, symbols, length, delay, train_ratio, seed),
        DataSpec::Parity { samples, length, train_ratio } => data::sequence::parity(samples, length, train_ratio, seed),
        DataSpec::Sine { samples, length, horizon, train_ratio } => data::sequence::sine(samples, length, horizon, train_ratio, seed),
    }
}

/// A dataset on `device`, batch axis first.
fn upload(d: &ArrayDataset, device: &Device) -> Result<(Tensor, Tensor)> {
    let n = d.len();
    let xs: Vec<usize> = std::iter::once(n).chain(d.x_shape.iter().copied()).collect();
    let ys: Vec<usize> = std::iter::once(n).chain(d.y_shape.iter().copied()).collect();
    Ok((Tensor::from_vec(d.x.clone(), &xs, device)?, Tensor::from_vec(d.y.clone(), &ys, device)?))
}

fn invalid(path: &str, reason: impl Into<String>) -> Error {
    Error::InvalidSpec { path: path.into(), reason: reason.into() }
}

pub struct SpecTrainer {
    pub spec: ModelSpec,
    pub report: ModelReport,
    pub model: Sequential,
    device: Device,
    data: Splits,
    loss: LossSpec,
    training: TrainingSpec,
    optimizer: Optimizer,
    params: Vec<Param>,
    pruner: Option<Pruner>,
    subsets: Option<Rs2Sampler>,
    batches: EpochBatches,
    step: u64,
}

impl SpecTrainer {
    pub async fn new(spec: &ModelSpec, device: Device) -> Result<SpecTrainer> {
        let data_spec = spec.data.as_ref().ok_or_else(|| invalid("data", "a spec needs a dataset to train"))?;
        let data = load_data(data_spec, spec.seed)?;
        let (model, report) = build(spec, &device)?;
        if report.input != data.train.x_shape {
            return Err(invalid("input", format!("the model takes {:?} but the dataset gives {:?}", report.input, data.train.x_shape)));
        }
        let loss = spec.loss.unwrap_or(match data.target {
            Target::Classes(_) => LossSpec::CrossEntropy { label_smoothing: 0.0 },
            Target::Regression => LossSpec::Mse,
        });
        check_output(&report.output, &data, &loss)?;
        let training = spec.training.clone().unwrap_or(TrainingSpec {
            batch_size: 32,
            steps: 1000,
            schedule: None,
            clip_grad_norm: None,
            gradient_noise: None,
            train_only: Vec::new(),
            prune: None,
            subset_ratio: None,
        });
        if training.batch_size == 0 {
            return Err(invalid("training.batchSize", "must be >= 1"));
        }
        let named = model.parameters();
        let pruner = match &training.prune {
            None => None,
            Some(PruneSpec::RandomErk { density }) => Some(Pruner::random_erk(&named, *density, spec.seed)?),
            Some(PruneSpec::Magnitude { density }) => Some(Pruner::magnitude(&named, *density).await?),
        };
        let trainable = gradients::trainable(named, &training.train_only);
        if trainable.is_empty() {
            return Err(invalid("training.trainOnly", "no parameter name matches these patterns"));
        }
        let params: Vec<Param> = trainable.into_iter().map(|(_, p)| p).collect();
        let optimizer = Optimizer::new(spec.optimizer.unwrap_or(OptimizerConfig::Adam { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 }), params.clone())?;
        let subsets = training.subset_ratio.map(|r| Rs2Sampler::new(data.train.len(), r, spec.seed ^ 0x52_5332));
        Ok(SpecTrainer { spec: spec.clone(), report, model, device, data, loss, training, optimizer, params, pruner, subsets, batches: EpochBatches::new(spec.seed ^ 0xe90c), step: 0 })
    }

    pub fn data(&self) -> &Splits {
        &self.data
    }

    pub fn steps_done(&self) -> u64 {
        self.step
    }

    fn upload(&self, d: &ArrayDataset) -> Result<(Tensor, Tensor)> {
        upload(d, &self.device)
    }

    /// The loss of `out` against targets `y` (both with a batch axis).
    fn loss_of(&self, out: &Tensor, y: &Tensor) -> Result<Tensor> {
        match (self.loss, self.data.target) {
            (LossSpec::CrossEntropy { label_smoothing }, Target::Classes(c)) => {
                loss::cross_entropy(&out.reshape(&[out.numel() / c, c])?, &y.reshape(&[y.numel()])?, label_smoothing)
            }
            (LossSpec::Mse, _) => loss::mse(out, &y.reshape(out.shape())?),
            (LossSpec::Huber { delta }, _) => loss::huber(out, &y.reshape(out.shape())?, delta),
            (LossSpec::BceWithLogits, _) => loss::bce_with_logits(out, &y.reshape(out.shape())?),
            (LossSpec::CrossEntropy { .. }, Target::Regression) => Err(invalid("loss", "cross-entropy needs a classification dataset")),
        }
    }

    /// One optimizer step on the next mini-batch (no readback).
    pub fn step(&mut self) -> Result<()> {
        let (train, subsets, device) = (&self.data.train, &mut self.subsets, &self.device);
        let (xb, yb) = self.batches.next(self.training.batch_size, |rng| {
            // RS2 subsets when asked for, else the whole set reshuffled.
            let order = match subsets {
                Some(s) => s.next_epoch(),
                None => {
                    let mut o: Vec<usize> = (0..train.len()).collect();
                    rng.shuffle(&mut o);
                    o
                }
            };
            upload(&train.subset(&order), device)
        })?;
        self.model.set_training(true);
        let mut grads = self.loss_of(&self.model.forward(&xb)?, &yb)?.backward()?;
        if let Some(max) = self.training.clip_grad_norm {
            gradients::clip_grad_norm(&self.params, &mut grads, max)?;
        }
        if let Some(eta) = self.training.gradient_noise {
            gradients::add_gradient_noise(&self.params, &mut grads, eta, self.step as u32, self.spec.seed)?;
        }
        if let Some(schedule) = self.training.schedule {
            self.optimizer.lr = schedule.lr(self.spec.optimizer.map_or(1e-3, |o| o.lr()), self.step as u32);
        }
        self.optimizer.step(&grads)?;
        if let Some(p) = &self.pruner {
            p.apply()?;
        }
        self.step += 1;
        Ok(())
    }

    pub fn train(&mut self, steps: usize) -> Result<()> {
        for _ in 0..steps {
            self.step()?;
        }
        self.device.flush();
        Ok(())
    }

    /// Trains for the spec's `training.steps`.
    pub fn train_to_end(&mut self) -> Result<()> {
        let remaining = (self.training.steps as u64).saturating_sub(self.step);
        self.train(remaining as usize)
    }

    async fn evaluate(&self, d: &ArrayDataset) -> Result<(f32, Option<f32>)> {
        let _g = no_grad();
        self.model.set_training(false);
        let (x, y) = self.upload(d)?;
        let out = self.model.forward(&x)?;
        let loss = self.loss_of(&out, &y)?.to_scalar().await?;
        let accuracy = match self.data.target {
            Target::Classes(c) => {
                let pred = out.reshape(&[out.numel() / c, c])?.argmax(-1, false)?;
                Some(pred.eq(&y.reshape(&[y.numel()])?)?.mean_all()?.to_scalar().await?)
            }
            Target::Regression => None,
        };
        self.model.set_training(true);
        Ok((loss, accuracy))
    }

    pub async fn metrics(&self) -> Result<SpecMetrics> {
        let (train_loss, train_accuracy) = self.evaluate(&self.data.train).await?;
        let (test_loss, test_accuracy) = self.evaluate(&self.data.test).await?;
        if !train_loss.is_finite() {
            return Err(Error::NonFinite { what: "training loss" });
        }
        Ok(SpecMetrics { step: self.step, train_loss, test_loss, train_accuracy, test_accuracy })
    }
}

/// The model's output must fit the targets: [C] logits per class target (or
/// [K, C] for K per-step targets), the target's shape for regression.
fn check_output(output: &[usize], data: &Splits, loss: &LossSpec) -> Result<()> {
    let y = &data.train.y_shape;
    let ok = match (data.target, loss) {
        (Target::Classes(c), LossSpec::CrossEntropy { .. }) => output.last() == Some(&c) && output[..output.len() - 1] == y[..],
        (Target::Classes(_), _) => false,
        (Target::Regression, LossSpec::CrossEntropy { .. }) => false,
        (Target::Regression, _) => output.iter().product::<usize>() == y.iter().product::<usize>().max(1),
    };
    if ok { Ok(()) } else {
        Err(invalid("layers", format!("the model's output {output:?} does not fit the dataset's targets {y:?} ({:?}) with loss {loss:?}", data.target)))
    }
}
