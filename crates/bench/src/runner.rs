//! One workload on one device, stepped by a driver: `step` queues a training
//! step (or one matmul) and submits it; `read` waits for the last step's loss
//! (for a matmul, the whole output matrix) on the host. On the GPU a training
//! step is recorded once as a step plan and replayed from then on.

use nnlab_core::{Device, Error, Result, Tensor};
use nnlab_nn::layers::Sequential;
use nnlab_nn::{Module, Optimizer, OptimizerConfig, StepInput, StepPlan};

use crate::workloads::{LARGE_MATMULS, MATMULS, Mulberry32, training_workloads};

struct Training {
    model: Sequential,
    opt: Optimizer,
    batches: Vec<(Tensor, Tensor)>,
    plan: Option<StepPlan>,
    /// Why steps run eagerly on the GPU, if a plan could not be recorded.
    eager_reason: Option<String>,
    replays: usize,
}

enum Job {
    Train(Box<Training>),
    /// `read_all`: a read returns the whole product (the shared W5 protocol);
    /// else its first element, so that a 64 MiB readback does not hide the
    /// product's time on a fast GPU (the large matmuls).
    Matmul {
        a: Tensor,
        b: Tensor,
        read_all: bool,
    },
}

pub struct Runner {
    job: Job,
    device: Device,
    step: usize,
    /// The last step's loss (training) or product (matmul); earlier ones are released.
    last: Option<Tensor>,
    checksum: f64,
}

fn cross_entropy(model: &dyn Module, inputs: &[&Tensor]) -> Result<Tensor> {
    model.forward(inputs[0])?.cross_entropy(inputs[1])
}

impl Runner {
    /// `id` is a workload id ("mlp-spiral", "matmul-1024", ...) or its group ("W1").
    /// Data is generated and uploaded here, before any timing.
    pub fn new(id: &str, device: &Device) -> Result<Runner> {
        if let Some(w) = training_workloads().into_iter().find(|w| w.id == id || w.group == id) {
            let model = w.model(device)?;
            let params = model.parameters().into_iter().map(|(_, p)| p).collect();
            let opt = Optimizer::new(
                OptimizerConfig::Adam { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-7, weight_decay: 0.0, amsgrad: false, maximize: false },
                params,
            )?;
            let shape: Vec<usize> = std::iter::once(w.batch).chain(w.input.iter().copied()).collect();
            let raw = w.batches();
            let checksum = raw.iter().flat_map(|b| b.x.iter().chain(&b.y)).map(|&v| v as f64).sum();
            let batches =
                raw.into_iter().map(|b| Ok((Tensor::from_vec(b.x, &shape, device)?, Tensor::from_vec(b.y, &[w.batch], device)?))).collect::<Result<_>>()?;
            let job = Job::Train(Box::new(Training { model, opt, batches, plan: None, eager_reason: None, replays: 0 }));
            return Ok(Runner { job, device: device.clone(), step: 0, last: None, checksum });
        }
        let Some(&(_, n, seed)) = MATMULS.iter().chain(&LARGE_MATMULS).find(|(m, ..)| *m == id) else {
            let known: Vec<&str> = training_workloads().iter().map(|w| w.id).chain(MATMULS.iter().chain(&LARGE_MATMULS).map(|m| m.0)).collect();
            return Err(Error::InvalidArgument { op: "bench", reason: format!("unknown workload \"{id}\" (known: {})", known.join(", ")) });
        };
        let mut rng = Mulberry32::new(seed);
        let mut draw = || (0..n * n).map(|_| (2.0 * rng.uniform() - 1.0) as f32).collect::<Vec<f32>>();
        let (a, b) = (draw(), draw());
        let checksum = a.iter().chain(&b).map(|&v| v as f64).sum();
        let read_all = MATMULS.iter().any(|(m, ..)| *m == id);
        let job = Job::Matmul { a: Tensor::from_vec(a, &[n, n], device)?, b: Tensor::from_vec(b, &[n, n], device)?, read_all };
        Ok(Runner { job, device: device.clone(), step: 0, last: None, checksum })
    }

    /// Sum of every input value, so a driver can prove that two contenders
    /// trained on the same data.
    pub fn checksum(&self) -> f64 {
        self.checksum
    }

