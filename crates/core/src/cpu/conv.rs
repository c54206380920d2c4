//! 2D convolution (NCHW input, [out, in/groups, kh, kw] weight) by im2col + GEMM,
//! its two gradients, and max/average pooling. Inputs are contiguous.

use super::matmul::{matmul, MatSpec};
use crate::{Conv2dParams, Pool2dParams};

pub fn conv_out_size(input: usize, kernel: usize, stride: usize, padding: usize, dilation: usize) -> Option<usize> {
    let span = dilation * (kernel - 1) + 1;
    (input + 2 * padding).checked_sub(span).map(|r| r / stride + 1)
}

pub fn pool_out_size(input: usize, kernel: usize, stride: usize, padding: usize) -> Option<usize> {
    conv_out_size(input, kernel, stride, padding, 1)
}

/// Geometry shared by the forward pass and both gradients.
struct Geom {
    n: usize, c: usize, h: usize, w: usize,
    o: usize, kh: usize, kw: usize,
    oh: usize, ow: usize,
    g: usize, cg: usize, og: usize,
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
    /// Input coordinate for output position `o` and kernel tap `k` on one axis.
    fn src(&self, axis: usize, o: usize, k: usize) -> Option<usize> {
        let pos = (o * self.p.stride[axis] + k * self.p.dilation[axis]) as isize - self.p.padding[axis] as isize;
        let limit = if axis == 0 { self.h } else { self.w };
        (pos >= 0 && (pos as usize) < limit).then_some(pos as usize)
    }
    /// Calls `f(col_index, input_index)` for every in-bounds im2col entry of (n, group).
    fn for_each_tap(&self, n: usize, grp: usize, mut f: impl FnMut(usize, usize)) {
        for c in 0..self.cg {
            let plane = ((n * self.c) + grp * self.cg + c) * self.h * self.w;
            for ky in 0..self.kh {
                for kx in 0..self.kw {
                    let row = (c * self.kh + ky) * self.kw + kx;
                    for oy in 0..self.oh {
                        let Some(iy) = self.src(0, oy, ky) else { continue };
                        for ox in 0..self.ow {
                            if let Some(ix) = self.src(1, ox, kx) {
                                f(row * self.cols() + oy * self.ow + ox, plane + iy * self.w + ix);
                            }
                        }
                    }
                }
            }
        }
    }
    fn im2col(&self, x: &[f32], n: usize, grp: usize) -> Vec<f32> {
        let mut cols = vec![0.0; self.rows() * self.cols()];
        self.for_each_tap(n, grp, |ci, xi| cols[ci] = x[xi]);
        cols
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
            // dcols (rows x cols) = W_g^T (rows x og) @ gy_g (og x cols)
            let dcols = matmul(w, transposed(g.rows(), grp * g.og * g.rows()), gy, rowmajor(g.cols(), gy_at), 1, g.rows(), g.cols(), g.og, 1.0);
            g.for_each_tap(n, grp, |ci, xi| dx[xi] += dcols[ci]);
        }
    }
    dx
}

pub fn conv2d_weight_grad(x: &[f32], xs: [usize; 4], gy: &[f32], ws: [usize; 4], p: Conv2dParams) -> Vec<f32> {
    let g = Geom::new(xs, ws, p);
    let mut dw = vec![0.0; ws.iter().product()];
    for n in 0..g.n {
        for grp in 0..g.g {
            let cols = g.im2col(x, n, grp);
            let gy_at = (n * g.o + grp * g.og) * g.cols();
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

/// Calls `f(out_index, window)` where `window` lists the in-bounds input indices
/// of each pooling window, plus the number of padded taps it skipped.
fn for_each_window(xs: [usize; 4], p: Pool2dParams, mut f: impl FnMut(usize, &[usize])) -> [usize; 4] {
    let [n, c, h, w] = xs;
    let oh = pool_out_size(h, p.kernel[0], p.stride[0], p.padding[0]).unwrap_or(0);
    let ow = pool_out_size(w, p.kernel[1], p.stride[1], p.padding[1]).unwrap_or(0);
    let mut window = Vec::with_capacity(p.kernel[0] * p.kernel[1]);
    for plane in 0..n * c {
        for oy in 0..oh {
            for ox in 0..ow {
                window.clear();
                for ky in 0..p.kernel[0] {
                    for kx in 0..p.kernel[1] {
                        let iy = (oy * p.stride[0] + ky) as isize - p.padding[0] as isize;
                        let ix = (ox * p.stride[1] + kx) as isize - p.padding[1] as isize;
                        if iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < w {
                            window.push(plane * h * w + iy as usize * w + ix as usize);
                        }
                    }
                }
                f((plane * oh + oy) * ow + ox, &window);
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
    let shape = for_each_window(xs, p, |_, win| out.push(argmax_in(x, win).map_or(f32::NEG_INFINITY, |i| x[i])));
    (out, shape)
}

pub fn max_pool2d_backward(x: &[f32], xs: [usize; 4], gy: &[f32], p: Pool2dParams) -> Vec<f32> {
    let mut dx = vec![0.0; xs.iter().product()];
    for_each_window(xs, p, |o, win| {
        if let Some(i) = argmax_in(x, win) {
            dx[i] += gy[o];
        }
    });
    dx
}

/// Average pooling counting padded taps (PyTorch's count_include_pad=True).
pub fn avg_pool2d(x: &[f32], xs: [usize; 4], p: Pool2dParams) -> (Vec<f32>, [usize; 4]) {
    let area = (p.kernel[0] * p.kernel[1]) as f32;
    let mut out = Vec::new();
    let shape = for_each_window(xs, p, |_, win| out.push(win.iter().map(|&i| x[i]).sum::<f32>() / area));
    (out, shape)
}

pub fn avg_pool2d_backward(xs: [usize; 4], gy: &[f32], p: Pool2dParams) -> Vec<f32> {
    let area = (p.kernel[0] * p.kernel[1]) as f32;
    let mut dx = vec![0.0; xs.iter().product()];
    for_each_window(xs, p, |o, win| {
        for &i in win {
            dx[i] += gy[o] / area;
        }
    });
    dx
}
