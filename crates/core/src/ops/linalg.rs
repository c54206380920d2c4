//! Matrix multiply, 2D convolution and pooling, plus the gradient kernels the
//! backward rules call for them.

use nnlab_gpu::{ConvGeometry, MatrixView, PoolGeometry};

use super::{Data, common_device};
use crate::cpu::{self, MatSpec};
use crate::layout::broadcast_shape;
use crate::{Conv2dParams, Error, Layout, Op, Pool2dParams, Result, Storage, Tensor};

/// The batch of matrices a rank >= 2 layout describes, when its batch axes
/// collapse into at most two strides.
fn mat_spec(l: &Layout) -> Option<MatSpec> {
    let r = l.rank();
    // Runs of batch axes that walk memory with one stride, innermost first: (matrices, stride).
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for ax in (0..r - 2).rev() {
        let (d, s) = (l.shape[ax], l.strides[ax]);
        match runs.last_mut() {
            _ if d == 1 => {}
            Some((count, stride)) if s == *stride * *count => *count *= d,
            _ => runs.push((d, s)),
        }
    }
    let (inner, batch_stride, outer_stride) = match runs[..] {
        [] => (1, 0, 0),
        [(count, stride)] => (count, stride, 0),
        [(count, stride), (_, outer)] => (count, stride, outer),
        _ => return None,
    };
    Some(MatSpec { batch_stride, inner, outer_stride, row_stride: l.strides[r - 2], col_stride: l.strides[r - 1], offset: l.offset })
}

fn conv_geometry(xs: [usize; 4], ws: [usize; 4], p: Conv2dParams) -> ConvGeometry {
    let out = |i: usize| cpu::conv_out_size(xs[2 + i], ws[2 + i], p.stride[i], p.padding[i], p.dilation[i]).unwrap_or(0);
    ConvGeometry { input: xs, weight: ws, output: [out(0), out(1)], stride: p.stride, padding: p.padding, dilation: p.dilation, groups: p.groups }
}

fn pool_geometry(xs: [usize; 4], p: Pool2dParams, average: bool) -> PoolGeometry {
    let out = |i: usize| p.output_size(i, xs[2 + i]).unwrap_or(0);
    PoolGeometry {
        input: xs,
        kernel: p.kernel,
        stride: p.stride,
        padding: p.padding,
        dilation: p.dilation,
        output: [out(0), out(1)],
        average,
        count_include_pad: p.count_include_pad,
    }
}

fn dims4(t: &Tensor, op: &'static str) -> Result<[usize; 4]> {
    <[usize; 4]>::try_from(t.shape()).map_err(|_| Error::InvalidArgument { op, reason: format!("expected a 4D NCHW tensor, got shape {:?}", t.shape()) })
}

impl Tensor {
    /// Batched `self @ other` with broadcasting over the leading axes.
    pub fn matmul(&self, other: &Tensor) -> Result<Tensor> {
        self.matmul_with(other, None, 1.0)
    }

    /// `alpha * self.matmul(other)`, scaled by the matmul kernel (attention's
    /// scores: no separate pass over them, forward or backward).
    pub fn matmul_scaled(&self, other: &Tensor, alpha: f32) -> Result<Tensor> {
        self.matmul_with(other, None, alpha)
    }

    /// `self.matmul(other) + bias` for a bias over the output's columns ([N]),
    /// added by the matmul kernel (a linear layer's forward pass).
    pub fn matmul_bias(&self, other: &Tensor, bias: &Tensor) -> Result<Tensor> {
        self.matmul_with(other, Some(bias), 1.0)
    }

