//! An MNIST-1D-style procedural dataset, after Greydanus, "Scaling down deep
//! learning" (2020, arXiv:2011.14439): ten hand-made 1D templates, one per
//! "digit", each turned into an example of 40 values by a random stretch,
//! padding, circular shift, correlated and independent noise and a shear. Like
//! the original it is small and fast but not trivial: the class is in the
//! shape, not at a fixed position, and the noise is strong enough that matching
//! each example against the ten clean templates at every shift gets about 80%
//! of them right (see the tests), well above chance but far from all.
//!
//! The recipe follows the paper's in spirit; the templates and constants are
//! nnlab's own, so the numbers are not the published dataset's.

use nnlab_core::Result;

use super::array::{ArrayDataset, Splits, Target, check_positive, check_ratio, check_size, split};
use crate::datasets::Rng;

pub const CLASSES: usize = 10;
/// Points per template.
pub const TEMPLATE_LEN: usize = 12;
/// Points per example (x_shape `[1, 40]`).
pub const LEN: usize = 40;

/// The ten templates, digit-like strokes of 12 points that start and end at 0
/// (the level of the padding) and differ in where they rise, fall and plateau:
/// 0 a round hump, 1 a drop then a rising ramp, 2 up then down (an S), 3 two
/// humps, 4 a falling ramp cut off sharply, 5 a trough then a hump, 6 a round
/// trough, 7 a jump then a falling ramp, 8 two troughs, 9 a trough then a small
/// late rise.
pub const TEMPLATES: [[f32; TEMPLATE_LEN]; CLASSES] = [
    [0.0, 1.0, 1.5, 1.75, 2.0, 2.0, 2.0, 2.0, 1.75, 1.5, 1.0, 0.0],
    [0.0, -2.0, -2.0, -1.6, -1.2, -0.8, -0.4, 0.0, 0.4, 0.8, 0.0, 0.0],
    [0.0, 1.0, 1.5, 1.5, 1.0, 0.25, -0.25, -1.0, -1.5, -1.5, -1.0, 0.0],
    [0.0, 1.0, 1.5, 1.5, 1.0, 0.0, 0.0, 1.0, 1.5, 1.5, 1.0, 0.0],
    [0.0, -0.6, -1.2, -1.8, -2.4, -2.4, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    [0.0, -2.0, -2.0, -2.0, -2.0, 0.0, 1.0, 1.5, 1.5, 1.0, -0.5, 0.0],
    [0.0, -1.0, -1.5, -1.75, -2.0, -2.0, -2.0, -2.0, -1.75, -1.5, -1.0, 0.0],
    [0.0, 2.0, 2.0, 1.6, 1.2, 0.8, 0.4, 0.0, -0.4, -0.8, 0.0, 0.0],
    [0.0, -1.0, -1.5, -1.5, -1.0, 0.0, 0.0, -1.0, -1.5, -1.5, -1.0, 0.0],
    [0.0, -1.0, -1.5, -1.5, -1.0, 0.0, 0.0, 0.0, 0.0, 0.3, 0.7, 0.0],
];

/// Time stretch of the template, by linear interpolation: x0.8 to x1.2.
const STRETCH: (f32, f32) = (0.8, 1.2);
/// Amplitude scale: x0.8 to x1.2 (the paper's `scale_coeff` 0.4).
const AMPLITUDE: (f32, f32) = (0.8, 1.2);
/// The stretched template is padded with zeros to this many points in all,
/// which also varies its width relative to the final 40 points.
const PADDED: (usize, usize) = (36, 60);
/// Standard deviation of the correlated noise: white noise smoothed by a
/// Gaussian kernel of `CORR_SIGMA` points, rescaled to this standard deviation.
const CORR_STD: f32 = 0.25;
const CORR_SIGMA: f32 = 2.0;
/// Standard deviation of the independent Gaussian noise on every point.
const IID_STD: f32 = 0.25;
/// The shear adds `c * (t - 0.5)` for t from 0 to 1 along the padded sequence,
/// with c uniform in [-SHEAR, SHEAR] (the paper's `shear_scale` 0.75 / 2).
const SHEAR: f32 = 0.375;

/// Resamples `v` to `m` points by linear interpolation, keeping both ends.
fn resample(v: &[f32], m: usize) -> Vec<f32> {
    match (v.len(), m) {
        (_, 0) | (0, _) => Vec::new(),
        (1, _) => vec![v[0]; m],
        (_, 1) => vec![v[0]],
        (len, _) => (0..m)
            .map(|j| {
                let pos = j as f32 * (len - 1) as f32 / (m - 1) as f32;
                let i = (pos.floor() as usize).min(len - 2);
                let t = pos - i as f32;
                v[i] * (1.0 - t) + v[i + 1] * t
            })
            .collect(),
    }
}

/// A smooth random curve of `len` points with standard deviation `std`: white
/// noise convolved (circularly) with a Gaussian of `sigma` points, the kernel
/// scaled to unit energy so the result keeps the noise's variance.
fn correlated_noise(len: usize, sigma: f32, std: f32, rng: &mut Rng) -> Vec<f32> {
    let white: Vec<f32> = (0..len).map(|_| rng.normal(0.0, 1.0)).collect();
    let radius = (3.0 * sigma).ceil() as isize;
    let kernel: Vec<f32> = (-radius..=radius).map(|d| (-(d * d) as f32 / (2.0 * sigma * sigma)).exp()).collect();
    let norm = kernel.iter().map(|k| k * k).sum::<f32>().sqrt();
    (0..len as isize)
        .map(|i| {
            let s: f32 = (-radius..=radius).map(|d| kernel[(d + radius) as usize] * white[(i + d).rem_euclid(len as isize) as usize]).sum();
            std * s / norm
        })
        .collect()
}

/// One example of class `class`: the 40 values.
fn example(class: usize, rng: &mut Rng) -> Vec<f32> {
    // 1. Stretch the template in time and scale its amplitude.
    let width = ((TEMPLATE_LEN as f32 * rng.uniform(STRETCH.0, STRETCH.1)).round() as usize).max(2);
    let amplitude = rng.uniform(AMPLITUDE.0, AMPLITUDE.1);
    let stroke = resample(&TEMPLATES[class], width);
    // 2. Pad with zeros to 36..=60 points.
    let len = PADDED.0 + (rng.next_u32() as usize) % (PADDED.1 - PADDED.0 + 1);
    let mut seq: Vec<f32> = stroke.iter().map(|v| v * amplitude).chain(std::iter::repeat(0.0)).take(len).collect();
    // 3. Shift circularly to a random position.
    let shift = (rng.next_u32() as usize) % len;
    seq.rotate_right(shift);
    // 4. Correlated noise (a smooth random curve), then independent noise.
    let smooth = correlated_noise(len, CORR_SIGMA, CORR_STD, rng);
    for (v, s) in seq.iter_mut().zip(smooth) {
        *v += s + rng.normal(0.0, IID_STD);
    }
    // 5. Shear: a random linear tilt of the baseline.
    let c = rng.uniform(-SHEAR, SHEAR);
    for (j, v) in seq.iter_mut().enumerate() {
        *v += c * (j as f32 / (len - 1) as f32 - 0.5);
    }
    // 6. Resample to the final 40 points.
    resample(&seq, LEN)
}

/// `n` examples, x `[1, 40]` (one channel, batch-first per example) and y the
/// class (`[]`), classes in turn 0, 1, ..., 9, 0, ... (so balanced to within
/// one), shuffled with `seed` and split `train_ratio` (in (0, 1]) for training.
pub fn generate(n: usize, train_ratio: f32, seed: u64) -> Result<Splits> {
    const OP: &str = "mnist1d::generate";
    check_positive(OP, "n", n)?;
    check_ratio(OP, train_ratio)?;
    check_size(OP, &[n, LEN])?;
    let mut rng = Rng::new(seed);
    let mut x = Vec::with_capacity(n * LEN);
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let class = i % CLASSES;
        x.extend(example(class, &mut rng));
        y.push(class as f32);
    }
    let all = ArrayDataset { x, x_shape: vec![1, LEN], y, y_shape: vec![] };
    Ok(split(all, Target::Classes(CLASSES), train_ratio, seed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use nnlab_core::Error;

    /// The noiseless example of each class: template unstretched, padded to the
    /// middle length, unshifted, resampled to 40.
    fn references() -> Vec<Vec<f32>> {
        let mid = (PADDED.0 + PADDED.1) / 2;
        TEMPLATES.iter().map(|t| resample(&t.iter().copied().chain(std::iter::repeat(0.0)).take(mid).collect::<Vec<_>>(), LEN)).collect()
    }

    /// Nearest reference over all circular shifts, after removing each mean.
    fn nearest_template(x: &[f32], refs: &[Vec<f32>]) -> usize {
        let centre = |v: &[f32]| {
            let m = v.iter().sum::<f32>() / v.len() as f32;
            v.iter().map(|a| a - m).collect::<Vec<_>>()
        };
        let x = centre(x);
        let mut best = (f32::INFINITY, 0);
        for (c, r) in refs.iter().enumerate() {
            let r = centre(r);
            for k in 0..LEN {
                let d: f32 = (0..LEN).map(|j| (x[j] - r[(j + k) % LEN]).powi(2)).sum();
                if d < best.0 {
                    best = (d, c);
                }
            }
        }
        best.1
    }

    #[test]
    fn mnist1d_shapes_balance_and_determinism() {
        let s = generate(1000, 0.8, 11).unwrap();
        assert_eq!(s.target, Target::Classes(10));
        assert_eq!((s.train.len(), s.test.len()), (800, 200));
        for d in [&s.train, &s.test] {
            assert_eq!(d.x_shape, vec![1, 40]);
            assert!(d.y_shape.is_empty());
            assert_eq!(d.x.len(), d.len() * 40);
            assert!(d.x.iter().all(|v| v.is_finite() && v.abs() < 6.0));
        }
        let mut hist = [0usize; 10];
        s.train.y.iter().chain(&s.test.y).for_each(|&y| hist[y as usize] += 1);
        assert!(hist.iter().all(|c| (80..=120).contains(c)), "{hist:?}");
        let again = generate(1000, 0.8, 11).unwrap();
        assert_eq!((again.train.x, again.test.y), (s.train.x.clone(), s.test.y.clone()));
        assert_ne!(generate(1000, 0.8, 12).unwrap().train.x, s.train.x);
        assert!(matches!(generate(0, 0.8, 1), Err(Error::InvalidArgument { .. })));
        assert!(matches!(generate(10, 1.5, 1), Err(Error::InvalidArgument { .. })));
    }

    #[test]
    fn mnist1d_templates_are_distinct() {
        let refs = references();
        for a in 0..CLASSES {
            assert_eq!((TEMPLATES[a][0], TEMPLATES[a][TEMPLATE_LEN - 1]), (0.0, 0.0));
            assert_eq!(nearest_template(&refs[a], &refs), a, "template {a}");
        }
    }

    #[test]
    fn mnist1d_nearest_template_is_above_chance_but_imperfect() {
        let s = generate(1000, 0.5, 3).unwrap();
        let refs = references();
        let d = &s.test;
        let correct = (0..d.len()).filter(|&i| nearest_template(d.get(i).unwrap().0, &refs) == d.y[i] as usize).count();
        let acc = correct as f32 / d.len() as f32;
        eprintln!("nearest-template accuracy {acc}");
        assert!((0.3..0.95).contains(&acc), "accuracy {acc}");
    }
}
