//! Index-select (embedding lookup), scatter-add and the prefix sum.

use super::common_device;
use crate::{Error, Op, Result, Storage, Tensor, cpu};

impl Tensor {
    /// Validated integer indices from a 1D tensor of whole numbers in [0, limit).
    fn indices(&self, limit: usize, op: &'static str) -> Result<Vec<usize>> {
        if self.rank() != 1 {
            return Err(Error::InvalidArgument { op, reason: format!("index must be 1D, got shape {:?}", self.shape()) });
        }
        self.cpu_contiguous(op)?
            .into_iter()
            .map(|v| {
                if v >= 0.0 && v.fract() == 0.0 && (v as usize) < limit {
                    Ok(v as usize)
                } else {
                    Err(Error::InvalidArgument { op, reason: format!("index {v} out of range 0..{limit}") })
                }
            })
            .collect()
    }

    /// (outer, dim, inner) of this shape around `axis`, checking the index is 1D.
    fn around(&self, axis: usize, index: &Tensor, op: &'static str) -> Result<(usize, usize, usize)> {
        let dim = self.shape().get(axis).copied().ok_or(Error::InvalidArgument { op, reason: format!("axis {axis} for shape {:?}", self.shape()) })?;
        if index.rank() != 1 {
            return Err(Error::InvalidArgument { op, reason: format!("index must be 1D, got shape {:?}", index.shape()) });
        }
        Ok((self.shape()[..axis].iter().product(), dim, self.shape()[axis + 1..].iter().product()))
    }

    /// Entries `index` (1D, whole numbers) along `axis`. On the CPU a bad index
    /// is an error; on the GPU (where checking would need a readback) it yields NaN.
    pub fn index_select(&self, axis: usize, index: &Tensor) -> Result<Tensor> {
        common_device("index_select", &[self, index])?;
        let (outer, dim, inner) = self.around(axis, index, "index_select")?;
        let mut shape = self.shape().to_vec();
        shape[axis] = index.numel();
        let op = Some(Op::IndexSelect { x: self.clone(), axis, index: index.clone() });
        if let (Some((ctx, xb)), Some((_, ib))) = (self.gpu_dense()?, index.gpu_dense()?) {
            return Ok(Tensor::from_storage(Storage::Gpu(ctx.index_select(&xb, &ib, index.numel(), outer, dim, inner)?), &shape, op));
        }
        let idx = index.indices(dim, "index_select")?;
        let out = cpu::index_select(&self.cpu_contiguous("index_select")?, self.shape(), axis, &idx);
        Ok(Tensor::from_storage(Storage::Cpu(out), &shape, op))
    }

    /// `self` with `src[.., j, ..]` added at `index[j]` along `axis`.
    pub fn scatter_add(&self, axis: usize, index: &Tensor, src: &Tensor) -> Result<Tensor> {
        common_device("scatter_add", &[self, index, src])?;
        let (outer, dim, inner) = self.around(axis, index, "scatter_add")?;
        let mut expect = self.shape().to_vec();
        expect[axis] = index.numel();
        if src.shape() != expect.as_slice() {
            return Err(Error::ShapeMismatch { op: "scatter_add", lhs: expect, rhs: src.shape().to_vec() });
        }
        let op = Some(Op::ScatterAdd { base: self.clone(), axis, index: index.clone(), src: src.clone() });
        if let (Some((ctx, bb)), Some((_, ib)), Some((_, sb))) = (self.gpu_dense()?, index.gpu_dense()?, src.gpu_dense()?) {
            return Ok(Tensor::from_storage(Storage::Gpu(ctx.scatter_add(&bb, &ib, index.numel(), &sb, outer, dim, inner)?), self.shape(), op));
        }
        let idx = index.indices(dim, "scatter_add")?;
        let out = cpu::scatter_add(&self.cpu_contiguous("scatter_add")?, self.shape(), axis, &idx, &src.cpu_contiguous("scatter_add")?);
        Ok(Tensor::from_storage(Storage::Cpu(out), self.shape(), op))
    }

    /// Inclusive prefix sum along `axis`.
    pub fn cumsum(&self, axis: isize) -> Result<Tensor> {
        let axis = self.axis(axis)?;
        let op = Some(Op::Cumsum { x: self.clone(), axis });
        if let Some((ctx, xb)) = self.gpu_dense()? {
            let s = self.shape();
            let (outer, inner) = (s[..axis].iter().product(), s[axis + 1..].iter().product());
            return Ok(Tensor::from_storage(Storage::Gpu(ctx.cumsum(&xb, outer, s[axis], inner)?), s, op));
        }
        let out = cpu::cumsum(&self.cpu_contiguous("cumsum")?, self.shape(), axis);
        Ok(Tensor::from_storage(Storage::Cpu(out), self.shape(), op))
    }
}