    fn matmul_with(&self, other: &Tensor, bias_input: Option<&Tensor>, alpha: f32) -> Result<Tensor> {
        common_device("matmul", &[self, other])?;
        let (ra, rb) = (self.rank(), other.rank());
        if ra < 2 || rb < 2 || self.shape()[ra - 1] != other.shape()[rb - 2] {
            return Err(Error::ShapeMismatch { op: "matmul", lhs: self.shape().to_vec(), rhs: other.shape().to_vec() });
        }
        let (m, k, n) = (self.shape()[ra - 2], self.shape()[ra - 1], other.shape()[rb - 1]);
        if let Some(b) = bias_input {
            common_device("matmul", &[self, b])?;
            if b.shape() != [n] {
                return Err(Error::ShapeMismatch { op: "matmul bias", lhs: vec![n], rhs: b.shape().to_vec() });
            }
        }
        // The bias as contiguous values (a narrowed slice of a packed bias stays a view).
        let bias = bias_input.map(|b| b.contiguous()).transpose()?;
        let batch_shape = broadcast_shape("matmul", &self.shape()[..ra - 2], &other.shape()[..rb - 2])?;
        let batch: usize = batch_shape.iter().product();
        let full = |t: &Tensor, rows, cols| -> Result<(Tensor, MatSpec)> {
            let shape: Vec<usize> = batch_shape.iter().copied().chain([rows, cols]).collect();
            let view = t.broadcast_to(&shape)?;
            match mat_spec(view.layout()) {
                Some(spec) => Ok((view, spec)),
                None => {
                    let c = view.contiguous()?;
                    let spec = mat_spec(c.layout()).expect("contiguous batches collapse");
                    Ok((c, spec))
                }
            }
        };
        let (a, sa) = full(self, m, k)?;
        let (b, sb) = full(other, k, n)?;
        // [B, M, K] @ [K, N] (a weight shared by the batch) is one [B*M, K] @ [K, N]
        // product when A's batches follow each other row by row: one large
        // matrix keeps a GPU busier than many small ones.
        let (kb, km) = if batch > 1 && sa.inner == batch && sb.inner == batch && sb.batch_stride == 0 && sa.batch_stride == m * sa.row_stride {
            (1, batch * m)
        } else {
            (batch, m)
        };
        let (sa, sb) = if kb == 1 { (MatSpec { inner: 1, ..sa }, MatSpec { inner: 1, ..sb }) } else { (sa, sb) };
        let storage = match (a.data(), b.data()) {
            (Data::Cpu(x), Data::Cpu(y)) => {
                let mut out = cpu::matmul(x, sa, y, sb, kb, km, n, k, alpha);
                if let Some(bias) = &bias {
                    let bv = bias.cpu_contiguous("matmul")?;
                    for row in out.chunks_mut(n.max(1)) {
                        row.iter_mut().zip(&bv).for_each(|(o, b)| *o += b);
                    }
                }
                Storage::Cpu(out)
            }
            (Data::Gpu(ctx, x), Data::Gpu(_, y)) => {
                let mv = |s: MatSpec| MatrixView {
                    batch_stride: s.batch_stride,
                    inner: s.inner,
                    outer_stride: s.outer_stride,
                    row_stride: s.row_stride,
                    col_stride: s.col_stride,
                    offset: s.offset,
                };
                // On the same device as x (checked above), so on the GPU too.
                let bias = bias.as_ref().and_then(|b| match b.data() {
                    Data::Gpu(_, buf) => Some((buf, b.layout().offset)),
                    Data::Cpu(_) => None,
                });
                Storage::Gpu(ctx.matmul(x, mv(sa), y, mv(sb), bias, alpha, kb, km, n, k)?)
            }
            _ => unreachable!("devices checked above"),
        };
        let shape: Vec<usize> = batch_shape.iter().copied().chain([m, n]).collect();
        let op = match bias_input {
            Some(b) => Op::MatmulBias(self.clone(), other.clone(), b.clone()),
            None => Op::Matmul(self.clone(), other.clone(), alpha),
        };
        Ok(Tensor::from_storage(storage, &shape, Some(op)))
    }

    /// 2D convolution: input [N, C, H, W], weight [O, C / groups, KH, KW].
    pub fn conv2d(&self, w: &Tensor, p: Conv2dParams) -> Result<Tensor> {
        self.conv2d_bias(w, None, p)
    }

