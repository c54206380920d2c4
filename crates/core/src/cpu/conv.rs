//! 2D convolution (NCHW input, [out, in/groups, kh, kw] weight) by im2col + GEMM,
//! its two gradients, and max/average pooling. Inputs are contiguous.

use std::borrow::Cow;

use super::matmul::{MatSpec, matmul};
use crate::{Conv2dParams, Pool2dParams};

pub fn conv_out_size(input: usize, kernel: usize, stride: usize, padding: usize, dilation: usize) -> Option<usize> {
    let span = dilation * (kernel - 1) + 1;
    (input + 2 * padding).checked_sub(span).map(|r| r / stride + 1)
}

/// Geometry shared by the forward pass and both gradients.
struct Geom {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    o: usize,
    kh: usize,
    kw: usize,
    oh: usize,
    ow: usize,
    g: usize,
    cg: usize,
    og: usize,
    p: Conv2dParams,
}

impl Geom {
    fn new(x: [usize; 4], w: [usize; 4], p: Conv2dParams) -> Geom {
        let oh = conv_out_size(x[2], w[2], p.stride[0], p.padding[0], p.dilation[0]).unwrap_or(0);
        let ow = conv_out_size(x[3], w[3], p.stride[1], p.padding[1], p.dilation[1]).unwrap_or(0);
        Geom { n: x[0], c: x[1], h: x[2], w: x[3], o: w[0], kh: w[2], kw: w[3], oh, ow, g: p.groups, cg: x[1] / p.groups, og: w[0] / p.groups, p }
    }
    fn rows(&self) -> usize {
        self.cg * self.kh * self.kw
    }
    fn cols(&self) -> usize {
        self.oh * self.ow
    }
    /// The output positions along `axis` whose tap `k` lands inside the
    /// input, and the input coordinate of output position 0 for that tap
    /// (position o reads `start + o * stride`).
    fn span(&self, axis: usize, k: usize) -> (usize, usize, isize) {
        let (stride, limit, outs) = (self.p.stride[axis] as isize, if axis == 0 { self.h } else { self.w } as isize, if axis == 0 { self.oh } else { self.ow });
        let start = (k * self.p.dilation[axis]) as isize - self.p.padding[axis] as isize;
        let lo = if start >= 0 { 0 } else { (-start + stride - 1) / stride };
        let hi = if limit > start { (limit - start + stride - 1) / stride } else { 0 };
        (lo as usize, (hi as usize).min(outs), start)
    }
    /// Calls `f(row, col, input_index)` for every in-bounds im2col entry of (n, group).
    fn for_each_tap(&self, n: usize, grp: usize, mut f: impl FnMut(usize, usize, usize)) {
        let (sy, sx) = (self.p.stride[0], self.p.stride[1]);
        for c in 0..self.cg {
            let plane = ((n * self.c) + grp * self.cg + c) * self.h * self.w;
            for ky in 0..self.kh {
                let (y_lo, y_hi, y0) = self.span(0, ky);
                for kx in 0..self.kw {
                    let row = (c * self.kh + ky) * self.kw + kx;
                    let (x_lo, x_hi, x0) = self.span(1, kx);
                    for oy in y_lo..y_hi {
                        let at = plane as isize + (y0 + (oy * sy) as isize) * self.w as isize + x0;
                        for ox in x_lo..x_hi {
                            f(row, oy * self.ow + ox, (at + (ox * sx) as isize) as usize);
                        }
                    }
                }
            }
        }
    }
    /// One output channel per group (depthwise convolution): every group's
    /// product is a single row, cheaper to sum tap by tap than through a
    /// GEMM call per example and group.
    fn one_per_group(&self) -> bool {
        self.og == 1
    }
    /// A 1x1 convolution with stride 1 and no padding: the input plane of a
    /// group already is its im2col matrix.
    fn pointwise(&self) -> bool {
        self.kh == 1 && self.kw == 1 && self.p.stride == [1, 1] && self.p.padding == [0, 0]
    }
    fn im2col<'x>(&self, x: &'x [f32], n: usize, grp: usize) -> Cow<'x, [f32]> {
        if self.pointwise() {
            let at = (n * self.c + grp * self.cg) * self.h * self.w;
            return Cow::Borrowed(&x[at..at + self.rows() * self.cols()]);
        }
        let mut cols = vec![0.0; self.rows() * self.cols()];
        let n_cols = self.cols();
        self.for_each_tap(n, grp, |row, col, xi| cols[row * n_cols + col] = x[xi]);
        Cow::Owned(cols)
    }
}

