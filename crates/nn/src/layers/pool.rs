//! Max and average pooling over one or two spatial axes (torch.nn.MaxPool1d/2d,
//! AvgPool1d/2d with count_include_pad=True), and global average pooling.

use nnlab_core::{Error, Pool2dParams, Result, Tensor};

use crate::{Module, Param};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolKind {
    Max,
    Avg,
}

/// A pooling layer; `dims` is 1 ([N, C, L]) or 2 ([N, C, H, W]). Stride
/// defaults to the kernel size, as in PyTorch.
#[derive(Debug, Clone, Copy)]
pub struct Pool {
    pub kind: PoolKind,
    pub dims: usize,
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub padding: [usize; 2],
}

impl Pool {
    pub fn new2d(kind: PoolKind, kernel: [usize; 2], stride: Option<[usize; 2]>, padding: [usize; 2]) -> Pool {
        Pool { kind, dims: 2, kernel, stride: stride.unwrap_or(kernel), padding }
    }

    pub fn new1d(kind: PoolKind, kernel: usize, stride: Option<usize>, padding: usize) -> Pool {
        Pool { kind, dims: 1, kernel: [1, kernel], stride: [1, stride.unwrap_or(kernel)], padding: [0, padding] }
    }
}

impl Module for Pool {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if x.rank() != self.dims + 2 {
            return Err(Error::InvalidArgument { op: "pool", reason: format!("a {}d pool expects rank {}, got {:?}", self.dims, self.dims + 2, x.shape()) });
        }
        let x4 = if self.dims == 1 { x.unsqueeze(2)? } else { x.clone() };
        let p = Pool2dParams { kernel: self.kernel, stride: self.stride, padding: self.padding };
        let y = match self.kind {
            PoolKind::Max => x4.max_pool2d(p)?,
            PoolKind::Avg => x4.avg_pool2d(p)?,
        };
        if self.dims == 1 {
            let s = y.shape().to_vec();
            y.reshape(&[s[0], s[1], s[3]])
        } else {
            Ok(y)
        }
    }

    fn parameters(&self) -> Vec<(String, Param)> {
        Vec::new()
    }
}

/// Mean over the spatial axes: [N, C, H, W] -> [N, C] (AdaptiveAvgPool2d(1) + Flatten).
pub struct GlobalAvgPool2d;

impl Module for GlobalAvgPool2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if x.rank() != 4 {
            return Err(Error::InvalidArgument { op: "global_avg_pool", reason: format!("expected [N, C, H, W], got {:?}", x.shape()) });
        }
        x.mean(&[2, 3], false)
    }

    fn parameters(&self) -> Vec<(String, Param)> {
        Vec::new()
    }
}