    /// `conv2d` plus a per-output-channel bias [O], added by the same kernel.
    pub fn conv2d_bias(&self, w: &Tensor, bias: Option<&Tensor>, p: Conv2dParams) -> Result<Tensor> {
        common_device("conv2d", &[self, w])?;
        if let Some(b) = bias {
            common_device("conv2d", &[self, b])?;
            if b.shape() != [w.shape().first().copied().unwrap_or(0)] {
                return Err(Error::ShapeMismatch { op: "conv2d bias", lhs: w.shape().to_vec(), rhs: b.shape().to_vec() });
            }
        }
        let (xs, ws) = (dims4(self, "conv2d")?, dims4(w, "conv2d")?);
        let bad = |reason: String| Err(Error::InvalidArgument { op: "conv2d", reason });
        if p.groups == 0 || xs[1] % p.groups != 0 || ws[0] % p.groups != 0 || ws[1] * p.groups != xs[1] {
            return bad(format!("input {xs:?} and weight {ws:?} do not fit groups = {}", p.groups));
        }
        if p.stride.contains(&0) || p.dilation.contains(&0) || ws[2] == 0 || ws[3] == 0 {
            return bad("stride, dilation and kernel size must be >= 1".into());
        }
        let fits = (0..2).all(|i| cpu::conv_out_size(xs[2 + i], ws[2 + i], p.stride[i], p.padding[i], p.dilation[i]).is_some());
        if !fits {
            return bad(format!("kernel {:?} does not fit input {:?} with padding {:?}", &ws[2..], &xs[2..], p.padding));
        }
        let op = Some(Op::Conv2d { x: self.clone(), w: w.clone(), b: bias.cloned(), p });
        if let (Some((ctx, xb)), Some((_, wb))) = (self.gpu_dense()?, w.gpu_dense()?) {
            let g = conv_geometry(xs, ws, p);
            let shape = [xs[0], ws[0], g.output[0], g.output[1]];
            let bias = bias.map(|b| b.gpu_dense()).transpose()?.flatten();
            return Ok(Tensor::from_storage(Storage::Gpu(ctx.conv2d(&g, &xb, &wb, bias.as_ref().map(|(_, b)| b))?), &shape, op));
        }
        let (x, wv) = (self.cpu_contiguous("conv2d")?, w.cpu_contiguous("conv2d")?);
        let (mut out, shape) = cpu::conv2d(&x, xs, &wv, ws, p);
        if let Some(b) = bias {
            let bv = b.cpu_contiguous("conv2d")?;
            let plane = shape[2] * shape[3];
            for (i, v) in out.iter_mut().enumerate() {
                *v += bv[(i / plane) % shape[1]];
            }
        }
        Ok(Tensor::from_storage(Storage::Cpu(out), &shape, op))
    }

    pub(crate) fn conv2d_input_grad(gy: &Tensor, w: &Tensor, xs: [usize; 4], p: Conv2dParams) -> Result<Tensor> {
        let ws = dims4(w, "conv2d")?;
        if let (Some((ctx, gb)), Some((_, wb))) = (gy.gpu_dense()?, w.gpu_dense()?) {
            return Ok(Tensor::from_storage(Storage::Gpu(ctx.conv2d_input_grad(&conv_geometry(xs, ws, p), &gb, &wb)?), &xs, None));
        }
        let dx = cpu::conv2d_input_grad(&gy.cpu_contiguous("conv2d backward")?, &w.cpu_contiguous("conv2d backward")?, ws, xs, p);
        Tensor::from_vec(dx, &xs, &gy.device())
    }

    pub(crate) fn conv2d_weight_grad(x: &Tensor, gy: &Tensor, ws: [usize; 4], p: Conv2dParams) -> Result<Tensor> {
        let xs = dims4(x, "conv2d")?;
        if let (Some((ctx, xb)), Some((_, gb))) = (x.gpu_dense()?, gy.gpu_dense()?) {
            return Ok(Tensor::from_storage(Storage::Gpu(ctx.conv2d_weight_grad(&conv_geometry(xs, ws, p), &xb, &gb)?), &ws, None));
        }
        let dw = cpu::conv2d_weight_grad(&x.cpu_contiguous("conv2d backward")?, xs, &gy.cpu_contiguous("conv2d backward")?, ws, p);
        Tensor::from_vec(dw, &ws, &gy.device())
    }

    fn pool_check(&self, p: &Pool2dParams, op: &'static str, average: bool) -> Result<[usize; 4]> {
        let xs = dims4(self, op)?;
        // torch: padding at most half the (dilated) window, so every window reads the input.
        let ok = (0..2).all(|i| p.output_size(i, xs[2 + i]).is_some() && 2 * p.padding[i] <= p.dilation[i] * (p.kernel[i] - 1) + 1);
        if !ok {
            return Err(Error::InvalidArgument {
                op,
                reason: format!("kernel {:?}, stride {:?}, padding {:?}, dilation {:?} do not fit input {xs:?}", p.kernel, p.stride, p.padding, p.dilation),
            });
        }
        if average && p.dilation != [1, 1] {
            return Err(Error::InvalidArgument { op, reason: "average pooling has no dilation".into() });
        }
        Ok(xs)
    }

