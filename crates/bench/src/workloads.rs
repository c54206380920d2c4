//! The five reference workloads and their data generators, as the shared
//! workload file defines them: mulberry32 streams, Box-Muller normals, the
//! spiral and Gaussian-projection generators, and the models.

use nnlab_core::{Device, Result};
use nnlab_nn::activation::ActivationLayer;
use nnlab_nn::init::Init;
use nnlab_nn::layers::{Conv2d, Flatten, MeanOverTime, Padding, Pool, PoolKind, Recurrent, RecurrentKind, Sequential, TransformerEncoderLayer};
use nnlab_nn::{Activation, Linear, Module};

/// mulberry32, uniform in [0, 1) = next() / 2^32.
pub struct Mulberry32(u32);

impl Mulberry32 {
    pub fn new(seed: u32) -> Self {
        Mulberry32(seed)
    }
    pub fn next_u32(&mut self) -> u32 {
        self.0 = self.0.wrapping_add(0x6D2B_79F5);
        let mut t = self.0;
        t = (t ^ (t >> 15)).wrapping_mul(t | 1);
        t ^= t.wrapping_add((t ^ (t >> 7)).wrapping_mul(t | 61));
        t ^ (t >> 14)
    }
    pub fn uniform(&mut self) -> f64 {
        self.next_u32() as f64 / 4_294_967_296.0
    }
    /// Box-Muller from two consecutive uniforms; the sine branch is discarded.
    pub fn normal(&mut self) -> f64 {
        let (u1, u2) = (self.uniform(), self.uniform());
        (-2.0 * u1.max(1e-12).ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

/// One batch: inputs (row-major, the workload's layout) and class labels.
pub struct Batch {
    pub x: Vec<f32>,
    pub y: Vec<f32>,
}

pub fn spiral(batch: usize, rng: &mut Mulberry32) -> Batch {
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for _ in 0..batch {
        let c = if rng.uniform() < 0.5 { 0.0 } else { 1.0 };
        let r = rng.uniform();
        let t = 1.75 * 2.0 * std::f64::consts::PI * r + c * std::f64::consts::PI;
        let (n1, n2) = (rng.normal() * 0.05, rng.normal() * 0.05);
        x.extend([(r * t.sin() + n1) as f32, (r * t.cos() + n2) as f32]);
        y.push(c as f32);
    }
    Batch { x, y }
}

/// x ~ N(0, 1) for the whole batch; labels argmax of x P with P from seed + 1000003.
pub fn gaussian_projection(batch: usize, features: usize, classes: usize, rng: &mut Mulberry32, seed: u32) -> Batch {
    let x: Vec<f32> = (0..batch * features).map(|_| rng.normal() as f32).collect();
    let mut prng = Mulberry32::new(seed.wrapping_add(1_000_003));
    let p: Vec<f64> = (0..features * classes).map(|_| prng.normal()).collect();
    let y = (0..batch)
        .map(|b| {
            let score = |k: usize| (0..features).map(|j| x[b * features + j] as f64 * p[j * classes + k]).sum::<f64>();
            (0..classes).max_by(|&a, &c| score(a).total_cmp(&score(c))).unwrap() as f32
        })
        .collect();
    Batch { x, y }
}

pub struct Workload {
    pub id: &'static str,
    pub group: &'static str,
    pub batch: usize,
    /// Per-example input shape in nnlab's layout.
    pub input: Vec<usize>,
    pub classes: usize,
    pub seed: u32,
}

pub fn training_workloads() -> Vec<Workload> {
    vec![
        Workload { id: "mlp-spiral", group: "W1", batch: 32, input: vec![2], classes: 2, seed: 1 },
        // NHWC with one channel has the same memory order as NCHW.
        Workload { id: "cnn-28", group: "W2", batch: 64, input: vec![1, 28, 28], classes: 10, seed: 2 },
        Workload { id: "lstm-seq", group: "W3", batch: 32, input: vec![32, 8], classes: 4, seed: 3 },
        Workload { id: "transformer-block", group: "W4", batch: 16, input: vec![32, 64], classes: 4, seed: 4 },
    ]
}

impl Workload {
    pub fn model(&self, device: &Device) -> Result<Sequential> {
        let s = self.seed as u64;
        let glorot = Init::GlorotUniform;
        let layers: Vec<Box<dyn Module>> = match self.group {
            "W1" => vec![
                Box::new(Linear::new(2, 16, true, glorot, s, 0, device)?),
                Box::new(ActivationLayer::new(Activation::Tanh)),
                Box::new(Linear::new(16, 16, true, glorot, s, 1, device)?),
                Box::new(ActivationLayer::new(Activation::Tanh)),
                Box::new(Linear::new(16, 2, true, glorot, s, 2, device)?),
            ],
            "W2" => vec![
                Box::new(Conv2d::new(1, 8, [3, 3], [1, 1], Padding::Same, [1, 1], 1, true, s, 0, device)?),
                Box::new(ActivationLayer::new(Activation::Relu)),
                Box::new(Pool::new2d(PoolKind::Max, [2, 2], None, [0, 0])),
                Box::new(Conv2d::new(8, 16, [3, 3], [1, 1], Padding::Same, [1, 1], 1, true, s, 1, device)?),
                Box::new(ActivationLayer::new(Activation::Relu)),
                Box::new(Pool::new2d(PoolKind::Max, [2, 2], None, [0, 0])),
                Box::new(Flatten),
                Box::new(Linear::new(784, 10, true, glorot, s, 2, device)?),
            ],
            "W3" => vec![
                Box::new(Recurrent::new(RecurrentKind::Lstm, 8, 64, 1, false, true, s, 0, device)?.last_step_only()),
                Box::new(Linear::new(64, 4, true, glorot, s, 1, device)?),
            ],
            _ => vec![
                Box::new(TransformerEncoderLayer::new(64, 4, 256, 0.0, Activation::GeluTanh, true, s, 0, device)?),
                Box::new(MeanOverTime),
                Box::new(Linear::new(64, 4, true, glorot, s, 1, device)?),
            ],
        };
        Ok(Sequential::new(layers))
    }

    /// The workload's four distinct batches (generated on the host).
    pub fn batches(&self) -> Vec<Batch> {
        let mut rng = Mulberry32::new(self.seed);
        let features: usize = self.input.iter().product();
        (0..4)
            .map(
                |_| {
                    if self.group == "W1" { spiral(self.batch, &mut rng) } else { gaussian_projection(self.batch, features, self.classes, &mut rng, self.seed) }
                },
            )
            .collect()
    }
}

/// The three matmul workloads: (id, n, seed).
pub const MATMULS: [(&str, usize, u32); 3] = [("matmul-256", 256, 5), ("matmul-512", 512, 6), ("matmul-1024", 1024, 7)];

/// Matmuls beyond the shared workloads, for a real GPU (`nnlab bench --large`):
/// big enough to approach its FP32 peak.
pub const LARGE_MATMULS: [(&str, usize, u32); 2] = [("matmul-2048", 2048, 8), ("matmul-4096", 4096, 9)];
