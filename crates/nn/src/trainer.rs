//! The playground's trainer: a validated settings object, the dataset on the
//! chosen device, an MLP, its optimizer, mini-batch steps without readback, and
//! metrics and decision-boundary grids read back on request.

use nnlab_core::{Device, Error, Result, Tensor, no_grad};
use serde::{Deserialize, Serialize};

use crate::batches::EpochBatches;
use crate::datasets::{self, Dataset, Task};
use crate::{Activation, Mlp, Module, Optimizer, OptimizerConfig, StepInput, StepPlan, loss};

/// Settings as the page sends them (camelCase JSON). Numbers arrive as f64 so
/// that a negative or fractional value is reported by name, not by serde.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TrainerConfig {
    pub dataset: String,
    pub noise: f64,
    pub train_ratio: f64,
    pub num_samples: f64,
    pub seed: f64,
    pub hidden: Vec<f64>,
    pub activation: String,
    pub learning_rate: f64,
    pub batch_size: f64,
    pub optimizer: String,
    pub momentum: f64,
}

impl Default for TrainerConfig {
    fn default() -> Self {
        TrainerConfig {
            dataset: "spiral".into(),
            noise: 0.1,
            train_ratio: 0.5,
            num_samples: 500.0,
            seed: 1.0,
            hidden: vec![8.0, 8.0],
            activation: "tanh".into(),
            learning_rate: 0.03,
            batch_size: 32.0,
            optimizer: "adam".into(),
            momentum: 0.9,
        }
    }
}

fn invalid(path: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::InvalidSpec { path: path.into(), reason: reason.into() }
}

/// A whole number in `range`, or an error naming `path` and what it is.
fn whole(v: f64, path: &str, what: &str, range: std::ops::RangeInclusive<usize>) -> Result<usize> {
    let ok = v.is_finite() && v.fract() == 0.0 && v >= *range.start() as f64 && v <= *range.end() as f64;
    if ok { Ok(v as usize) } else { Err(invalid(path, format!("{what} must be a whole number from {} to {} (got {v})", range.start(), range.end()))) }
}

/// The checked form of a `TrainerConfig`.
#[derive(Debug, Clone)]
pub struct Settings {
    pub dataset: String,
    pub noise: f32,
    pub train_ratio: f32,
    pub num_samples: usize,
    pub seed: u64,
    pub hidden: Vec<usize>,
    pub activation: Activation,
    pub batch_size: usize,
    pub optimizer: OptimizerConfig,
}

impl TrainerConfig {
    pub fn from_json(json: &str) -> Result<TrainerConfig> {
        serde_json::from_str(json).map_err(|e| invalid("settings", e.to_string()))
    }

    pub fn validate(&self) -> Result<Settings> {
        if !datasets::NAMES.contains(&self.dataset.as_str()) {
            return Err(invalid("dataset", format!("unknown dataset \"{}\" (expected one of {})", self.dataset, datasets::NAMES.join(", "))));
        }
        if !(0.0..=0.5).contains(&self.noise) {
            return Err(invalid("noise", format!("noise must be between 0 and 0.5 (got {})", self.noise)));
        }
        if !(0.05..=0.95).contains(&self.train_ratio) {
            return Err(invalid("trainRatio", format!("the training share must be between 0.05 and 0.95 (got {})", self.train_ratio)));
        }
        let num_samples = whole(self.num_samples, "numSamples", "the number of samples", 20..=5000)?;
        let seed = whole(self.seed, "seed", "the seed", 0..=u32::MAX as usize)? as u64;
        if self.hidden.len() > 8 {
            return Err(invalid("hidden", format!("at most 8 hidden layers (got {})", self.hidden.len())));
        }
        let hidden = self
            .hidden
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                if n < 1.0 {
                    return Err(invalid(format!("hidden[{i}]"), format!("a hidden layer needs at least 1 neuron (got {n})")));
                }
                whole(n, &format!("hidden[{i}]"), "the number of neurons", 1..=256)
            })
            .collect::<Result<Vec<_>>>()?;
        let activation = serde_json::from_value(serde_json::Value::String(self.activation.clone()))
            .map_err(|_| invalid("activation", format!("unknown activation \"{}\" (expected relu, tanh, sigmoid, gelu or linear)", self.activation)))?;
        let lr = self.learning_rate;
        if !(lr.is_finite() && lr > 0.0 && lr <= 10.0) {
            return Err(invalid("learningRate", format!("the learning rate must be a number above 0 and at most 10 (got {lr})")));
        }
        let batch_size = whole(self.batch_size, "batchSize", "the batch size", 1..=1024)?;
        let lr = lr as f32;
        let optimizer = match self.optimizer.as_str() {
            "adam" => OptimizerConfig::Adam { lr, beta1: 0.9, beta2: 0.999, eps: 1e-7, weight_decay: 0.0 },
            "sgd" => {
                if !(0.0..1.0).contains(&self.momentum) {
                    return Err(invalid("momentum", format!("momentum must be in [0, 1) (got {})", self.momentum)));
                }
                OptimizerConfig::Sgd { lr, momentum: self.momentum as f32, nesterov: false, weight_decay: 0.0 }
            }
            other => {
                return Err(invalid("optimizer", format!("unknown optimizer \"{other}\" (expected adam or sgd)")));
            }
        };
        Ok(Settings { dataset: self.dataset.clone(), noise: self.noise as f32, train_ratio: self.train_ratio as f32, num_samples, seed, hidden, activation, batch_size, optimizer })
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Metrics {
    pub step: u64,
    pub train_loss: f32,
    pub test_loss: f32,
    pub train_accuracy: Option<f32>,
    pub test_accuracy: Option<f32>,
}

