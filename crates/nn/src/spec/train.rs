//! The one trainer: a model spec on its dataset, on the CPU or the GPU. Seeded
//! epochs (optionally RS2 subsets), mini-batches as contiguous slices of the
//! epoch's upload, the spec's loss, optimizer, schedule, gradient clipping and
//! noise, frozen parameters, a random subset of trained entries and pruning masks; on the GPU, full batches replay
//! a recorded step plan. Metrics on the whole training and test sets, and
//! predictions on given inputs. Moving between backends, host snapshots and
//! the fall-back after a lost GPU are in `state.rs`.

use std::cell::RefCell;

use nnlab_core::{Device, Error, GradStore, Result, Tensor, no_grad};
use serde::Serialize;

use super::{DataSpec, LossSpec, ModelReport, ModelSpec, PruneSpec, TableTask, TrainingSpec, build, limits};
use crate::batches::EpochBatches;
use crate::data::{self, ArrayDataset, Splits, Target};
use crate::gradients;
use crate::layers::Sequential;
use crate::loss::Reduction;
use crate::pruning::{Gradual, Pruner};
use crate::random_subset::RandomSubset;
use crate::sampling::Rs2Sampler;
use crate::{Inference, Module, Optimizer, OptimizerConfig, Param, StepInput, StepPlan, datasets, loss};

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SpecMetrics {
    pub step: u64,
    /// Completed passes over the training set (fractional).
    pub epoch: f64,
    pub train_loss: f32,
    pub test_loss: f32,
    /// Fraction of correct class predictions (per step for sequence targets).
    pub train_accuracy: Option<f32>,
    pub test_accuracy: Option<f32>,
}

pub fn load_data(spec: &DataSpec, seed: u64) -> Result<Splits> {
    match spec.clone() {
        DataSpec::Digits { train_ratio } => data::digits::load(train_ratio, seed),
        DataSpec::Mnist1d { samples, train_ratio } => data::mnist1d::generate(samples, train_ratio, seed),
        DataSpec::Adding { samples, length, train_ratio } => data::sequence::adding(samples, length, train_ratio, seed),
        DataSpec::Copy { samples, symbols, length, delay, train_ratio } => data::sequence::copy_memory(samples, symbols, length, delay, train_ratio, seed),
        DataSpec::Parity { samples, length, train_ratio } => data::sequence::parity(samples, length, train_ratio, seed),
        DataSpec::Sine { samples, length, horizon, train_ratio } => data::sequence::sine(samples, length, horizon, train_ratio, seed),
        DataSpec::Table { csv, label, task, standardize, train_ratio } => {
            data::table::load(&csv, &label, task == TableTask::Classification, standardize, train_ratio, seed)
        }
        DataSpec::Plane { set, noise, samples, train_ratio, points, removed } => {
            let d =
                datasets::generate(set.name(), samples, noise, train_ratio, seed).ok_or_else(|| invalid("data.set", format!("unknown set {}", set.name())))?;
            let target = match d.task {
                datasets::Task::Classification => Target::Classes(2),
                datasets::Task::Regression => Target::Regression,
            };
            let part = |s: &datasets::Split| ArrayDataset { x: s.x.clone(), x_shape: vec![2], y: s.y.clone(), y_shape: vec![] };
            // Hand edits: generated training points taken out, drawn ones added.
            let mut dropped = vec![false; d.train.len()];
            for r in removed {
                if let Some(d) = dropped.get_mut(r) {
                    *d = true;
                }
            }
            let kept: Vec<usize> = (0..d.train.len()).filter(|&i| !dropped[i]).collect();
            let mut train = part(&d.train).subset(&kept);
            for [x, y, t] in points {
                train.x.extend([x, y]);
                train.y.push(t);
            }
            Ok(Splits { train, test: part(&d.test), target })
        }
    }
}

