//! The CPU reference backend: plain functions from (storage, layout) to fresh
//! contiguous storage. Correct for any strides; matmul and convolution go
//! through a packed GEMM (`matrixmultiply`) rather than strided triple loops.

mod conv;
mod elementwise;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod gemm_wasm;
mod index;
mod matmul;

pub use conv::{
    avg_pool2d, avg_pool2d_backward, conv_out_size, conv2d, conv2d_input_grad, conv2d_weight_grad, max_pool2d, max_pool2d_backward, max_pool2d_indices,
};
pub use elementwise::{binary, cmp, unary, unary_backward};
pub use index::{concat, cumsum, index_select, pad, scatter_add};
pub use matmul::{MatSpec, matmul};

use crate::ReduceOp;
use crate::layout::Layout;

/// The elements of a view in row-major order.
pub fn gather(data: &[f32], layout: &Layout) -> Vec<f32> {
    if layout.is_contiguous() {
        return data[layout.offset..layout.offset + layout.numel()].to_vec();
    }
    layout.indices().map(|i| data[i]).collect()
}

pub fn erf(x: f32) -> f32 {
    libm::erff(x)
}

/// e^x without a call into libm, so loops over it vectorise (the LSTM cell's
/// gates, sigmoid and tanh): Cody-Waite reduction x = n ln2 + r with |r| <=
/// ln2 / 2, Cephes' degree-6 polynomial for e^r (within 2 ulp of the exact
/// value), and 2^n built from n's bits. n is rounded by adding 1.5 * 2^23,
/// which leaves n in the sum's low mantissa bits. The input is clamped to
/// where e^x is a normal f32, so callers that need infinity or a subnormal
/// (the Exp op) keep std's `exp`; a NaN stays NaN.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const ROUND: f32 = 12_582_912.0;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let x = x.clamp(-87.3, 88.37);
    // Not `mul_add`: without FMA in the target (wasm) that is a libm call.
    let shifted = x * std::f32::consts::LOG2_E + ROUND;
    let n = shifted - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = 1.987_569_1e-4;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 0.166_666_65;
    let p = p * r + 0.5;
    let e_r = p * r * r + r + 1.0;
    let n_bits = shifted.to_bits().wrapping_sub(ROUND.to_bits());
    e_r * f32::from_bits(n_bits.wrapping_add(127) << 23)
}

/// tanh through one `exp`: below 1/4 an odd Taylor polynomial (error under
/// 1e-10); above, 1 - 2 / (e^2|x| + 1), whose error stays under 1e-7
/// absolute and 5e-7 relative (f32's own rounding is 6e-8). Both sides are
/// computed and one selected, so a loop over it has no branch.
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    let a = x.abs();
    let s = a * a;
    let small = a * (1.0 + s * (-1.0 / 3.0 + s * (2.0 / 15.0 + s * (-17.0 / 315.0 + s * (62.0 / 2835.0 - s * (1382.0 / 155_925.0))))));
    let large = 1.0 - 2.0 / (exp(2.0 * a) + 1.0);
    let t = if a < 0.25 { small } else { large };
    t.copysign(x)
}

/// 1 / (1 + e^-x) through e^-|x|, which cannot overflow; branch-free like
/// `tanh`.
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    let e = exp(-x.abs());
    let s = 1.0 / (1.0 + e);
    if x >= 0.0 { s } else { e * s }
}

pub fn select(m: &[f32], lm: &Layout, t: &[f32], lt: &Layout, f: &[f32], lf: &Layout) -> Vec<f32> {
    lm.indices().zip(lt.indices()).zip(lf.indices()).map(|((i, j), k)| if m[i] != 0.0 { t[j] } else { f[k] }).collect()
}

/// Splits a layout into the kept axes (one output each) and the reduced axes.
pub fn split_axes(layout: &Layout, axes: &[usize]) -> (Layout, Layout) {
    let (mut kept, mut red) = (Layout { shape: vec![], strides: vec![], offset: layout.offset }, Layout { shape: vec![], strides: vec![], offset: 0 });
    for ax in 0..layout.rank() {
        let target = if axes.contains(&ax) { &mut red } else { &mut kept };
        target.shape.push(layout.shape[ax]);
        target.strides.push(layout.strides[ax]);
    }
    (kept, red)
}