    /// How steps execute: "cpu", "plan (N dispatches)", "eager (why)" or "matmul".
    pub fn mode(&self) -> String {
        match (&self.job, &self.device) {
            (Job::Matmul { .. }, _) => "matmul".into(),
            (_, Device::Cpu) => "cpu".into(),
            (Job::Train(t), _) => match (&t.plan, &t.eager_reason) {
                (Some(p), _) => format!("plan ({} dispatches)", p.dispatches()),
                (None, Some(why)) => format!("eager ({why})"),
                (None, None) => "not started".into(),
            },
        }
    }

    /// Steps performed by replaying a plan.
    pub fn replays(&self) -> usize {
        match &self.job {
            Job::Train(t) => t.replays,
            Job::Matmul { .. } => 0,
        }
    }

    /// Queues one step and submits it without waiting. Step i uses batch i mod 4.
    pub fn step(&mut self) -> Result<()> {
        let gpu = matches!(self.device, Device::Gpu(_));
        let out = match &mut self.job {
            Job::Train(t) => {
                let (x, y) = &t.batches[self.step % t.batches.len()];
                match &t.plan {
                    Some(plan) => {
                        plan.replay(&t.model, &mut t.opt, &[StepInput::Device(x), StepInput::Device(y)])?;
                        t.replays += 1;
                        plan.loss().clone()
                    }
                    None if gpu && t.eager_reason.is_none() => {
                        // The plan owns its input buffers: record on copies of the batch.
                        let (xs, ys) = (x.copy()?, y.copy()?);
                        let (loss, plan) = StepPlan::record(&t.model, &mut t.opt, &[&xs, &ys], &cross_entropy)?;
                        match plan {
                            Ok(plan) => t.plan = Some(plan),
                            Err(e) => t.eager_reason = Some(e.to_string()),
                        }
                        loss
                    }
                    None => {
                        let loss = cross_entropy(&t.model, &[x, y])?;
                        t.opt.step(&loss.backward()?)?;
                        loss.detach()
                    }
                }
            }
            Job::Matmul { a, b, .. } => a.matmul(b)?,
        };
        self.last = Some(out);
        self.step += 1;
        self.device.flush();
        Ok(())
    }

    /// A matmul workload's products `count` times in one submission (one
    /// command buffer), its last product kept for `read`: what the kernel
    /// sustains without a submission per product.
    pub fn burst(&mut self, count: usize) -> Result<()> {
        let Job::Matmul { a, b, .. } = &self.job else {
            return Err(Error::InvalidArgument { op: "bench", reason: "only matmul workloads run in bursts".into() });
        };
        for _ in 0..count {
            self.last = Some(a.matmul(b)?);
        }
        self.device.flush();
        Ok(())
    }

    /// Per-kernel GPU time of one recorded step, summed by entry point and
    /// sorted, slowest first: (entry point, dispatches, ms). Needs a plan (a
    /// GPU training workload after its first step).
    pub async fn profile(&self, now: &dyn Fn() -> f64) -> Result<Vec<(String, usize, f64)>> {
        let Job::Train(t) = &self.job else { return Err(Error::InvalidArgument { op: "bench", reason: "only training steps are profiled".into() }) };
        let Some(plan) = &t.plan else {
            return Err(Error::InvalidArgument { op: "bench", reason: "no recorded step to profile (run a step on the GPU first)".into() });
        };
        let mut totals: Vec<(String, usize, f64)> = Vec::new();
        for (name, ms) in plan.profile(now).await? {
            match totals.iter_mut().find(|t| t.0 == name) {
                Some(t) => {
                    t.1 += 1;
                    t.2 += ms;
                }
                None => totals.push((name.to_string(), 1, ms)),
            }
        }
        totals.sort_by(|a, b| b.2.total_cmp(&a.2));
        Ok(totals)
    }

    /// Waits for the last step on the host: its loss, or for a matmul the sum
    /// of the whole product read back (a large matmul: its first element).
    pub async fn read(&self) -> Result<f64> {
        if let Job::Matmul { read_all: false, .. } = &self.job {
            return self.read_first().await;
        }
        Ok(self.last()?.to_vec().await?.iter().map(|&v| v as f64).sum())
    }

    /// Waits for the last step on the host, reading back one value of it.
    pub async fn read_first(&self) -> Result<f64> {
        let last = self.last()?;
        let first = last.reshape(&[last.numel()])?.narrow(0, 0, 1.min(last.numel()))?;
        Ok(first.to_vec().await?.iter().map(|&v| v as f64).sum())
    }

    fn last(&self) -> Result<&Tensor> {
        self.last.as_ref().ok_or_else(|| Error::InvalidArgument { op: "bench", reason: "read before the first step".into() })
    }
}