/// A dataset on `device`, batch axis first.
pub(super) fn upload(d: &ArrayDataset, device: &Device) -> Result<(Tensor, Tensor)> {
    let n = d.len();
    let xs: Vec<usize> = std::iter::once(n).chain(d.x_shape.iter().copied()).collect();
    let ys: Vec<usize> = std::iter::once(n).chain(d.y_shape.iter().copied()).collect();
    Ok((Tensor::from_vec(d.x.clone(), &xs, device)?, Tensor::from_vec(d.y.clone(), &ys, device)?))
}

pub(super) fn invalid(path: &str, reason: impl Into<String>) -> Error {
    Error::InvalidSpec { path: path.into(), reason: reason.into() }
}

/// The loss of `out` against targets `y` (both with a batch axis).
pub fn loss_of(loss: &LossSpec, target: Target, out: &Tensor, y: &Tensor) -> Result<Tensor> {
    let device = out.device();
    let values = |v: &Option<Vec<f32>>| v.as_ref().map(|w| Tensor::from_vec(w.clone(), &[w.len()], &device)).transpose();
    match (loss, target) {
        (LossSpec::CrossEntropy { label_smoothing, ignore_index, weight, reduction }, Target::Classes(c)) => {
            let options =
                loss::CrossEntropyOptions { weight: values(weight)?, ignore_index: *ignore_index, label_smoothing: *label_smoothing, reduction: *reduction };
            loss::cross_entropy_with(&out.reshape(&[out.numel() / c, c])?, &y.reshape(&[y.numel()])?, &options)
        }
        (LossSpec::Mse { reduction }, _) => loss::mse(out, &y.reshape(out.shape())?, *reduction),
        (LossSpec::Huber { delta, reduction }, _) => loss::huber(out, &y.reshape(out.shape())?, *delta, *reduction),
        (LossSpec::BceWithLogits { pos_weight, reduction }, _) => {
            loss::bce_with_logits(out, &y.reshape(out.shape())?, values(pos_weight)?.as_ref(), *reduction)
        }
        (LossSpec::BiasLoss { .. }, Target::Classes(c)) => loss::cross_entropy(&out.reshape(&[out.numel() / c, c])?, &y.reshape(&[y.numel()])?, 0.0),
        (LossSpec::CrossEntropy { .. } | LossSpec::BiasLoss { .. }, Target::Regression) => Err(invalid("loss", "cross-entropy needs a classification dataset")),
    }
}

/// An evaluation set on the device: ((test split?, example limit), inputs, targets).
type EvalSet = ((bool, usize), Tensor, Tensor);

pub struct SpecTrainer {
    pub spec: ModelSpec,
    pub report: ModelReport,
    pub model: Sequential,
    pub(super) device: Device,
    pub(super) data: Splits,
    pub(super) loss: LossSpec,
    pub(super) training: TrainingSpec,
    pub(super) optimizer: Optimizer,
    /// The trained parameters' names (those `trainOnly` selects), in the optimizer's order.
    pub(super) trainable: Vec<String>,
    params: Vec<Param>,
    pub(super) pruner: Option<Pruner>,
    random_subset: Option<RandomSubset>,
    pub(super) subsets: Option<Rs2Sampler>,
    pub(super) batches: EpochBatches,
    pub(super) step: u64,
    /// On the GPU, full batches replay a recorded step.
    plan: Option<StepPlan>,
    /// Set when a step cannot be recorded (dropout, clipping, noise, a
    /// schedule): every step then runs eagerly.
    eager_only: bool,
    /// The input grid of `grid` for 2D models, kept on the device.
    grid: Option<(usize, Tensor)>,
    /// The host copy `snapshot` keeps (see state.rs).
    pub(super) saved: Option<super::TrainerState>,
    eval_sets: RefCell<Vec<EvalSet>>,
    /// How evaluation computes the outputs.
    inference: Inference,
    /// With the bias loss: the top-level layer whose output it weighs.
    pub(super) bias_features: Option<usize>,
    /// The states carried between `feed_tokens` calls (see tokens.rs).
    pub(super) tokens: Option<super::tokens::TokenCarry>,
}