/// Inputs and targets of one split on the device.
struct DeviceSplit {
    x: Tensor,
    y: Tensor,
}

pub struct Trainer {
    settings: Settings,
    device: Device,
    data: Dataset,
    model: Mlp,
    optimizer: Optimizer,
    train: DeviceSplit,
    test: DeviceSplit,
    batches: EpochBatches,
    step: u64,
    grid: Option<(usize, Tensor)>,
    /// On the GPU, full batches replay a recorded step (see step_plan.rs).
    plan: Option<StepPlan>,
    /// Set when a step cannot be recorded: every step then runs eagerly.
    eager_only: bool,
    /// The settings the trainer was built from (to rebuild it on the CPU).
    config: TrainerConfig,
    /// The last host copy of the weights and optimizer state (see `snapshot`).
    saved: Option<Snapshot>,
}

/// Weights and optimizer state on the host: what survives losing the GPU.
struct Snapshot {
    values: Vec<f32>,
    shapes: Vec<Vec<usize>>,
    optimizer_steps: u32,
    step: u64,
}

impl Trainer {
    pub fn new(config: &TrainerConfig, device: Device) -> Result<Trainer> {
        let settings = config.validate()?;
        let data = datasets::generate(&settings.dataset, settings.num_samples, settings.noise, settings.train_ratio, settings.seed).expect("dataset name validated");
        let outputs = if data.task == Task::Classification { 2 } else { 1 };
        let sizes: Vec<usize> = std::iter::once(2).chain(settings.hidden.iter().copied()).chain([outputs]).collect();
        let model = Mlp::new(&sizes, settings.activation, settings.seed, &device)?;
        let optimizer = Optimizer::new(settings.optimizer, model.parameters().into_iter().map(|(_, p)| p).collect())?;
        let upload = |s: &datasets::Split| -> Result<DeviceSplit> { Ok(DeviceSplit { x: Tensor::from_vec(s.x.clone(), &[s.len(), 2], &device)?, y: Trainer::targets(data.task, &s.y, &device)? }) };
        let (train, test) = (upload(&data.train)?, upload(&data.test)?);
        let batches = EpochBatches::new(settings.seed ^ 0x5eed_5eed);
        Ok(Trainer {
            settings,
            device,
            data,
            model,
            optimizer,
            train,
            test,
            batches,
            step: 0,
            grid: None,
            plan: None,
            eager_only: false,
            config: config.clone(),
            saved: None,
        })
    }

    fn targets(task: Task, y: &[f32], device: &Device) -> Result<Tensor> {
        match task {
            Task::Classification => Tensor::from_vec(y.to_vec(), &[y.len()], device),
            Task::Regression => Tensor::from_vec(y.to_vec(), &[y.len(), 1], device),
        }
    }

    pub fn dataset(&self) -> &Dataset {
        &self.data
    }
    pub fn device(&self) -> &Device {
        &self.device
    }
    pub fn steps_done(&self) -> u64 {
        self.step
    }
    pub fn model(&self) -> &Mlp {
        &self.model
    }

    fn loss(task: Task, model: &dyn Module, x: &Tensor, y: &Tensor) -> Result<Tensor> {
        let out = model.forward(x)?;
        match task {
            Task::Classification => loss::softmax_cross_entropy(&out, y),
            Task::Regression => loss::mse(&out, y),
        }
    }

    /// One optimizer step on the next mini-batch. Records GPU work without
    /// waiting for it.
    pub fn step(&mut self) -> Result<()> {
        let (train, task, device) = (&self.data.train, self.data.task, &self.device);
        let (x, y) = self.batches.next(self.settings.batch_size, |rng| {
            // A freshly shuffled copy of the training set for the new epoch.
            let mut order: Vec<usize> = (0..train.len()).collect();
            rng.shuffle(&mut order);
            let x: Vec<f32> = order.iter().flat_map(|&i| [train.x[2 * i], train.x[2 * i + 1]]).collect();
            let y: Vec<f32> = order.iter().map(|&i| train.y[i]).collect();
            Ok((Tensor::from_vec(x, &[order.len(), 2], device)?, Trainer::targets(task, &y, device)?))
        })?;
        if matches!(self.device, Device::Gpu(_)) && !self.eager_only && x.shape()[0] == self.settings.batch_size {
            self.planned_step(&x, &y)?;
        } else {
            let grads = Trainer::loss(task, &self.model, &x, &y)?.backward()?;
            self.optimizer.step(&grads)?;
        }
        self.step += 1;
        Ok(())
    }

