//! One workload on one device, stepped by a driver: `step` queues a training
//! step (or one matmul) and submits it; `read` waits for the last step's loss
//! (for a matmul, the whole output matrix) on the host.

use nnlab_core::{Device, Error, Result, Tensor};
use nnlab_nn::layers::Sequential;
use nnlab_nn::{Module, Optimizer, OptimizerConfig};

use crate::workloads::{training_workloads, Mulberry32, MATMULS};

enum Job {
    Train { model: Sequential, opt: Optimizer, batches: Vec<(Tensor, Tensor)> },
    Matmul { a: Tensor, b: Tensor },
}

pub struct Runner {
    job: Job,
    device: Device,
    step: usize,
    /// The last step's loss (training) or product (matmul); earlier ones are released.
    last: Option<Tensor>,
    checksum: f64,
}

impl Runner {
    /// `id` is a workload id ("mlp-spiral", "matmul-1024", ...) or its group ("W1").
    /// Data is generated and uploaded here, before any timing.
    pub fn new(id: &str, device: &Device) -> Result<Runner> {
        if let Some(w) = training_workloads().into_iter().find(|w| w.id == id || w.group == id) {
            let model = w.model(device)?;
            let params = model.parameters().into_iter().map(|(_, p)| p).collect();
            let opt = Optimizer::new(OptimizerConfig::Adam { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-7, weight_decay: 0.0 }, params)?;
            let shape: Vec<usize> = std::iter::once(w.batch).chain(w.input.iter().copied()).collect();
            let raw = w.batches();
            let checksum = raw.iter().flat_map(|b| b.x.iter().chain(&b.y)).map(|&v| v as f64).sum();
            let batches = raw
                .into_iter()
                .map(|b| Ok((Tensor::from_vec(b.x, &shape, device)?, Tensor::from_vec(b.y, &[w.batch], device)?)))
                .collect::<Result<_>>()?;
            return Ok(Runner { job: Job::Train { model, opt, batches }, device: device.clone(), step: 0, last: None, checksum });
        }
        let Some(&(_, n, seed)) = MATMULS.iter().find(|(m, ..)| *m == id) else {
            let known: Vec<&str> = training_workloads().iter().map(|w| w.id).chain(MATMULS.iter().map(|m| m.0)).collect();
            return Err(Error::InvalidArgument { op: "bench", reason: format!("unknown workload \"{id}\" (known: {})", known.join(", ")) });
        };
        let mut rng = Mulberry32::new(seed);
        let mut draw = || (0..n * n).map(|_| (2.0 * rng.uniform() - 1.0) as f32).collect::<Vec<f32>>();
        let (a, b) = (draw(), draw());
        let checksum = a.iter().chain(&b).map(|&v| v as f64).sum();
        let job = Job::Matmul { a: Tensor::from_vec(a, &[n, n], device)?, b: Tensor::from_vec(b, &[n, n], device)? };
        Ok(Runner { job, device: device.clone(), step: 0, last: None, checksum })
    }

    /// Sum of every input value, so a driver can prove that two contenders
    /// trained on the same data.
    pub fn checksum(&self) -> f64 {
        self.checksum
    }

    /// Queues one step and submits it without waiting. Step i uses batch i mod 4.
    pub fn step(&mut self) -> Result<()> {
        let out = match &mut self.job {
            Job::Train { model, opt, batches } => {
                let (x, y) = &batches[self.step % batches.len()];
                let loss = model.forward(x)?.cross_entropy(y)?;
                let grads = loss.backward()?;
                opt.step(&grads)?;
                loss.detach()
            }
            Job::Matmul { a, b } => a.matmul(b)?,
        };
        self.last = Some(out);
        self.step += 1;
        self.device.flush();
        Ok(())
    }

    /// Waits for the last step on the host: its loss, or for a matmul the sum
    /// of the whole product (all of it is read back).
    pub async fn read(&self) -> Result<f64> {
        let Some(last) = &self.last else { return Err(Error::InvalidArgument { op: "bench", reason: "read before the first step".into() }) };
        Ok(last.to_vec().await?.iter().map(|&v| v as f64).sum())
    }
}
