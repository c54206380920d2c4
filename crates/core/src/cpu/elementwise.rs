//! Elementwise ops on the CPU. Each op's formula is matched once per call,
//! not once per element, so every op gets a loop of its own that the
//! compiler can vectorise; views are walked row by row along their merged
//! last axis, with the common row kinds (both contiguous, one side a
//! broadcast scalar) as plain slice loops.

use crate::layout::Layout;
use crate::{BinaryOp, CmpOp, UnaryOp};

use super::{erf, sigmoid, tanh};

/// sqrt(2 / pi), the tanh GELU's scale.
const GELU_C: f32 = 0.797_884_6;
const INV_SQRT_2PI: f32 = 0.398_942_3;

/// Expands `$body` once per unary op with `$f` bound to that op's function of x.
macro_rules! per_unary_op {
    ($op:expr, $f:ident => $body:expr) => {
        match $op {
            UnaryOp::Neg => {
                let $f = |x: f32| -x;
                $body
            }
            UnaryOp::Exp => {
                let $f = |x: f32| x.exp();
                $body
            }
            UnaryOp::Log => {
                let $f = |x: f32| x.ln();
                $body
            }
            UnaryOp::Sqrt => {
                let $f = |x: f32| x.sqrt();
                $body
            }
            UnaryOp::Recip => {
                let $f = |x: f32| 1.0 / x;
                $body
            }
            UnaryOp::Abs => {
                let $f = |x: f32| x.abs();
                $body
            }
            UnaryOp::Tanh => {
                let $f = tanh;
                $body
            }
            UnaryOp::Sigmoid => {
                let $f = sigmoid;
                $body
            }
            UnaryOp::Relu => {
                let $f = |x: f32| x.max(0.0);
                $body
            }
            UnaryOp::GeluErf => {
                let $f = |x: f32| 0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2));
                $body
            }
            UnaryOp::GeluTanh => {
                let $f = |x: f32| 0.5 * x * (1.0 + tanh(GELU_C * (x + 0.044715 * x * x * x)));
                $body
            }
            UnaryOp::Sin => {
                let $f = |x: f32| x.sin();
                $body
            }
            UnaryOp::Cos => {
                let $f = |x: f32| x.cos();
                $body
            }
            UnaryOp::Erf => {
                let $f = erf;
                $body
            }
            UnaryOp::Powf(p) => {
                let $f = move |x: f32| x.powf(p);
                $body
            }
            UnaryOp::Scale(s) => {
                let $f = move |x: f32| x * s;
                $body
            }
            UnaryOp::AddScalar(s) => {
                let $f = move |x: f32| x + s;
                $body
            }
        }
    };
}

