//! Reductions over any set of axes, with or without keeping them.

use nnlab_gpu::ReduceKernel;

use super::{Data, gpu_view};
use crate::{Error, Op, ReduceOp, Result, Storage, Tensor, cpu};

impl Tensor {
    /// Reduces over `axes` (negative counts from the end); the result keeps the
    /// reduced axes with size 1 when `keepdim`.
    pub fn reduce(&self, op: ReduceOp, axes: &[isize], keepdim: bool) -> Result<Tensor> {
        let mut axes: Vec<usize> = axes.iter().map(|&a| self.axis(a)).collect::<Result<_>>()?;
        axes.sort_unstable();
        axes.dedup();
        let (kept, red) = cpu::split_axes(self.layout(), &axes);
        if red.numel() == 0 && op != ReduceOp::Sum {
            return Err(Error::InvalidArgument { op: "reduce", reason: format!("{op:?} over an empty axis of {:?}", self.shape()) });
        }
        let storage = match self.data() {
            Data::Cpu(d) => Storage::Cpu(cpu::reduce(d, self.layout(), &axes, op)),
            Data::Gpu(ctx, b) => {
                let (k, scale) = match op {
                    ReduceOp::Sum => (ReduceKernel::Sum, 1.0),
                    ReduceOp::Mean => (ReduceKernel::Sum, 1.0 / red.numel() as f32),
                    ReduceOp::Max => (ReduceKernel::Max, 1.0),
                    ReduceOp::Min => (ReduceKernel::Min, 1.0),
                    ReduceOp::ArgMax => (ReduceKernel::ArgMax, 1.0),
                };
                Storage::Gpu(ctx.reduce(k, b, gpu_view(&kept), gpu_view(&red), scale)?)
            }
        };
        let keep_shape: Vec<usize> = self.shape().iter().enumerate().map(|(i, &d)| if axes.contains(&i) { 1 } else { d }).collect();
        let record = (op != ReduceOp::ArgMax).then(|| Op::Reduce { x: self.clone(), op, axes: axes.clone() });
        let out = Tensor::from_storage(storage, &keep_shape, record);
        if keepdim { Ok(out) } else { out.reshape(&kept.shape) }
    }

    pub fn sum(&self, axes: &[isize], keepdim: bool) -> Result<Tensor> {
        self.reduce(ReduceOp::Sum, axes, keepdim)
    }
    pub fn mean(&self, axes: &[isize], keepdim: bool) -> Result<Tensor> {
        self.reduce(ReduceOp::Mean, axes, keepdim)
    }
    pub fn max(&self, axes: &[isize], keepdim: bool) -> Result<Tensor> {
        self.reduce(ReduceOp::Max, axes, keepdim)
    }
    pub fn min(&self, axes: &[isize], keepdim: bool) -> Result<Tensor> {
        self.reduce(ReduceOp::Min, axes, keepdim)
    }
    /// Index of the first maximum along `axis` (as f32; no gradient).
    pub fn argmax(&self, axis: isize, keepdim: bool) -> Result<Tensor> {
        self.reduce(ReduceOp::ArgMax, &[axis], keepdim)
    }

    /// Sum of every element, as a scalar tensor.
    pub fn sum_all(&self) -> Result<Tensor> {
        let axes: Vec<isize> = (0..self.rank() as isize).collect();
        self.sum(&axes, false)
    }

    pub fn mean_all(&self) -> Result<Tensor> {
        let axes: Vec<isize> = (0..self.rank() as isize).collect();
        self.mean(&axes, false)
    }

    /// Sums a broadcast gradient back to `shape` (the inverse of broadcasting).
    pub fn sum_to(&self, shape: &[usize]) -> Result<Tensor> {
        if self.shape() == shape {
            return Ok(self.clone());
        }
        let lead = self.rank() - shape.len();
        let axes: Vec<isize> = (0..self.rank()).filter(|&i| i < lead || (shape[i - lead] == 1 && self.shape()[i] != 1)).map(|i| i as isize).collect();
        self.sum(&axes, true)?.reshape(shape)
    }
}