impl SpecTrainer {
    pub async fn new(spec: &ModelSpec, device: Device) -> Result<SpecTrainer> {
        limits::check(spec)?;
        let data_spec = spec.data.as_ref().ok_or_else(|| invalid("data", "a spec needs a dataset to train"))?;
        let data = load_data(data_spec, spec.seed)?;
        if data.train.is_empty() || data.test.is_empty() {
            return Err(invalid("data", "the training and the test split both need examples"));
        }
        let (model, report) = build(spec, &device)?;
        let loss = fit(spec, &report, &data)?;
        let training = spec.training.clone().unwrap_or(TrainingSpec {
            batch_size: 32,
            steps: 1000,
            schedule: None,
            clip_grad_norm: None,
            gradient_noise: None,
            train_only: Vec::new(),
            prune: None,
            subset_ratio: None,
            subset_fixed: false,
            train_random: None,
        });
        let named = model.parameters();
        let pruner = match &training.prune {
            None => None,
            Some(PruneSpec::RandomErk { density }) => Some(Pruner::random_erk(&named, *density, spec.seed)?),
            Some(PruneSpec::Magnitude { density }) => Some(Pruner::magnitude(&named, *density).await?),
            Some(PruneSpec::Gradual { density, start, end, every }) => {
                let schedule = Gradual { density: *density, start: *start, end: *end, every: *every };
                Some(Pruner::gradual(&named, schedule).map_err(|e| invalid("training.prune", e.to_string()))?)
            }
        };
        let trainable = gradients::trainable(named, &training.train_only);
        if trainable.is_empty() {
            return Err(invalid("training.trainOnly", "no parameter name matches these patterns"));
        }
        let (names, params): (Vec<String>, Vec<Param>) = trainable.into_iter().unzip();
        let random_subset = match training.train_random {
            None => None,
            Some(count) => Some(RandomSubset::new(&params, count, spec.seed ^ 0x7261_6e64).map_err(|e| invalid("training.trainRandom", e.to_string()))?),
        };
        let optimizer = Optimizer::new(
            spec.optimizer.unwrap_or(OptimizerConfig::Adam {
                lr: 1e-3,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                weight_decay: 0.0,
                amsgrad: false,
                maximize: false,
            }),
            params.clone(),
        )?;
        let subsets = training.subset_ratio.map(|r| {
            let seed = spec.seed ^ 0x52_5332;
            if training.subset_fixed { Rs2Sampler::fixed(data.train.len(), r, seed) } else { Rs2Sampler::new(data.train.len(), r, seed) }
        });
        // Plans replay exactly what was recorded: steps that draw noise between
        // the backward pass and the update, or change the learning rate, run
        // eagerly (clipping is device ops only: plans record it).
        let bias_features = if matches!(loss, LossSpec::BiasLoss { .. }) { feature_layer(&report) } else { None };
        // The bias loss reads an inner layer's output, which a recorded plan does not expose.
        let eager_only = training.gradient_noise.is_some() || training.schedule.is_some() || bias_features.is_some();
        Ok(SpecTrainer {
            spec: spec.clone(),
            report,
            model,
            device,
            data,
            loss,
            training,
            optimizer,
            trainable: names,
            params,
            pruner,
            random_subset,
            subsets,
            batches: EpochBatches::new(spec.seed ^ 0xe90c),
            step: 0,
            plan: None,
            eager_only,
            grid: None,
            saved: None,
            eval_sets: RefCell::new(Vec::new()),
            inference: Inference::Standard,
            bias_features,
            tokens: None,
        })
    }

    /// How evaluation (metrics, predictions, inspection) computes the
    /// outputs: folded BatchNorms, Aaren token by token; training is unchanged.
    pub fn set_inference(&mut self, mode: Inference) {
        self.inference = mode;
    }

