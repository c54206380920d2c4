//! The CPU reference backend: plain functions from (storage, layout) to fresh
//! contiguous storage. Correct for any strides; matmul and convolution go
//! through a packed GEMM (`matrixmultiply`) rather than strided triple loops.

mod conv;
mod index;
mod matmul;

pub use conv::{avg_pool2d, avg_pool2d_backward, conv2d, conv2d_input_grad, conv2d_weight_grad, max_pool2d, max_pool2d_backward, pool_out_size, conv_out_size};
pub use index::{concat, cumsum, index_select, pad, scatter_add};
pub use matmul::{matmul, MatSpec};

use crate::layout::Layout;
use crate::{BinaryOp, CmpOp, ReduceOp, UnaryOp};

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

fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 { 1.0 / (1.0 + (-x).exp()) } else { let e = x.exp(); e / (1.0 + e) }
}

pub fn unary_fn(op: UnaryOp) -> impl Fn(f32) -> f32 {
    move |x: f32| match op {
        UnaryOp::Neg => -x,
        UnaryOp::Exp => x.exp(),
        UnaryOp::Log => x.ln(),
        UnaryOp::Sqrt => x.sqrt(),
        UnaryOp::Recip => 1.0 / x,
        UnaryOp::Abs => x.abs(),
        UnaryOp::Tanh => x.tanh(),
        UnaryOp::Sigmoid => sigmoid(x),
        UnaryOp::Relu => x.max(0.0),
        UnaryOp::GeluErf => 0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2)),
        UnaryOp::GeluTanh => 0.5 * x * (1.0 + (GELU_C * (x + 0.044715 * x * x * x)).tanh()),
        UnaryOp::Sin => x.sin(),
        UnaryOp::Cos => x.cos(),
        UnaryOp::Erf => erf(x),
        UnaryOp::Powf(p) => x.powf(p),
        UnaryOp::Scale(s) => x * s,
        UnaryOp::AddScalar(s) => x + s,
    }
}

/// d/dx of each unary op, as a function of x (the backward pass multiplies
/// it into the incoming gradient in the same loop).
pub fn unary_derivative_fn(op: UnaryOp) -> impl Fn(f32) -> f32 {
    move |x: f32| match op {
        UnaryOp::Neg => -1.0,
        UnaryOp::Exp => x.exp(),
        UnaryOp::Log => 1.0 / x,
        UnaryOp::Sqrt => 0.5 / x.sqrt(),
        UnaryOp::Recip => -1.0 / (x * x),
        UnaryOp::Abs => (x > 0.0) as i32 as f32 - (x < 0.0) as i32 as f32,
        UnaryOp::Tanh => 1.0 - x.tanh() * x.tanh(),
        UnaryOp::Sigmoid => sigmoid(x) * (1.0 - sigmoid(x)),
        UnaryOp::Relu => (x > 0.0) as i32 as f32,
        UnaryOp::GeluErf => {
            let cdf = 0.5 * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2));
            cdf + x * (-0.5 * x * x).exp() * INV_SQRT_2PI
        }
        UnaryOp::GeluTanh => {
            let t = (GELU_C * (x + 0.044715 * x * x * x)).tanh();
            let du = GELU_C * (1.0 + 3.0 * 0.044715 * x * x);
            0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * du
        }
        UnaryOp::Sin => x.cos(),
        UnaryOp::Cos => -x.sin(),
        UnaryOp::Erf => std::f32::consts::FRAC_2_SQRT_PI * (-x * x).exp(),
        UnaryOp::Powf(p) => p * x.powf(p - 1.0),
        UnaryOp::Scale(s) => s,
        UnaryOp::AddScalar(_) => 1.0,
    }
}

/// sqrt(2 / pi), the tanh GELU's scale.
const GELU_C: f32 = 0.797_884_6;
const INV_SQRT_2PI: f32 = 0.398_942_3;

pub fn binary_fn(op: BinaryOp) -> fn(f32, f32) -> f32 {
    match op {
        BinaryOp::Add => |a, b| a + b,
        BinaryOp::Sub => |a, b| a - b,
        BinaryOp::Mul => |a, b| a * b,
        BinaryOp::Div => |a, b| a / b,
        BinaryOp::Max => |a, b| if a >= b || b.is_nan() { a } else { b },
        BinaryOp::Min => |a, b| if a <= b || b.is_nan() { a } else { b },
    }
}

pub fn cmp_fn(op: CmpOp) -> fn(f32, f32) -> f32 {
    match op {
        CmpOp::Eq => |a, b| (a == b) as u8 as f32,
        CmpOp::Ne => |a, b| (a != b) as u8 as f32,
        CmpOp::Lt => |a, b| (a < b) as u8 as f32,
        CmpOp::Le => |a, b| (a <= b) as u8 as f32,
        CmpOp::Gt => |a, b| (a > b) as u8 as f32,
        CmpOp::Ge => |a, b| (a >= b) as u8 as f32,
    }
}