    /// A full batch on the GPU: replay the recorded step, or record it first.
    /// The shorter last batch of an epoch runs eagerly.
    fn planned_step(&mut self, x: &Tensor, y: &Tensor) -> Result<()> {
        if let Some(plan) = &self.plan {
            match plan.replay(&self.model, &mut self.optimizer, &[StepInput::Device(x), StepInput::Device(y)]) {
                Err(Error::NotReplayable(_)) => self.plan = None,
                done => return done,
            }
        }
        let task = self.data.task;
        let loss_fn = move |m: &dyn Module, inputs: &[&Tensor]| Trainer::loss(task, m, inputs[0], inputs[1]);
        // The plan owns its input buffers: record on copies of the batch.
        let (_, plan) = StepPlan::record(&self.model, &mut self.optimizer, &[&x.copy()?, &y.copy()?], &loss_fn)?;
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

    /// Copies the weights and optimizer state to the host (one readback), so
    /// that `fall_back_to_cpu` can continue from them if the GPU is lost.
    pub async fn snapshot(&mut self) -> Result<()> {
        let state = self.optimizer.state_tensors();
        let flat = state.iter().map(|t| t.reshape(&[t.numel()])).collect::<Result<Vec<_>>>()?;
        let values = Tensor::concat(&flat, 0)?.to_vec().await?;
        let shapes = state.iter().map(|t| t.shape().to_vec()).collect();
        self.saved = Some(Snapshot { values, shapes, optimizer_steps: self.optimizer.steps(), step: self.step });
        Ok(())
    }

    /// The step the last snapshot was taken at, if any.
    pub fn snapshot_step(&self) -> Option<u64> {
        self.saved.as_ref().map(|s| s.step)
    }

    /// Rebuilds this trainer on the CPU from the last snapshot (or from the
    /// initial weights when there is none) after the GPU was lost. Returns the
    /// step training continues from.
    pub fn fall_back_to_cpu(&mut self) -> Result<u64> {
        let mut cpu = Trainer::new(&self.config, Device::Cpu)?;
        if let Some(s) = self.saved.take() {
            let mut at = 0;
            let tensors = s
                .shapes
                .iter()
                .map(|shape| {
                    let n: usize = shape.iter().product();
                    at += n;
                    Tensor::from_vec(s.values[at - n..at].to_vec(), shape, &Device::Cpu)
                })
                .collect::<Result<Vec<_>>>()?;
            cpu.optimizer.set_state_tensors(&tensors);
            cpu.optimizer.set_steps(s.optimizer_steps);
            cpu.step = s.step;
            cpu.saved = Some(s);
        }
        *self = cpu;
        Ok(self.step)
    }

    async fn evaluate(&self, split: &DeviceSplit) -> Result<(f32, Option<f32>)> {
        let _g = no_grad();
        let out = self.model.forward(&split.x)?;
        let (loss, acc) = match self.data.task {
            Task::Classification => {
                let acc = out.argmax(-1, false)?.eq(&split.y)?.mean_all()?;
                (loss::softmax_cross_entropy(&out, &split.y)?, Some(acc))
            }
            Task::Regression => (loss::mse(&out, &split.y)?, None),
        };
        let loss = loss.to_scalar().await?;
        let acc = match acc {
            Some(a) => Some(a.to_scalar().await?),
            None => None,
        };
        Ok((loss, acc))
    }

    /// Loss (and accuracy) on the whole training and test sets. A NaN or
    /// infinite loss is an error: the run has diverged.
    pub async fn metrics(&self) -> Result<Metrics> {
        let (train_loss, train_accuracy) = self.evaluate(&self.train).await?;
        let (test_loss, test_accuracy) = self.evaluate(&self.test).await?;
        if !train_loss.is_finite() || !test_loss.is_finite() {
            return Err(Error::NonFinite { what: "training loss" });
        }
        Ok(Metrics { step: self.step, train_loss, test_loss, train_accuracy, test_accuracy })
    }

    /// The model's output over a `res` x `res` grid covering [-1, 1]^2, row 0 at
    /// the top (y = 1): the probability of class 1, or the regression value.
    pub async fn grid(&mut self, res: usize) -> Result<Vec<f32>> {
        if !(2..=256).contains(&res) {
            return Err(invalid("grid", format!("resolution must be from 2 to 256 (got {res})")));
        }
        if self.grid.as_ref().map(|(r, _)| *r) != Some(res) {
            let coord = |i: usize| -1.0 + 2.0 * (i as f32 + 0.5) / res as f32;
            let pts: Vec<f32> = (0..res * res).flat_map(|k| [coord(k % res), -coord(k / res)]).collect();
            self.grid = Some((res, Tensor::from_vec(pts, &[res * res, 2], &self.device)?));
        }
        let _g = no_grad();
        let out = self.model.forward(&self.grid.as_ref().expect("grid prepared").1)?;
        let values = match self.data.task {
            Task::Classification => out.softmax(-1)?.narrow(1, 1, 1)?,
            Task::Regression => out,
        };
        values.to_vec().await
    }
}
