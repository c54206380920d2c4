//! Procedural sequence tasks for recurrent and attention models. Every example's
//! input is `[T, F]` (time steps, features; batch-first once batched), and every
//! function shuffles with `seed` and splits `train_ratio` (in (0, 1]) of the `n`
//! examples for training.
//!
//! - [`adding`]: the adding problem (Hochreiter & Schmidhuber, 1997).
//! - [`copy_memory`]: remember symbols across a delay and recall them.
//! - [`parity`]: the XOR of a bit string.
//! - [`sine`]: forecast the next values of a noisy sine wave.

use std::f32::consts::PI;

use nnlab_core::{Error, Result};

use super::array::{ArrayDataset, Splits, Target, check_positive, check_ratio, check_size, split};
use crate::datasets::Rng;

/// A uniform index in `0..k` (`k > 0`).
fn below(rng: &mut Rng, k: usize) -> usize {
    (rng.next_u32() as usize) % k
}

/// The adding problem: x `[length, 2]`, where feature 0 is a value uniform in
/// [0, 1) and feature 1 a marker, 1 at exactly two steps (one uniform in the
/// first half, `0..length/2`, one in the second, `length/2..length`) and 0
/// elsewhere. y `[]` is the sum of the two marked values (mean 1), a
/// regression target. `length` must be at least 2.
pub fn adding(n: usize, length: usize, train_ratio: f32, seed: u64) -> Result<Splits> {
    const OP: &str = "sequence::adding";
    check_positive(OP, "n", n)?;
    if length < 2 {
        return Err(Error::InvalidArgument { op: OP, reason: format!("length must be at least 2 (one marker per half), got {length}") });
    }
    check_ratio(OP, train_ratio)?;
    check_size(OP, &[n, length, 2])?;
    let mut rng = Rng::new(seed);
    let half = length / 2;
    let mut x = Vec::with_capacity(n * length * 2);
    let mut y = Vec::with_capacity(n);
    for _ in 0..n {
        let values: Vec<f32> = (0..length).map(|_| rng.uniform(0.0, 1.0)).collect();
        let first = below(&mut rng, half);
        let second = half + below(&mut rng, length - half);
        for (t, &v) in values.iter().enumerate() {
            x.extend([v, if t == first || t == second { 1.0 } else { 0.0 }]);
        }
        y.push(values[first] + values[second]);
    }
    let all = ArrayDataset { x, x_shape: vec![length, 2], y, y_shape: vec![] };
    Ok(split(all, Target::Regression, train_ratio, seed))
}

/// The copy-memory task. With S = `symbols`, L = `length`, D = `delay`, x is
/// `[L + D + L, S + 2]`, one one-hot row per step over S + 2 indices: S symbols
/// (0..S), the blank (index S) and the delimiter (index S + 1):
///
/// - steps `0..L`: the L symbols to remember, each uniform in 0..S;
/// - steps `L..L + D`: blanks;
/// - step `L + D`: the delimiter, the cue to start recalling;
/// - steps `L + D + 1..2L + D`: blanks.
///
/// y `[L]` holds the L symbols in order: the outputs expected at the last L
/// steps (`L + D..2L + D`), the delimiter's step first. Target: `Classes(S)`.
/// `symbols` and `length` must be at least 1; `delay` may be 0.
pub fn copy_memory(n: usize, symbols: usize, length: usize, delay: usize, train_ratio: f32, seed: u64) -> Result<Splits> {
    const OP: &str = "sequence::copy_memory";
    check_positive(OP, "n", n)?;
    check_positive(OP, "symbols", symbols)?;
    check_positive(OP, "length", length)?;
    check_ratio(OP, train_ratio)?;
    let steps = length
        .checked_mul(2)
        .and_then(|l| l.checked_add(delay))
        .ok_or_else(|| Error::InvalidArgument { op: OP, reason: format!("length {length} + delay {delay} is too long") })?;
    let width = symbols.checked_add(2).ok_or_else(|| Error::InvalidArgument { op: OP, reason: format!("{symbols} symbols is too many") })?;
    check_size(OP, &[n, steps, width])?;
    let (blank, delimiter) = (symbols, symbols + 1);
    let mut rng = Rng::new(seed);
    let mut x = vec![0.0; n * steps * width];
    let mut y = Vec::with_capacity(n * length);
    for ex in x.chunks_exact_mut(steps * width) {
        let mut hot = |t: usize, k: usize| ex[t * width + k] = 1.0;
        for t in 0..length {
            let s = below(&mut rng, symbols);
            hot(t, s);
            y.push(s as f32);
        }
        for t in length..steps {
            hot(t, if t == length + delay { delimiter } else { blank });
        }
    }
    let all = ArrayDataset { x, x_shape: vec![steps, width], y, y_shape: vec![length] };
    Ok(split(all, Target::Classes(symbols), train_ratio, seed))
}