/// Reduces over `axes`; the output is contiguous over the kept axes in order.
/// Each output folds its inputs one by one in row-major order (so results
/// do not depend on how the view is laid out), walking the reduced axes as
/// merged rows.
pub fn reduce(data: &[f32], layout: &Layout, axes: &[usize], op: ReduceOp) -> Vec<f32> {
    let (kept, red) = split_axes(layout, axes);
    let count = red.numel();
    let (rows, len, step) = elementwise::rows(&red);
    let starts: Vec<usize> = if count == 0 { Vec::new() } else { rows.indices().collect() };
    let fold = |init: f32, f: fn(f32, f32) -> f32| {
        kept.indices()
            .map(|base| {
                let mut acc = init;
                for &s in &starts {
                    let row = base + s;
                    if step == 1 {
                        acc = data[row..row + len].iter().fold(acc, |a, &v| f(a, v));
                    } else {
                        acc = (0..len).fold(acc, |a, k| f(a, data[row + k * step]));
                    }
                }
                acc
            })
            .collect::<Vec<f32>>()
    };
    match op {
        // -0.0 starts a sum as std's `Iterator::sum` does (an empty or all
        // -0.0 sum stays -0.0).
        ReduceOp::Sum => fold(-0.0, |a, v| a + v),
        ReduceOp::Mean => fold(-0.0, |a, v| a + v).into_iter().map(|v| v / count as f32).collect(),
        ReduceOp::Max => fold(f32::NEG_INFINITY, f32::max),
        ReduceOp::Min => fold(f32::INFINITY, f32::min),
        ReduceOp::ArgMax => kept
            .indices()
            .map(|base| {
                let values = starts.iter().flat_map(|&s| (0..len).map(move |k| data[base + s + k * step]));
                values.enumerate().fold((0, f32::NEG_INFINITY), |(bi, bv), (i, v)| if i == 0 || v > bv { (i, v) } else { (bi, bv) }).0 as f32
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    /// Against f64's tanh at every 1/4096 from -12 to 12 and at the edges:
    /// the bounds its comment promises, and the values IEEE gives the
    /// special inputs.
    #[test]
    fn tanh_is_within_its_bounds_everywhere() {
        let (mut worst_abs, mut worst_rel) = (0.0f64, 0.0f64);
        for i in -49_152..=49_152 {
            for x in [i as f32 / 4096.0, i as f32 / 4096.0 + 1e-4, 1e-30 * i as f32] {
                let (got, want) = (super::tanh(x) as f64, (x as f64).tanh());
                worst_abs = worst_abs.max((got - want).abs());
                if want != 0.0 {
                    worst_rel = worst_rel.max(((got - want) / want).abs());
                }
            }
        }
        assert!(worst_abs <= 1e-7 && worst_rel <= 5e-7, "absolute {worst_abs:e}, relative {worst_rel:e}");
        assert_eq!(super::tanh(f32::INFINITY), 1.0);
        assert_eq!(super::tanh(f32::NEG_INFINITY), -1.0);
        assert_eq!(super::tanh(-0.0).to_bits(), (-0.0f32).to_bits());
        assert_eq!(super::tanh(100.0), 1.0);
        assert!(super::tanh(f32::NAN).is_nan());
    }

    /// `exp` against f64's over its whole clamped range, in ulps of the
    /// exact value; `sigmoid` everywhere it is not 0 or 1 in f32, absolute.
    #[test]
    fn exp_and_sigmoid_are_within_their_bounds() {
        let mut worst_ulps = 0.0f64;
        for i in -87_000..=88_000 {
            let x = i as f32 / 1000.0 + 3e-4;
            let want = (x as f64).exp();
            let ulp = (want as f32).next_up() as f64 - want as f32 as f64;
            worst_ulps = worst_ulps.max((super::exp(x) as f64 - want).abs() / ulp);
        }
        assert!(worst_ulps <= 2.0, "{worst_ulps} ulps");
        assert!(super::exp(f32::NAN).is_nan());
        assert_eq!(super::exp(0.0), 1.0);
        let mut worst = 0.0f64;
        for i in -120_000..=120_000 {
            let x = i as f32 / 1000.0;
            let want = 1.0 / (1.0 + (-(x as f64)).exp());
            worst = worst.max((super::sigmoid(x) as f64 - want).abs());
        }
        assert!(worst <= 1e-7, "sigmoid off by {worst:e}");
        assert_eq!(super::sigmoid(f32::INFINITY), 1.0);
        // e^-87.3, where `exp` clamps: the smallest normal f32 but one.
        assert!((0.0..1.3e-38).contains(&super::sigmoid(f32::NEG_INFINITY)));
        assert!(super::sigmoid(f32::NAN).is_nan());
    }
}