/// The same with `$derivative` bound to the op's derivative as a function of
/// x (backward multiplies it into the incoming gradient in the same loop).
macro_rules! per_unary_derivative {
    ($op:expr, $derivative:ident => $body:expr) => {
        match $op {
            UnaryOp::Neg => {
                let $derivative = |_: f32| -1.0;
                $body
            }
            UnaryOp::Exp => {
                let $derivative = |x: f32| x.exp();
                $body
            }
            UnaryOp::Log => {
                let $derivative = |x: f32| 1.0 / x;
                $body
            }
            UnaryOp::Sqrt => {
                let $derivative = |x: f32| 0.5 / x.sqrt();
                $body
            }
            UnaryOp::Recip => {
                let $derivative = |x: f32| -1.0 / (x * x);
                $body
            }
            UnaryOp::Abs => {
                let $derivative = |x: f32| (x > 0.0) as i32 as f32 - (x < 0.0) as i32 as f32;
                $body
            }
            UnaryOp::Tanh => {
                let $derivative = |x: f32| {
                    let t = tanh(x);
                    1.0 - t * t
                };
                $body
            }
            UnaryOp::Sigmoid => {
                let $derivative = |x: f32| {
                    let s = sigmoid(x);
                    s * (1.0 - s)
                };
                $body
            }
            UnaryOp::Relu => {
                let $derivative = |x: f32| (x > 0.0) as i32 as f32;
                $body
            }
            UnaryOp::GeluErf => {
                let $derivative = |x: f32| {
                    let cdf = 0.5 * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2));
                    cdf + x * (-0.5 * x * x).exp() * INV_SQRT_2PI
                };
                $body
            }
            UnaryOp::GeluTanh => {
                let $derivative = |x: f32| {
                    let t = tanh(GELU_C * (x + 0.044715 * x * x * x));
                    let du = GELU_C * (1.0 + 3.0 * 0.044715 * x * x);
                    0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * du
                };
                $body
            }
            UnaryOp::Sin => {
                let $derivative = |x: f32| x.cos();
                $body
            }
            UnaryOp::Cos => {
                let $derivative = |x: f32| -x.sin();
                $body
            }
            UnaryOp::Erf => {
                let $derivative = |x: f32| std::f32::consts::FRAC_2_SQRT_PI * (-x * x).exp();
                $body
            }
            UnaryOp::Powf(p) => {
                let $derivative = move |x: f32| p * x.powf(p - 1.0);
                $body
            }
            UnaryOp::Scale(s) => {
                let $derivative = move |_: f32| s;
                $body
            }
            UnaryOp::AddScalar(_) => {
                let $derivative = |_: f32| 1.0;
                $body
            }
        }
    };
}

pub fn unary(op: UnaryOp, data: &[f32], layout: &Layout) -> Vec<f32> {
    per_unary_op!(op, f => map(data, layout, f))
}

/// `g * f'(x)` for the unary op f.
pub fn unary_backward(op: UnaryOp, x: &[f32], lx: &Layout, g: &[f32], lg: &Layout) -> Vec<f32> {
    per_unary_derivative!(op, d => zip(x, lx, g, lg, |x, g| g * d(x)))
}

pub fn binary(op: BinaryOp, a: &[f32], la: &Layout, b: &[f32], lb: &Layout) -> Vec<f32> {
    match op {
        BinaryOp::Add => zip(a, la, b, lb, |a, b| a + b),
        BinaryOp::Sub => zip(a, la, b, lb, |a, b| a - b),
        BinaryOp::Mul => zip(a, la, b, lb, |a, b| a * b),
        BinaryOp::Div => zip(a, la, b, lb, |a, b| a / b),
        BinaryOp::Max => zip(a, la, b, lb, |a, b| if a >= b || b.is_nan() { a } else { b }),
        BinaryOp::Min => zip(a, la, b, lb, |a, b| if a <= b || b.is_nan() { a } else { b }),
    }
}

/// 0/1 masks.
pub fn cmp(op: CmpOp, a: &[f32], la: &Layout, b: &[f32], lb: &Layout) -> Vec<f32> {
    match op {
        CmpOp::Eq => zip(a, la, b, lb, |a, b| (a == b) as u8 as f32),
        CmpOp::Ne => zip(a, la, b, lb, |a, b| (a != b) as u8 as f32),
        CmpOp::Lt => zip(a, la, b, lb, |a, b| (a < b) as u8 as f32),
        CmpOp::Le => zip(a, la, b, lb, |a, b| (a <= b) as u8 as f32),
        CmpOp::Gt => zip(a, la, b, lb, |a, b| (a > b) as u8 as f32),
        CmpOp::Ge => zip(a, la, b, lb, |a, b| (a >= b) as u8 as f32),
    }
}

/// `f(x)` over a view.
pub fn map(data: &[f32], layout: &Layout, f: impl Fn(f32) -> f32) -> Vec<f32> {
    let n = layout.numel();
    if layout.is_contiguous() {
        return data[layout.offset..layout.offset + n].iter().map(|&x| f(x)).collect();
    }
    let (outer, len, step) = rows(layout);
    let mut out = Vec::with_capacity(n);
    for i in outer.indices() {
        if step == 1 {
            out.extend(data[i..i + len].iter().map(|&x| f(x)));
        } else {
            out.extend((0..len).map(|k| f(data[i + k * step])));
        }
    }
    out
}