/// Parity: x `[length, 1]` random bits (0 or 1, each with probability 1/2),
/// y `[]` their XOR (1 when the number of ones is odd). Target: `Classes(2)`.
pub fn parity(n: usize, length: usize, train_ratio: f32, seed: u64) -> Result<Splits> {
    const OP: &str = "sequence::parity";
    check_positive(OP, "n", n)?;
    check_positive(OP, "length", length)?;
    check_ratio(OP, train_ratio)?;
    check_size(OP, &[n, length])?;
    let mut rng = Rng::new(seed);
    let mut x = Vec::with_capacity(n * length);
    let mut y = Vec::with_capacity(n);
    for _ in 0..n {
        let mut xor = 0u32;
        for _ in 0..length {
            let bit = rng.next_u32() >> 31;
            xor ^= bit;
            x.push(bit as f32);
        }
        y.push(xor as f32);
    }
    let all = ArrayDataset { x, x_shape: vec![length, 1], y, y_shape: vec![] };
    Ok(split(all, Target::Classes(2), train_ratio, seed))
}

/// Standard deviation of the observation noise in [`sine`].
pub const SINE_NOISE: f32 = 0.05;

/// Sine forecasting. Each example draws an amplitude A uniform in [0.5, 1.5],
/// a frequency f uniform in [0.05, 0.2] cycles per step and a phase p uniform in
/// [0, 2 pi), and s(t) = A sin(2 pi f t + p). x `[length, 1]` holds the
/// observations s(t) + noise (Gaussian, std 0.05) for t = 0..length; y
/// `[horizon]` the clean continuation s(length), ..., s(length + horizon - 1).
/// Target: `Regression`.
pub fn sine(n: usize, length: usize, horizon: usize, train_ratio: f32, seed: u64) -> Result<Splits> {
    const OP: &str = "sequence::sine";
    check_positive(OP, "n", n)?;
    check_positive(OP, "length", length)?;
    check_positive(OP, "horizon", horizon)?;
    check_ratio(OP, train_ratio)?;
    check_size(OP, &[n, length])?;
    check_size(OP, &[n, horizon])?;
    let mut rng = Rng::new(seed);
    let mut x = Vec::with_capacity(n * length);
    let mut y = Vec::with_capacity(n * horizon);
    for _ in 0..n {
        let amplitude = rng.uniform(0.5, 1.5);
        let omega = 2.0 * PI * rng.uniform(0.05, 0.2);
        let phase = rng.uniform(0.0, 2.0 * PI);
        // f64 phase so long series keep their precision.
        let s = |t: usize| amplitude * ((omega as f64 * t as f64 + phase as f64).sin() as f32);
        for t in 0..length {
            x.push(s(t) + rng.normal(0.0, SINE_NOISE));
        }
        y.extend((length..length + horizon).map(s));
    }
    let all = ArrayDataset { x, x_shape: vec![length, 1], y, y_shape: vec![horizon] };
    Ok(split(all, Target::Regression, train_ratio, seed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn examples(s: &Splits) -> impl Iterator<Item = (&[f32], &[f32])> {
        (0..s.train.len()).map(|i| s.train.get(i).unwrap()).chain((0..s.test.len()).map(|i| s.test.get(i).unwrap()))
    }

    fn invalid<T: std::fmt::Debug>(r: Result<T>) -> bool {
        matches!(r, Err(Error::InvalidArgument { .. }))
    }

    #[test]
    fn sequence_adding() {
        let s = adding(2000, 20, 0.75, 4).unwrap();
        assert_eq!(s.target, Target::Regression);
        assert_eq!((s.train.len(), s.test.len()), (1500, 500));
        assert_eq!((s.train.x_shape.clone(), s.train.y_shape.clone()), (vec![20, 2], vec![]));
        let mut total = 0.0;
        for (x, y) in examples(&s) {
            let marked: Vec<usize> = (0..20).filter(|&t| x[t * 2 + 1] == 1.0).collect();
            assert_eq!(marked.len(), 2);
            assert!(marked[0] < 10 && marked[1] >= 10);
            assert!((0..20).all(|t| (0.0..1.0).contains(&x[t * 2]) && (x[t * 2 + 1] == 0.0 || x[t * 2 + 1] == 1.0)));
            assert_eq!(y[0], x[marked[0] * 2] + x[marked[1] * 2]);
            total += y[0];
        }
        let mean = total / 2000.0;
        assert!((mean - 1.0).abs() < 0.1, "mean target {mean}");
        assert_eq!(adding(2000, 20, 0.75, 4).unwrap().train.x, s.train.x);
        assert_ne!(adding(2000, 20, 0.75, 5).unwrap().train.x, s.train.x);
        // The shortest sequence: one step per half.
        let s = adding(5, 2, 0.6, 1).unwrap();
        assert!(examples(&s).all(|(x, _)| x[1] == 1.0 && x[3] == 1.0));
        assert!(invalid(adding(0, 20, 0.5, 1)) && invalid(adding(10, 1, 0.5, 1)) && invalid(adding(10, 20, 0.0, 1)));
    }

    #[test]
    fn sequence_copy_memory() {
        let (symbols, length, delay) = (8, 5, 10);
        let s = copy_memory(300, symbols, length, delay, 0.5, 2).unwrap();
        assert_eq!(s.target, Target::Classes(8));
        assert_eq!((s.train.x_shape.clone(), s.train.y_shape.clone()), (vec![20, 10], vec![5]));
        let mut seen = [false; 8];
        for (x, y) in examples(&s) {
            let hot: Vec<usize> = x
                .chunks(10)
                .map(|row| {
                    assert_eq!(row.iter().sum::<f32>(), 1.0, "one-hot");
                    row.iter().position(|&v| v == 1.0).unwrap()
                })
                .collect();
            assert_eq!(y, hot[..length].iter().map(|&k| k as f32).collect::<Vec<_>>().as_slice());
            hot[..length].iter().for_each(|&k| seen[k] = true);
            let mut tail = vec![symbols; length + delay];
            tail[delay] = symbols + 1;
            assert_eq!(&hot[length..], tail.as_slice());
        }
        assert!(seen.iter().all(|&b| b), "every symbol occurs");
        assert_eq!(copy_memory(300, symbols, length, delay, 0.5, 2).unwrap().test.y, s.test.y);
        assert_ne!(copy_memory(300, symbols, length, delay, 0.5, 3).unwrap().test.y, s.test.y);
        // No delay: the delimiter follows the symbols at once.
        let s = copy_memory(4, 3, 2, 0, 0.5, 1).unwrap();
        assert_eq!(s.train.x_shape, vec![4, 5]);
        assert!(examples(&s).all(|(x, _)| x[2 * 5 + 4] == 1.0 && x[3 * 5 + 3] == 1.0));
        assert!(invalid(copy_memory(0, 8, 5, 10, 0.5, 1)));
        assert!(invalid(copy_memory(10, 0, 5, 10, 0.5, 1)));
        assert!(invalid(copy_memory(10, 8, 0, 10, 0.5, 1)));
        assert!(invalid(copy_memory(10, 8, 5, usize::MAX, 0.5, 1)));
        assert!(invalid(copy_memory(10, 8, 5, 10, -1.0, 1)));
    }

    #[test]
    fn sequence_parity() {
        let s = parity(2000, 12, 0.5, 9).unwrap();
        assert_eq!(s.target, Target::Classes(2));
        assert_eq!((s.train.x_shape.clone(), s.train.y_shape.clone()), (vec![12, 1], vec![]));
        let mut ones = 0;
        for (x, y) in examples(&s) {
            assert!(x.iter().all(|&b| b == 0.0 || b == 1.0));
            let count = x.iter().filter(|&&b| b == 1.0).count();
            assert_eq!(y[0], (count % 2) as f32);
            ones += y[0] as usize;
        }
        assert!((900..=1100).contains(&ones), "{ones} of 2000 odd");
        assert_eq!(parity(2000, 12, 0.5, 9).unwrap().train.x, s.train.x);
        assert_ne!(parity(2000, 12, 0.5, 10).unwrap().train.x, s.train.x);
        assert!(invalid(parity(0, 12, 0.5, 1)) && invalid(parity(10, 0, 0.5, 1)) && invalid(parity(10, 12, f32::NAN, 1)));
    }

    #[test]
    fn sequence_sine() {
        let (length, horizon) = (30, 5);
        let s = sine(500, length, horizon, 0.8, 6).unwrap();
        assert_eq!(s.target, Target::Regression);
        assert_eq!((s.train.x_shape.clone(), s.train.y_shape.clone()), (vec![30, 1], vec![5]));
        let (mut jump, mut step) = (0.0, 0.0);
        for (x, y) in examples(&s) {
            assert!(x.iter().all(|v| v.abs() < 1.5 + 6.0 * SINE_NOISE));
            assert!(y.iter().all(|v| v.abs() <= 1.5));
            // y is a clean sinusoid: y[k-1] + y[k+1] = 2 cos(w) y[k] for one w.
            let k = (1..horizon - 1).max_by(|&a, &b| y[a].abs().total_cmp(&y[b].abs())).unwrap();
            let c = (y[k - 1] + y[k + 1]) / y[k];
            assert!((2.0 * (2.0 * PI * 0.2).cos() - 1e-3..=2.0 * (2.0 * PI * 0.05).cos() + 1e-3).contains(&c), "{c}");
            for j in 1..horizon - 1 {
                assert!((y[j - 1] + y[j + 1] - c * y[j]).abs() < 1e-3);
            }
            // ... that continues the observed series: the same recurrence predicts
            // y[0] from the last two observations, up to the noise.
            let predicted = c * x[length - 1] - x[length - 2];
            assert!((y[0] - predicted).abs() < 10.0 * SINE_NOISE, "{} vs {predicted}", y[0]);
            jump += (y[0] - x[length - 1]).abs();
            step += (x[length - 1] - x[length - 2]).abs();
        }
        // The step into the forecast is like any step of the series.
        assert!(jump < 1.3 * step && step < 1.3 * jump, "{jump} vs {step}");
        assert_eq!(sine(500, length, horizon, 0.8, 6).unwrap().train.y, s.train.y);
        assert_ne!(sine(500, length, horizon, 0.8, 7).unwrap().train.y, s.train.y);
        assert!(invalid(sine(0, 30, 5, 0.5, 1)) && invalid(sine(10, 0, 5, 0.5, 1)) && invalid(sine(10, 30, 0, 0.5, 1)));
        assert!(invalid(sine(10, 30, 5, 2.0, 1)));
    }
}