fn rowmajor(rows_stride: usize, offset: usize) -> MatSpec {
    MatSpec::single(rows_stride, 1, offset)
}

fn transposed(rows_stride: usize, offset: usize) -> MatSpec {
    MatSpec::single(1, rows_stride, offset)
}

pub fn conv2d(x: &[f32], xs: [usize; 4], w: &[f32], ws: [usize; 4], p: Conv2dParams) -> (Vec<f32>, [usize; 4]) {
    let g = Geom::new(xs, ws, p);
    let mut out = vec![0.0; g.n * g.o * g.cols()];
    for n in 0..g.n {
        for grp in 0..g.g {
            if g.one_per_group() {
                let (at, w_at) = ((n * g.o + grp) * g.cols(), grp * g.rows());
                g.for_each_tap(n, grp, |row, col, xi| out[at + col] += w[w_at + row] * x[xi]);
                continue;
            }
            let cols = g.im2col(x, n, grp);
            let y = matmul(w, rowmajor(g.rows(), grp * g.og * g.rows()), &cols, rowmajor(g.cols(), 0), 1, g.og, g.cols(), g.rows(), 1.0);
            let start = (n * g.o + grp * g.og) * g.cols();
            out[start..start + y.len()].copy_from_slice(&y);
        }
    }
    (out, [g.n, g.o, g.oh, g.ow])
}

pub fn conv2d_input_grad(gy: &[f32], w: &[f32], ws: [usize; 4], xs: [usize; 4], p: Conv2dParams) -> Vec<f32> {
    let g = Geom::new(xs, ws, p);
    let mut dx = vec![0.0; xs.iter().product()];
    for n in 0..g.n {
        for grp in 0..g.g {
            let gy_at = (n * g.o + grp * g.og) * g.cols();
            if g.one_per_group() {
                let w_at = grp * g.rows();
                g.for_each_tap(n, grp, |row, col, xi| dx[xi] += w[w_at + row] * gy[gy_at + col]);
                continue;
            }
            // dcols (rows x cols) = W_g^T (rows x og) @ gy_g (og x cols)
            let dcols = matmul(w, transposed(g.rows(), grp * g.og * g.rows()), gy, rowmajor(g.cols(), gy_at), 1, g.rows(), g.cols(), g.og, 1.0);
            if g.pointwise() {
                let at = (n * g.c + grp * g.cg) * g.h * g.w;
                dx[at..at + dcols.len()].copy_from_slice(&dcols);
                continue;
            }
            let n_cols = g.cols();
            g.for_each_tap(n, grp, |row, col, xi| dx[xi] += dcols[row * n_cols + col]);
        }
    }
    dx
}

pub fn conv2d_weight_grad(x: &[f32], xs: [usize; 4], gy: &[f32], ws: [usize; 4], p: Conv2dParams) -> Vec<f32> {
    let g = Geom::new(xs, ws, p);
    let mut dw = vec![0.0; ws.iter().product()];
    for n in 0..g.n {
        for grp in 0..g.g {
            let gy_at = (n * g.o + grp * g.og) * g.cols();
            if g.one_per_group() {
                let w_at = grp * g.rows();
                g.for_each_tap(n, grp, |row, col, xi| dw[w_at + row] += gy[gy_at + col] * x[xi]);
                continue;
            }
            let cols = g.im2col(x, n, grp);
            // dW_g (og x rows) += gy_g (og x cols) @ cols^T (cols x rows)
            let part = matmul(gy, rowmajor(g.cols(), gy_at), &cols, transposed(g.cols(), 0), 1, g.og, g.rows(), g.cols(), 1.0);
            let start = grp * g.og * g.rows();
            for (d, v) in dw[start..start + part.len()].iter_mut().zip(part) {
                *d += v;
            }
        }
    }
    dw
}