    pub fn data(&self) -> &Splits {
        &self.data
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    pub fn steps_done(&self) -> u64 {
        self.step
    }

    /// Dispatches per step of the recorded plan, once there is one (GPU only).
    pub fn plan_dispatches(&self) -> Option<usize> {
        self.plan.as_ref().map(StepPlan::dispatches)
    }

    /// One optimizer step on the next mini-batch. Records GPU work without
    /// waiting for it.
    pub fn step(&mut self) -> Result<()> {
        self.tokens = None;
        let (train, subsets, device) = (&self.data.train, &mut self.subsets, &self.device);
        let (xb, yb) = self.batches.next(
            self.training.batch_size,
            |rng| match subsets {
                // RS2 subsets when asked for, else the whole set reshuffled.
                Some(s) => s.next_epoch(),
                None => {
                    let mut o: Vec<usize> = (0..train.len()).collect();
                    rng.shuffle(&mut o);
                    o
                }
            },
            |order| upload(&train.subset(order), device),
        )?;
        if let Some(schedule) = self.training.schedule {
            self.optimizer.lr = schedule.lr(self.spec.optimizer.map_or(1e-3, |o| o.lr()), self.step as u32);
        }
        if matches!(self.device, Device::Gpu(_)) && !self.eager_only && xb.shape()[0] == self.training.batch_size {
            self.planned_step(&xb, &yb)?;
        } else {
            self.model.set_training(true);
            let mut grads = self.training_loss(&xb, &yb)?.backward()?;
            let scale = match self.training.gradient_noise {
                // The noise is added to the clipped gradients.
                Some(eta) => {
                    if let Some(max) = self.training.clip_grad_norm {
                        gradients::clip_grad_norm(&self.params, &mut grads, max)?;
                    }
                    gradients::add_gradient_noise(&self.params, &mut grads, eta, self.step as u32, self.spec.seed)?;
                    None
                }
                None => clip_scale(&self.params, self.training.clip_grad_norm, &grads)?,
            };
            self.optimizer.step_scaled(&grads, scale.as_ref())?;
        }
        if let Some(p) = &mut self.pruner {
            p.after_step(self.step + 1)?;
        }
        if let Some(s) = &self.random_subset {
            s.apply()?;
        }
        self.step += 1;
        Ok(())
    }

    /// The loss a step minimises: the spec's, or the bias loss on the feature
    /// maps of the layer chosen for it.
    fn training_loss(&self, x: &Tensor, y: &Tensor) -> Result<Tensor> {
        let (LossSpec::BiasLoss { alpha, beta }, Some(k)) = (&self.loss, self.bias_features) else {
            return loss_of(&self.loss, self.data.target, &self.model.forward(x)?, y);
        };
        let (head, tail) = self.model.layers.split_at(k + 1);
        let features = head.iter().try_fold(x.clone(), |h, l| l.forward(&h))?;
        let out = tail.iter().try_fold(features.clone(), |h, l| l.forward(&h))?;
        loss::bias_loss(&features, &out, &y.reshape(&[y.numel()])?, *alpha, *beta)
    }

    /// A full batch on the GPU: replay the recorded step, or record it first.
    fn planned_step(&mut self, x: &Tensor, y: &Tensor) -> Result<()> {
        self.model.set_training(true);
        if let Some(plan) = &self.plan {
            match plan.replay(&self.model, &mut self.optimizer, &[StepInput::Device(x), StepInput::Device(y)]) {
                Err(Error::NotReplayable(_)) => self.plan = None,
                done => return done,
            }
        }
        let (loss, target) = (self.loss.clone(), self.data.target);
        let loss_fn = move |m: &dyn Module, inputs: &[&Tensor]| loss_of(&loss, target, &m.forward(inputs[0])?, inputs[1]);
        let (params, clip) = (&self.params, self.training.clip_grad_norm);
        let between = move |grads: &mut GradStore| clip_scale(params, clip, grads);
        // The plan owns its input buffers: record on copies of the batch.
        let (_, plan) = StepPlan::record_with(&self.model, &mut self.optimizer, &[&x.copy()?, &y.copy()?], &loss_fn, &between)?;
        match plan {
            Ok(plan) => self.plan = Some(plan),
            Err(_) => self.eager_only = true,
        }
        Ok(())
    }

    pub fn train(&mut self, steps: usize) -> Result<()> {
        for _ in 0..steps {
            self.step()?;
        }
        self.device.flush();
        Ok(())
    }

    /// Waits until the device has done all work submitted so far (one
    /// 4-byte readback of a weight the last step wrote).
    pub async fn sync(&self) -> Result<()> {
        if let Some((_, p)) = self.model.parameters().first() {
            let t = p.get();
            t.reshape(&[t.numel()])?.narrow(0, 0, 1)?.to_vec().await?;
        }
        Ok(())
    }

    /// Trains for the spec's `training.steps`.
    pub fn train_to_end(&mut self) -> Result<()> {
        let remaining = (self.training.steps as u64).saturating_sub(self.step);
        self.train(remaining as usize)
    }

    /// Runs `f` with the model in evaluation mode (no dropout, BatchNorm's
    /// running statistics), then back in training mode.
    pub(super) fn in_eval_mode<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        self.model.set_training(false);
        // Folded anew each time from the current weights, and undone after.
        let out = if self.inference.is_standard() {
            f()
        } else {
            let out = self.model.set_inference(self.inference).and_then(|_| f());
            self.model.set_inference(Inference::Standard).and(out)
        };
        self.model.set_training(true);
        out
    }