pub fn map(data: &[f32], layout: &Layout, f: impl Fn(f32) -> f32) -> Vec<f32> {
    if layout.is_contiguous() {
        return data[layout.offset..layout.offset + layout.numel()].iter().map(|&x| f(x)).collect();
    }
    layout.indices().map(|i| f(data[i])).collect()
}

/// `f(a, b)` over two views of the same (broadcast) shape.
pub fn zip(a: &[f32], la: &Layout, b: &[f32], lb: &Layout, f: impl Fn(f32, f32) -> f32) -> Vec<f32> {
    let n = la.numel();
    if la.is_contiguous() && lb.is_contiguous() {
        return a[la.offset..la.offset + n].iter().zip(&b[lb.offset..lb.offset + n]).map(|(&x, &y)| f(x, y)).collect();
    }
    // Walk the views row by row along their last merged axis, so the index
    // arithmetic is paid once per row instead of once per element (a
    // BatchNorm's per-channel scale over [N, C, H, W] has rows of H * W).
    let (outer_a, outer_b, len, step_a, step_b) = rows_of(la, lb);
    let mut out = Vec::with_capacity(n);
    for (i, j) in outer_a.indices().zip(outer_b.indices()) {
        out.extend((0..len).map(|k| f(a[i + k * step_a], b[j + k * step_b])));
    }
    out
}

/// Two views of one shape with adjacent axes merged wherever both allow it:
/// the layouts of the rows' starts, the row length and each view's stride
/// along a row.
fn rows_of(la: &Layout, lb: &Layout) -> (Layout, Layout, usize, usize, usize) {
    let (mut shape, mut sa, mut sb) = (Vec::new(), Vec::new(), Vec::new());
    for ax in 0..la.rank() {
        let (d, x, y) = (la.shape[ax], la.strides[ax], lb.strides[ax]);
        if d == 1 {
            continue;
        }
        match (shape.last_mut(), sa.last_mut(), sb.last_mut()) {
            (Some(pd), Some(px), Some(py)) if *px == x * d && *py == y * d => {
                *pd *= d;
                *px = x;
                *py = y;
            }
            _ => {
                shape.push(d);
                sa.push(x);
                sb.push(y);
            }
        }
    }
    let (len, step_a, step_b) = match (shape.pop(), sa.pop(), sb.pop()) {
        (Some(d), Some(x), Some(y)) => (d, x, y),
        _ => (1, 0, 0),
    };
    let outer = |strides: Vec<usize>, offset: usize| Layout { shape: shape.clone(), strides, offset };
    (outer(sa, la.offset), outer(sb, lb.offset), len, step_a, step_b)
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
pub fn reduce(data: &[f32], layout: &Layout, axes: &[usize], op: ReduceOp) -> Vec<f32> {
    let (kept, red) = split_axes(layout, axes);
    let count = red.numel();
    let offsets: Vec<usize> = red.indices().collect();
    kept.indices()
        .map(|base| {
            let vals = offsets.iter().map(|&o| data[base + o]);
            match op {
                ReduceOp::Sum => vals.sum(),
                ReduceOp::Mean => vals.sum::<f32>() / count as f32,
                ReduceOp::Max => vals.fold(f32::NEG_INFINITY, f32::max),
                ReduceOp::Min => vals.fold(f32::INFINITY, f32::min),
                ReduceOp::ArgMax => vals.enumerate().fold((0, f32::NEG_INFINITY), |(bi, bv), (i, v)| if i == 0 || v > bv { (i, v) } else { (bi, bv) }).0 as f32,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The row-by-row walk gives what the element-by-element one does, for
    /// broadcast, transposed, offset and size-one views.
    #[test]
    fn zip_walks_any_pair_of_views() {
        let a: Vec<f32> = (0..120).map(|v| v as f32).collect();
        let b: Vec<f32> = (0..120).map(|v| (v * 7 % 13) as f32).collect();
        let full = Layout::contiguous(&[2, 3, 4, 5]);
        let cases = [
            (full.clone(), Layout::contiguous(&[3, 1, 1]).broadcast_to(&[2, 3, 4, 5]).unwrap()),
            (full.permute(&[0, 1, 3, 2]).unwrap(), Layout::contiguous(&[2, 3, 5, 4])),
            (Layout::contiguous(&[4, 5, 6]).narrow(2, 1, 3).unwrap(), Layout::contiguous(&[5, 1]).broadcast_to(&[4, 5, 3]).unwrap()),
            (Layout::contiguous(&[1, 6, 1]), Layout { shape: vec![1, 6, 1], strides: vec![0, 2, 0], offset: 3 }),
            (Layout::contiguous(&[]), Layout { shape: vec![], strides: vec![], offset: 9 }),
        ];
        for (la, lb) in cases {
            let lb = if lb.shape == la.shape { lb } else { lb.broadcast_to(&la.shape).unwrap() };
            let want: Vec<f32> = la.indices().zip(lb.indices()).map(|(i, j)| a[i] * 100.0 + b[j]).collect();
            assert_eq!(zip(&a, &la, &b, &lb, |x, y| x * 100.0 + y), want, "{:?} / {:?}", la, lb);
        }
    }
}