/// Calls `f(out_index, [oy, ox], window)` where `window` lists the in-bounds
/// input indices of each pooling window.
fn for_each_window(xs: [usize; 4], p: Pool2dParams, mut f: impl FnMut(usize, [usize; 2], &[usize])) -> [usize; 4] {
    let [n, c, h, w] = xs;
    let oh = p.output_size(0, h).unwrap_or(0);
    let ow = p.output_size(1, w).unwrap_or(0);
    let mut window = Vec::with_capacity(p.kernel[0] * p.kernel[1]);
    for plane in 0..n * c {
        for oy in 0..oh {
            for ox in 0..ow {
                window.clear();
                for ky in 0..p.kernel[0] {
                    for kx in 0..p.kernel[1] {
                        let iy = (oy * p.stride[0] + ky * p.dilation[0]) as isize - p.padding[0] as isize;
                        let ix = (ox * p.stride[1] + kx * p.dilation[1]) as isize - p.padding[1] as isize;
                        if iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < w {
                            window.push(plane * h * w + iy as usize * w + ix as usize);
                        }
                    }
                }
                f((plane * oh + oy) * ow + ox, [oy, ox], &window);
            }
        }
    }
    [n, c, oh, ow]
}

fn argmax_in(x: &[f32], window: &[usize]) -> Option<usize> {
    window.iter().copied().fold(None, |best, i| match best {
        Some(b) if x[b] >= x[i] => Some(b),
        _ => Some(i),
    })
}

pub fn max_pool2d(x: &[f32], xs: [usize; 4], p: Pool2dParams) -> (Vec<f32>, [usize; 4]) {
    let mut out = Vec::new();
    let shape = for_each_window(xs, p, |_, _, win| out.push(argmax_in(x, win).map_or(f32::NEG_INFINITY, |i| x[i])));
    (out, shape)
}

/// The position of each window's maximum within its plane (row-major over
/// H, W), as torch's return_indices gives it; -1 for an empty window.
pub fn max_pool2d_indices(x: &[f32], xs: [usize; 4], p: Pool2dParams) -> (Vec<f32>, [usize; 4]) {
    let plane = xs[2] * xs[3];
    let mut out = Vec::new();
    let shape = for_each_window(xs, p, |_, _, win| out.push(argmax_in(x, win).map_or(-1.0, |i| (i % plane) as f32)));
    (out, shape)
}

pub fn max_pool2d_backward(x: &[f32], xs: [usize; 4], gy: &[f32], p: Pool2dParams) -> Vec<f32> {
    let mut dx = vec![0.0; xs.iter().product()];
    for_each_window(xs, p, |o, _, win| {
        if let Some(i) = argmax_in(x, win) {
            dx[i] += gy[o];
        }
    });
    dx
}

/// The divisor of average pooling's window at `[oy, ox]` (see `Pool2dParams::average_span`).
fn average_divisor(xs: [usize; 4], p: Pool2dParams, at: [usize; 2]) -> f32 {
    (p.average_span(0, at[0], xs[2]) * p.average_span(1, at[1], xs[3])) as f32
}

pub fn avg_pool2d(x: &[f32], xs: [usize; 4], p: Pool2dParams) -> (Vec<f32>, [usize; 4]) {
    let mut out = Vec::new();
    let shape = for_each_window(xs, p, |_, at, win| out.push(win.iter().map(|&i| x[i]).sum::<f32>() / average_divisor(xs, p, at)));
    (out, shape)
}

pub fn avg_pool2d_backward(xs: [usize; 4], gy: &[f32], p: Pool2dParams) -> Vec<f32> {
    let mut dx = vec![0.0; xs.iter().product()];
    for_each_window(xs, p, |o, at, win| {
        let share = gy[o] / average_divisor(xs, p, at);
        for &i in win {
            dx[i] += share;
        }
    });
    dx
}
