//! Movement ops. Reshape (of contiguous data), permute, narrow and expand are
//! views; concat, pad and contiguous copy.

use nnlab_gpu::UnaryKernel;

use super::{Data, common_device, gpu_view};
use crate::layout::numel;
use crate::{Error, Layout, Op, Result, Storage, Tensor, cpu};

impl Tensor {
    /// The same values in a contiguous layout (a copy only when needed).
    pub fn contiguous(&self) -> Result<Tensor> {
        if self.layout().is_contiguous() {
            return Ok(self.clone());
        }
        let storage = match self.data() {
            Data::Cpu(d) => Storage::Cpu(cpu::gather(d, self.layout())),
            Data::Gpu(ctx, b) => Storage::Gpu(ctx.unary(UnaryKernel::Copy, b, gpu_view(self.layout()), 0.0)?),
        };
        Ok(Tensor::from_storage(storage, self.shape(), Some(Op::Contiguous(self.clone()))))
    }

    /// The same values in new storage of their own, detached from the graph
    /// (step plans need input buffers that nothing else shares).
    pub fn copy(&self) -> Result<Tensor> {
        let storage = match self.data() {
            Data::Cpu(d) => Storage::Cpu(cpu::gather(d, self.layout())),
            Data::Gpu(ctx, b) => Storage::Gpu(ctx.unary(UnaryKernel::Copy, b, gpu_view(self.layout()), 0.0)?),
        };
        Ok(Tensor::from_storage(storage, self.shape(), None))
    }

    pub fn reshape(&self, shape: &[usize]) -> Result<Tensor> {
        if numel(shape) != self.numel() {
            return Err(Error::ShapeMismatch { op: "reshape", lhs: self.shape().to_vec(), rhs: shape.to_vec() });
        }
        // A strided view whose merged or split axes walk memory evenly (a time
        // step narrowed out of a sequence, heads split out of a column block)
        // needs no copy.
        if !self.layout().is_contiguous()
            && let Some(layout) = self.layout().reshape_view(shape)
        {
            return Ok(self.view(layout, Op::Reshape(self.clone())));
        }
        let src = self.contiguous()?;
        let layout = Layout { offset: src.layout().offset, ..Layout::contiguous(shape) };
        Ok(src.view(layout, Op::Reshape(src.clone())))
    }

    /// Merges all axes from `start` on into one.
    pub fn flatten_from(&self, start: usize) -> Result<Tensor> {
        let start = start.min(self.rank());
        let mut shape = self.shape()[..start].to_vec();
        shape.push(self.shape()[start..].iter().product());
        self.reshape(&shape)
    }

    pub fn unsqueeze(&self, axis: usize) -> Result<Tensor> {
        let mut shape = self.shape().to_vec();
        if axis > shape.len() {
            return Err(Error::InvalidArgument { op: "unsqueeze", reason: format!("axis {axis} for shape {shape:?}") });
        }
        shape.insert(axis, 1);
        self.reshape(&shape)
    }

    pub fn permute(&self, dims: &[usize]) -> Result<Tensor> {
        Ok(self.view(self.layout().permute(dims)?, Op::Permute(self.clone(), dims.to_vec())))
    }

    /// Swaps two axes (negative counts from the end).
    pub fn transpose(&self, a: isize, b: isize) -> Result<Tensor> {
        let (a, b) = (self.axis(a)?, self.axis(b)?);
        let mut dims: Vec<usize> = (0..self.rank()).collect();
        dims.swap(a, b);
        self.permute(&dims)
    }

    /// Transpose of the last two axes.
    pub fn t(&self) -> Result<Tensor> {
        self.transpose(-2, -1)
    }

    /// `len` entries of `axis` from `start` (a view).
    pub fn narrow(&self, axis: usize, start: usize, len: usize) -> Result<Tensor> {
        Ok(self.view(self.layout().narrow(axis, start, len)?, Op::Narrow { x: self.clone(), axis, start }))
    }

    /// NumPy broadcast to `shape` (a view with zero strides).
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Tensor> {
        if shape == self.shape() {
            return Ok(self.clone());
        }
        Ok(self.view(self.layout().broadcast_to(shape)?, Op::Expand(self.clone())))
    }

    pub fn concat(xs: &[Tensor], axis: usize) -> Result<Tensor> {
        let first = xs.first().ok_or(Error::InvalidArgument { op: "concat", reason: "no tensors".into() })?;
        common_device("concat", &xs.iter().collect::<Vec<_>>())?;
        if axis >= first.rank() {
            return Err(Error::InvalidArgument { op: "concat", reason: format!("axis {axis} for shape {:?}", first.shape()) });
        }
        let mut shape = first.shape().to_vec();
        shape[axis] = 0;
        for x in xs {
            let same = x.rank() == first.rank() && (0..x.rank()).all(|a| a == axis || x.shape()[a] == first.shape()[a]);
            if !same {
                return Err(Error::ShapeMismatch { op: "concat", lhs: first.shape().to_vec(), rhs: x.shape().to_vec() });
            }
            shape[axis] += x.shape()[axis];
        }
        let op = Some(Op::Concat { xs: xs.to_vec(), axis });
        if let Data::Gpu(ctx, _) = first.data() {
            let parts: Vec<_> = xs
                .iter()
                .map(|x| match x.data() {
                    Data::Gpu(_, src) => (src, gpu_view(x.layout())),
                    _ => unreachable!("devices checked above"),
                })
                .collect();
            let out = ctx.concat(&parts, axis)?;
            return Ok(Tensor::from_storage(Storage::Gpu(out), &shape, op));
        }
        let parts = xs.iter().map(|x| Ok((x.cpu_contiguous("concat")?, x.shape().to_vec()))).collect::<Result<Vec<_>>>()?;
        let out = cpu::concat(&parts, axis);
        Ok(Tensor::from_storage(Storage::Cpu(out), &shape, op))
    }

    /// Pads with zeros: `pads[axis] = (before, after)` for every axis.
    pub fn pad(&self, pads: &[(usize, usize)]) -> Result<Tensor> {
        if pads.len() != self.rank() {
            return Err(Error::InvalidArgument { op: "pad", reason: format!("{} pad pairs for rank {}", pads.len(), self.rank()) });
        }
        let shape: Vec<usize> = self.shape().iter().zip(pads).map(|(d, (b, a))| d + b + a).collect();
        let op = Some(Op::Pad { x: self.clone(), pads: pads.to_vec() });
        if let Data::Gpu(ctx, src) = self.data() {
            let before: Vec<usize> = pads.iter().map(|&(b, _)| b).collect();
            let out = ctx.pad(src, gpu_view(self.layout()), &before, &shape)?;
            return Ok(Tensor::from_storage(Storage::Gpu(out), &shape, op));
        }
        let out = cpu::pad(&self.cpu_contiguous("pad")?, self.shape(), pads, 0.0);
        Ok(Tensor::from_storage(Storage::Cpu(out), &shape, op))
    }
}
