//! Index-select (embedding lookup), scatter-add and the prefix sum.

use super::common_device;
use crate::{cpu, Error, Op, Result, Storage, Tensor};

impl Tensor {
    /// Validated integer indices from a 1D tensor of whole numbers in [0, limit).
    fn indices(&self, limit: usize, op: &'static str) -> Result<Vec<usize>> {
        if self.rank() != 1 {
            return Err(Error::InvalidArgument { op, reason: format!("index must be 1D, got shape {:?}", self.shape()) });
        }
        self.cpu_contiguous(op)?
            .into_iter()
            .map(|v| {
                if v >= 0.0 && v.fract() == 0.0 && (v as usize) < limit { Ok(v as usize) } else {
                    Err(Error::InvalidArgument { op, reason: format!("index {v} out of range 0..{limit}") })
                }
            })
            .collect()
    }

    /// Entries `index` (1D, whole numbers) along `axis`.
    pub fn index_select(&self, axis: usize, index: &Tensor) -> Result<Tensor> {
        common_device("index_select", &[self, index])?;
        let dim = self.shape().get(axis).copied().ok_or(Error::InvalidArgument { op: "index_select", reason: format!("axis {axis} for shape {:?}", self.shape()) })?;
        let idx = index.indices(dim, "index_select")?;
        let out = cpu::index_select(&self.cpu_contiguous("index_select")?, self.shape(), axis, &idx);
        let mut shape = self.shape().to_vec();
        shape[axis] = idx.len();
        Ok(Tensor::from_storage(Storage::Cpu(out), &shape, Some(Op::IndexSelect { x: self.clone(), axis, index: index.clone() })))
    }

    /// `self` with `src[.., j, ..]` added at `index[j]` along `axis`.
    pub fn scatter_add(&self, axis: usize, index: &Tensor, src: &Tensor) -> Result<Tensor> {
        common_device("scatter_add", &[self, index, src])?;
        let dim = self.shape().get(axis).copied().ok_or(Error::InvalidArgument { op: "scatter_add", reason: format!("axis {axis} for shape {:?}", self.shape()) })?;
        let idx = index.indices(dim, "scatter_add")?;
        let mut expect = self.shape().to_vec();
        expect[axis] = idx.len();
        if src.shape() != expect.as_slice() {
            return Err(Error::ShapeMismatch { op: "scatter_add", lhs: expect, rhs: src.shape().to_vec() });
        }
        let out = cpu::scatter_add(&self.cpu_contiguous("scatter_add")?, self.shape(), axis, &idx, &src.cpu_contiguous("scatter_add")?);
        Ok(Tensor::from_storage(Storage::Cpu(out), self.shape(), Some(Op::ScatterAdd { base: self.clone(), axis, index: index.clone(), src: src.clone() })))
    }

    /// Inclusive prefix sum along `axis`.
    pub fn cumsum(&self, axis: isize) -> Result<Tensor> {
        let axis = self.axis(axis)?;
        let out = cpu::cumsum(&self.cpu_contiguous("cumsum")?, self.shape(), axis);
        Ok(Tensor::from_storage(Storage::Cpu(out), self.shape(), Some(Op::Cumsum { x: self.clone(), axis })))
    }
}