    fn pool(&self, p: Pool2dParams, average: bool) -> Result<Tensor> {
        let name = if average { "avg_pool2d" } else { "max_pool2d" };
        let xs = self.pool_check(&p, name, average)?;
        let op = Some(if average { Op::AvgPool2d { x: self.clone(), p } } else { Op::MaxPool2d { x: self.clone(), p } });
        if let Some((ctx, xb)) = self.gpu_dense()? {
            let g = pool_geometry(xs, p, average);
            return Ok(Tensor::from_storage(Storage::Gpu(ctx.pool2d(&g, &xb)?), &[xs[0], xs[1], g.output[0], g.output[1]], op));
        }
        let x = self.cpu_contiguous(name)?;
        let (out, shape) = if average { cpu::avg_pool2d(&x, xs, p) } else { cpu::max_pool2d(&x, xs, p) };
        Ok(Tensor::from_storage(Storage::Cpu(out), &shape, op))
    }

    pub fn max_pool2d(&self, p: Pool2dParams) -> Result<Tensor> {
        self.pool(p, false)
    }

    /// Where each window's maximum sits in its [H, W] plane (torch's
    /// return_indices), as whole numbers; not differentiable.
    pub fn max_pool2d_indices(&self, p: Pool2dParams) -> Result<Tensor> {
        let xs = self.pool_check(&p, "max_pool2d", false)?;
        if let Some((ctx, xb)) = self.gpu_dense()? {
            let g = pool_geometry(xs, p, false);
            return Ok(Tensor::from_storage(Storage::Gpu(ctx.pool2d_indices(&g, &xb)?), &[xs[0], xs[1], g.output[0], g.output[1]], None));
        }
        let (out, shape) = cpu::max_pool2d_indices(&self.cpu_contiguous("max_pool2d")?, xs, p);
        Ok(Tensor::from_storage(Storage::Cpu(out), &shape, None))
    }

    pub fn avg_pool2d(&self, p: Pool2dParams) -> Result<Tensor> {
        self.pool(p, true)
    }

    pub(crate) fn pool2d_backward(x: &Tensor, gy: &Tensor, p: Pool2dParams, average: bool) -> Result<Tensor> {
        let xs = dims4(x, "pool backward")?;
        if let (Some((ctx, xb)), Some((_, gb))) = (x.gpu_dense()?, gy.gpu_dense()?) {
            return Ok(Tensor::from_storage(Storage::Gpu(ctx.pool2d_backward(&pool_geometry(xs, p, average), &xb, &gb)?), &xs, None));
        }
        let g = gy.cpu_contiguous("pool backward")?;
        let dx = if average { cpu::avg_pool2d_backward(xs, &g, p) } else { cpu::max_pool2d_backward(&x.cpu_contiguous("pool backward")?, xs, &g, p) };
        Tensor::from_vec(dx, &xs, &x.device())
    }
}

#[cfg(test)]
mod tests {
    use crate::ops::cpu_values as values;
    use crate::{Device, Tensor};

    fn ramp(shape: &[usize], scale: f32) -> Tensor {
        let n: usize = shape.iter().product();
        Tensor::from_vec((0..n).map(|i| ((i * 7) % 11) as f32 * scale - 1.0).collect(), shape, &Device::Cpu).unwrap()
    }

    /// Attention's operands: [batch, heads] walks a [batch, time, heads, width]
    /// buffer with two strides, read in place; the result must equal the
    /// product of contiguous copies.
    #[test]
    fn two_level_batches_match_contiguous_copies() {
        let q = ramp(&[2, 5, 3, 4], 0.25).permute(&[0, 2, 1, 3]).unwrap();
        let k = ramp(&[2, 7, 3, 4], 0.5).permute(&[0, 2, 3, 1]).unwrap();
        assert!(super::mat_spec(q.layout()).is_some_and(|s| s.inner == 3 && s.outer_stride == 60));
        let expected = q.contiguous().unwrap().matmul(&k.contiguous().unwrap()).unwrap();
        assert_eq!(values(&q.matmul(&k).unwrap()), values(&expected));
        // A matrix per head shared by the batch: an outer stride of 0.
        let w = ramp(&[3, 4, 6], 0.125);
        let expected = q.contiguous().unwrap().matmul(&w).unwrap();
        assert_eq!(values(&q.matmul(&w).unwrap()), values(&expected));
    }
}
