//! The TensorFlow Playground's 2D datasets (Smilkov & Carter, Apache-2.0 code,
//! re-derived here), generated in its coordinates (about [-6, 6]) and scaled to
//! [-1, 1]. `noise` is the playground's slider divided by 100 (0 to 0.5).

use std::f32::consts::PI;

use serde::Serialize;

/// Playground coordinates span [-6, 6]; the network sees them divided by this.
const SCALE: f32 = 6.0;

pub const NAMES: [&str; 6] = ["circle", "xor", "gauss", "spiral", "reg-plane", "reg-gauss"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    Classification,
    Regression,
}

pub fn task_of(name: &str) -> Task {
    if name.starts_with("reg-") { Task::Regression } else { Task::Classification }
}

/// Points (x, y) row-major and one target each: class 0/1, or a value in [-1, 1].
#[derive(Debug, Clone, Default)]
pub struct Split {
    pub x: Vec<f32>,
    pub y: Vec<f32>,
}

impl Split {
    pub fn len(&self) -> usize {
        self.y.len()
    }
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }
}

#[derive(Debug, Clone)]
pub struct Dataset {
    pub task: Task,
    pub train: Split,
    pub test: Split,
}

/// Small seeded generator for data (Philox words from a dedicated stream).
pub struct Rng {
    key: u64,
    counter: u32,
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng { key: seed, counter: 0 }
    }
    /// How many words were drawn: with the seed, the generator's whole state.
    pub fn counter(&self) -> u32 {
        self.counter
    }
    /// Continues a generator that had drawn `counter` words.
    pub fn resume(seed: u64, counter: u32) -> Rng {
        Rng { key: seed, counter }
    }
    pub fn next_u32(&mut self) -> u32 {
        self.counter += 1;
        nnlab_core::random::philox([self.counter, 0xda7a, 0, 0], [self.key as u32, (self.key >> 32) as u32])[0]
    }
    /// Uniform in [lo, hi).
    pub fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * ((self.next_u32() >> 8) as f32 / 16_777_216.0)
    }
    pub fn normal(&mut self, mean: f32, std: f32) -> f32 {
        let u1 = self.uniform(0.0, 1.0).max(1e-12);
        let u2 = self.uniform(0.0, 1.0);
        mean + std * (-2.0 * u1.ln()).sqrt() * (2.0 * PI * u2).cos()
    }
    /// Fisher-Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next_u32() as usize) % (i + 1);
            items.swap(i, j);
        }
    }
}

type Point = (f32, f32, f32);

fn circle(n: usize, noise: f32, rng: &mut Rng) -> Vec<Point> {
    let radius = 5.0;
    let mut pts = Vec::with_capacity(n);
    for i in 0..n {
        let (lo, hi) = if i < n / 2 { (0.0, radius * 0.5) } else { (radius * 0.7, radius) };
        let r = rng.uniform(lo, hi);
        let angle = rng.uniform(0.0, 2.0 * PI);
        let (x, y) = (r * angle.sin(), r * angle.cos());
        let (nx, ny) = (rng.uniform(-radius, radius) * noise, rng.uniform(-radius, radius) * noise);
        let label = if (x + nx).hypot(y + ny) < radius * 0.5 { 1.0 } else { 0.0 };
        pts.push((x, y, label));
    }
    pts
}

fn xor(n: usize, noise: f32, rng: &mut Rng) -> Vec<Point> {
    let pad = 0.3;
    (0..n)
        .map(|_| {
            let mut x = rng.uniform(-5.0, 5.0);
            x += if x > 0.0 { pad } else { -pad };
            let mut y = rng.uniform(-5.0, 5.0);
            y += if y > 0.0 { pad } else { -pad };
            let (nx, ny) = (rng.uniform(-5.0, 5.0) * noise, rng.uniform(-5.0, 5.0) * noise);
            let label = if (x + nx) * (y + ny) >= 0.0 { 1.0 } else { 0.0 };
            (x, y, label)
        })
        .collect()
}

fn gauss(n: usize, noise: f32, rng: &mut Rng) -> Vec<Point> {
    // Variance grows from 0.5 to 4 as noise goes from 0 to 0.5.
    let std = (0.5 + 7.0 * noise).sqrt();
    (0..n)
        .map(|i| {
            let (c, label) = if i < n / 2 { (2.0, 1.0) } else { (-2.0, 0.0) };
            (rng.normal(c, std), rng.normal(c, std), label)
        })
        .collect()
}