/// `f(a, b)` over two views of the same (broadcast) shape.
pub fn zip(a: &[f32], la: &Layout, b: &[f32], lb: &Layout, f: impl Fn(f32, f32) -> f32) -> Vec<f32> {
    let n = la.numel();
    if la.is_contiguous() && lb.is_contiguous() {
        return a[la.offset..la.offset + n].iter().zip(&b[lb.offset..lb.offset + n]).map(|(&x, &y)| f(x, y)).collect();
    }
    // The index arithmetic is paid once per row instead of once per element
    // (a BatchNorm's per-channel scale over [N, C, H, W] has rows of H * W
    // against one number).
    let (outer_a, outer_b, len, step_a, step_b) = rows_of(la, lb);
    let mut out = Vec::with_capacity(n);
    for (i, j) in outer_a.indices().zip(outer_b.indices()) {
        match (step_a, step_b) {
            (1, 1) => out.extend(a[i..i + len].iter().zip(&b[j..j + len]).map(|(&x, &y)| f(x, y))),
            (1, 0) => {
                let y = b[j];
                out.extend(a[i..i + len].iter().map(|&x| f(x, y)))
            }
            (0, 1) => {
                let x = a[i];
                out.extend(b[j..j + len].iter().map(|&y| f(x, y)))
            }
            _ => out.extend((0..len).map(|k| f(a[i + k * step_a], b[j + k * step_b]))),
        }
    }
    out
}

/// One view's rows: the layout of their starts, their length and stride.
pub(super) fn rows(layout: &Layout) -> (Layout, usize, usize) {
    let (starts, _, len, step, _) = rows_of(layout, layout);
    (starts, len, step)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn views() -> Vec<(Layout, Layout)> {
        let full = Layout::contiguous(&[2, 3, 4, 5]);
        vec![
            (full.clone(), Layout::contiguous(&[3, 1, 1]).broadcast_to(&[2, 3, 4, 5]).unwrap()),
            (Layout::contiguous(&[3, 1, 1]).broadcast_to(&[2, 3, 4, 5]).unwrap(), full.clone()),
            (full.permute(&[0, 1, 3, 2]).unwrap(), Layout::contiguous(&[2, 3, 5, 4])),
            (Layout::contiguous(&[4, 5, 6]).narrow(2, 1, 3).unwrap(), Layout::contiguous(&[5, 1]).broadcast_to(&[4, 5, 3]).unwrap()),
            (Layout::contiguous(&[4, 5, 6]).narrow(1, 1, 3).unwrap(), Layout::contiguous(&[4, 3, 6]).narrow(2, 0, 6).unwrap()),
            (Layout::contiguous(&[1, 6, 1]), Layout { shape: vec![1, 6, 1], strides: vec![0, 2, 0], offset: 3 }),
            (Layout::contiguous(&[]), Layout { shape: vec![], strides: vec![], offset: 9 }),
        ]
    }

    /// The row-by-row walk gives what the element-by-element one does, for
    /// broadcast (on either side), transposed, offset and size-one views.
    #[test]
    fn zip_and_map_walk_any_view() {
        let a: Vec<f32> = (0..120).map(|v| v as f32).collect();
        let b: Vec<f32> = (0..120).map(|v| (v * 7 % 13) as f32).collect();
        for (la, lb) in views() {
            let lb = if lb.shape == la.shape { lb } else { lb.broadcast_to(&la.shape).unwrap() };
            let want: Vec<f32> = la.indices().zip(lb.indices()).map(|(i, j)| a[i] * 100.0 + b[j]).collect();
            assert_eq!(zip(&a, &la, &b, &lb, |x, y| x * 100.0 + y), want, "{:?} / {:?}", la, lb);
            let want: Vec<f32> = lb.indices().map(|j| b[j] * 3.0 + 1.0).collect();
            assert_eq!(map(&b, &lb, |y| y * 3.0 + 1.0), want, "{:?}", lb);
        }
    }
}