    /// The first `limit` examples of the training (`test` false) or test set,
    /// uploaded once and kept on the device.
    pub(super) fn eval_set(&self, test: bool, limit: usize) -> Result<(Tensor, Tensor)> {
        let mut cache = self.eval_sets.borrow_mut();
        if let Some((_, x, y)) = cache.iter().find(|(key, _, _)| *key == (test, limit)) {
            return Ok((x.clone(), y.clone()));
        }
        let d = if test { &self.data.test } else { &self.data.train };
        let (x, y) = if limit >= d.len() { upload(d, &self.device)? } else { upload(&d.subset(&(0..limit).collect::<Vec<_>>()), &self.device)? };
        cache.push(((test, limit), x.clone(), y.clone()));
        Ok((x, y))
    }

    /// Loss (and accuracy) on at most `limit` examples of the test or the
    /// training split.
    pub async fn evaluate(&self, test: bool, limit: usize) -> Result<(f32, Option<f32>)> {
        let _g = no_grad();
        let (x, y) = self.eval_set(test, limit)?;
        let out = self.in_eval_mode(|| self.model.forward(&x))?;
        let loss = loss_of(&self.loss.mean(), self.data.target, &out, &y)?;
        let (loss, accuracy) = match self.data.target {
            Target::Classes(c) => {
                let pred = out.reshape(&[out.numel() / c, c])?.argmax(-1, false)?;
                let acc = pred.eq(&y.reshape(&[y.numel()])?)?.mean_all()?;
                // One readback for both numbers.
                let both = Tensor::concat(&[loss.reshape(&[1])?, acc.reshape(&[1])?], 0)?.to_vec().await?;
                (both[0], Some(both[1]))
            }
            Target::Regression => (loss.to_scalar().await?, None),
        };
        Ok((loss, accuracy))
    }

    /// Loss (and accuracy) on the whole training and test sets. A NaN or
    /// infinite loss is an error: the run has diverged.
    pub async fn metrics(&self) -> Result<SpecMetrics> {
        self.metrics_on(usize::MAX).await
    }

    /// The same on at most the first `limit` examples of each set (a fixed
    /// sample, so curves stay comparable): cheap enough to watch while training.
    pub async fn metrics_on(&self, limit: usize) -> Result<SpecMetrics> {
        let limit = limit.max(1);
        let (train_loss, train_accuracy) = self.evaluate(false, limit).await?;
        let (test_loss, test_accuracy) = self.evaluate(true, limit).await?;
        if !train_loss.is_finite() || !test_loss.is_finite() {
            return Err(Error::NonFinite { what: "training loss" });
        }
        let epoch = self.step as f64 * self.training.batch_size as f64 / self.data.train.len().max(1) as f64;
        Ok(SpecMetrics { step: self.step, epoch, train_loss, test_loss, train_accuracy, test_accuracy })
    }