fn spiral(n: usize, noise: f32, rng: &mut Rng) -> Vec<Point> {
    let half = n / 2;
    let mut pts = Vec::with_capacity(n);
    for (delta, label) in [(0.0, 1.0), (PI, 0.0)] {
        for i in 0..half {
            let r = i as f32 / half as f32 * 5.0;
            let t = 1.75 * i as f32 / half as f32 * 2.0 * PI + delta;
            let x = r * t.sin() + rng.uniform(-1.0, 1.0) * noise;
            let y = r * t.cos() + rng.uniform(-1.0, 1.0) * noise;
            pts.push((x, y, label));
        }
    }
    pts
}

fn reg_plane(n: usize, noise: f32, rng: &mut Rng) -> Vec<Point> {
    (0..n)
        .map(|_| {
            let (x, y) = (rng.uniform(-6.0, 6.0), rng.uniform(-6.0, 6.0));
            let (nx, ny) = (rng.uniform(-6.0, 6.0) * noise, rng.uniform(-6.0, 6.0) * noise);
            (x, y, ((x + nx + y + ny) / 10.0).clamp(-1.0, 1.0))
        })
        .collect()
}

fn reg_gauss(n: usize, noise: f32, rng: &mut Rng) -> Vec<Point> {
    let bumps = [(-4.0, 2.5, 1.0), (0.0, 2.5, -1.0), (4.0, 2.5, 1.0), (-4.0, -2.5, -1.0), (0.0, -2.5, 1.0), (4.0, -2.5, -1.0)];
    (0..n)
        .map(|_| {
            let (x, y) = (rng.uniform(-6.0, 6.0), rng.uniform(-6.0, 6.0));
            let (nx, ny) = (rng.uniform(-6.0, 6.0) * noise, rng.uniform(-6.0, 6.0) * noise);
            // The strongest bump wins, as in the playground.
            let label = bumps.iter().fold(0.0f32, |best, &(cx, cy, sign)| {
                let d = (x + nx - cx).hypot(y + ny - cy);
                let v = sign * (1.0 - d / 2.0).max(0.0);
                if v.abs() > best.abs() { v } else { best }
            });
            (x, y, label)
        })
        .collect()
}

/// Generates `n` points of dataset `name`, shuffles them and splits off
/// `train_ratio` of them for training. Unknown names yield `None`.
pub fn generate(name: &str, n: usize, noise: f32, train_ratio: f32, seed: u64) -> Option<Dataset> {
    let mut rng = Rng::new(seed);
    let mut pts = match name {
        "circle" => circle(n, noise, &mut rng),
        "xor" => xor(n, noise, &mut rng),
        "gauss" => gauss(n, noise, &mut rng),
        "spiral" => spiral(n, noise, &mut rng),
        "reg-plane" => reg_plane(n, noise, &mut rng),
        "reg-gauss" => reg_gauss(n, noise, &mut rng),
        _ => return None,
    };
    rng.shuffle(&mut pts);
    let n_train = ((pts.len() as f32 * train_ratio).round() as usize).clamp(1, pts.len().saturating_sub(1).max(1));
    let split = |part: &[Point]| Split { x: part.iter().flat_map(|&(x, y, _)| [x / SCALE, y / SCALE]).collect(), y: part.iter().map(|p| p.2).collect() };
    Some(Dataset { task: task_of(name), train: split(&pts[..n_train]), test: split(&pts[n_train..]) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dataset_is_balanced_scaled_and_seeded() {
        for name in NAMES {
            let d = generate(name, 500, 0.1, 0.5, 7).unwrap();
            assert_eq!(d.train.len() + d.test.len(), 500, "{name}");
            assert!(d.train.x.iter().chain(&d.test.x).all(|v| v.abs() <= 1.5), "{name} scaled");
            assert_eq!(generate(name, 500, 0.1, 0.5, 7).unwrap().train.x, d.train.x, "{name} seeded");
            if d.task == Task::Classification {
                let ones = d.train.y.iter().chain(&d.test.y).filter(|&&y| y == 1.0).count();
                assert!((150..350).contains(&ones), "{name}: {ones} of 500 in class 1");
            }
        }
        assert!(generate("nonsense", 10, 0.0, 0.5, 1).is_none());
    }
}