    /// The model's outputs for `n` examples (flat, in the spec's input shape),
    /// in evaluation mode: class probabilities (softmax over the last axis)
    /// for classification, the raw outputs for regression.
    pub async fn predict(&self, x: &[f32], n: usize) -> Result<Vec<f32>> {
        let per: usize = self.report.input.iter().product();
        if n == 0 || n > limits::MAX_SAMPLES || x.len() != n * per {
            return Err(Error::InvalidArgument {
                op: "predict",
                reason: format!(
                    "expected 1 to {} examples of {:?} ({} values each), got {} values for {n}",
                    limits::MAX_SAMPLES,
                    self.report.input,
                    per,
                    x.len()
                ),
            });
        }
        let shape: Vec<usize> = std::iter::once(n).chain(self.report.input.iter().copied()).collect();
        self.outputs(&Tensor::from_vec(x.to_vec(), &shape, &self.device)?).await
    }

    async fn outputs(&self, x: &Tensor) -> Result<Vec<f32>> {
        let _g = no_grad();
        let out = self.in_eval_mode(|| self.model.forward(x))?;
        match self.data.target {
            Target::Classes(_) => out.softmax(-1)?.to_vec().await,
            Target::Regression => out.to_vec().await,
        }
    }

    /// For models of 2D points: the output over a `res` x `res` grid covering
    /// [-1, 1]^2, row 0 at the top (y = 1): the probability of class 1 (of the
    /// last class), or the regression value.
    pub async fn grid(&mut self, res: usize) -> Result<Vec<f32>> {
        if self.report.input != [2] {
            return Err(Error::InvalidArgument { op: "grid", reason: format!("the model takes {:?}, not 2D points", self.report.input) });
        }
        if !(2..=256).contains(&res) {
            return Err(Error::InvalidArgument { op: "grid", reason: format!("resolution must be from 2 to 256 (got {res})") });
        }
        if self.grid.as_ref().map(|(r, _)| *r) != Some(res) {
            let coord = |i: usize| -1.0 + 2.0 * (i as f32 + 0.5) / res as f32;
            let pts: Vec<f32> = (0..res * res).flat_map(|k| [coord(k % res), -coord(k / res)]).collect();
            self.grid = Some((res, Tensor::from_vec(pts, &[res * res, 2], &self.device)?));
        }
        let out = self.outputs(&self.grid.as_ref().expect("grid prepared").1).await?;
        Ok(match self.data.target {
            Target::Classes(c) => out.chunks(c).map(|p| p[c - 1]).collect(),
            Target::Regression => out,
        })
    }
}

/// The last top-level layer, before the output layer, whose output per
/// example has spatial axes ([C, L] or [C, H, W]): the bias loss's features.
pub(super) fn feature_layer(report: &ModelReport) -> Option<usize> {
    let top: Vec<&super::LayerReport> = report.layers.iter().filter(|l| !l.path.contains('.')).collect();
    top[..top.len().saturating_sub(1)].iter().rposition(|l| l.output.len() >= 2)
}

/// The scale clipping by norm asks the update to apply (`max`: the spec's
/// bound), or None when the spec does not clip.
fn clip_scale(params: &[Param], clip: Option<f32>, grads: &GradStore) -> Result<Option<Tensor>> {
    let Some(max) = clip else { return Ok(None) };
    Ok(gradients::clip_coefficient(params, grads, max)?.map(|(_, coef)| coef))
}

/// The loss of `spec` on `data` (the spec's, or the usual one for the
/// target), once the model's input and output fit the data.
fn fit(spec: &ModelSpec, report: &ModelReport, data: &Splits) -> Result<LossSpec> {
    if report.input != data.train.x_shape {
        return Err(invalid("input", format!("the model takes {:?} but the dataset gives {:?}", report.input, data.train.x_shape)));
    }
    let loss = spec.loss.clone().unwrap_or_else(|| LossSpec::default_for(matches!(data.target, Target::Classes(_))));
    check_output(&report.output, data, &loss)?;
    check_loss_options(&loss, &report.output, data.target)?;
    if let LossSpec::BiasLoss { alpha, beta } = loss {
        if !(alpha.is_finite() && beta.is_finite() && (0.0..=10.0).contains(&alpha)) {
            return Err(invalid("loss", "the bias loss takes an alpha from 0 to 10 and a finite beta"));
        }
        if feature_layer(report).is_none() {
            return Err(invalid("loss", "the bias loss weighs feature maps: it needs a layer with spatial output (a convolution) before the last"));
        }
    }
    Ok(loss)
}

/// Checks, without generating the whole dataset, that a spec's model fits its
/// data and loss (what `SpecTrainer::new` would refuse). `report` is the
/// spec's shape inference.
pub fn check_fit(spec: &ModelSpec, report: &ModelReport) -> Result<()> {
    let Some(data) = &spec.data else { return Ok(()) };
    limits::check(spec)?;
    fit(spec, report, &load_data(&data.with_samples(40), spec.seed)?).map(|_| ())
}

/// The loss's arguments must fit the model's output and the data.
fn check_loss_options(loss: &LossSpec, output: &[usize], target: Target) -> Result<()> {
    if loss.reduction() == Reduction::None {
        return Err(invalid("loss.reduction", "\"none\" leaves one loss per example, and a training step needs one number: use mean or sum"));
    }
    let finite = |v: &[f32]| v.iter().all(|w| w.is_finite() && *w >= 0.0);
    match (loss, target) {
        (LossSpec::CrossEntropy { label_smoothing, weight, .. }, Target::Classes(c)) => {
            if !(0.0..=1.0).contains(label_smoothing) {
                return Err(invalid("loss.labelSmoothing", format!("label smoothing is a number from 0 to 1, got {label_smoothing}")));
            }
            match weight {
                Some(w) if w.len() != c => {
                    Err(invalid("loss.weight", format!("the dataset has {c} classes, so the loss takes {c} class weights, got {}", w.len())))
                }
                Some(w) if !finite(w) => Err(invalid("loss.weight", "class weights are finite numbers of at least 0")),
                _ => Ok(()),
            }
        }
        (LossSpec::BceWithLogits { pos_weight: Some(w), .. }, _) => {
            let last = output.last().copied().unwrap_or(1);
            if w.len() != last && w.len() != 1 {
                Err(invalid(
                    "loss.posWeight",
                    format!("the model gives {last} output(s) per example: pos_weight takes one value, or one per output, got {}", w.len()),
                ))
            } else if !finite(w) {
                Err(invalid("loss.posWeight", "pos_weight values are finite numbers of at least 0"))
            } else {
                Ok(())
            }
        }
        _ => Ok(()),
    }
}

/// The model's output must fit the targets: [C] logits per class target (or
/// [K, C] for K per-step targets), the target's shape for regression.
fn check_output(output: &[usize], data: &Splits, loss: &LossSpec) -> Result<()> {
    let y = &data.train.y_shape;
    let ok = match (data.target, loss) {
        (Target::Classes(c), LossSpec::CrossEntropy { .. }) => output.last() == Some(&c) && output[..output.len() - 1] == y[..],
        (Target::Classes(c), LossSpec::BiasLoss { .. }) => output == [c] && y.is_empty(),
        (Target::Classes(_), _) => false,
        (Target::Regression, LossSpec::CrossEntropy { .. }) => false,
        (Target::Regression, _) => output.iter().product::<usize>() == y.iter().product::<usize>().max(1),
    };
    if ok {
        Ok(())
    } else {
        let want = match data.target {
            Target::Classes(c) => format!("{c} class scores per target of shape {y:?}"),
            Target::Regression => format!("{} value(s) per example", y.iter().product::<usize>().max(1)),
        };
        Err(invalid("layers", format!("the model's output {output:?} does not fit the dataset: it needs {want} (loss {})", loss.name())))
    }
}
