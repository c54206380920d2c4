//! Max and average pooling over one or two spatial axes (torch.nn.MaxPool1d/2d,
//! AvgPool1d/2d with their dilation, ceil_mode and count_include_pad),
//! adaptive pooling to an output size (AdaptiveAvgPool1d/2d, AdaptiveMaxPool1d/2d),
//! and global average pooling.

use nnlab_core::{Error, Pool2dParams, Result, Tensor};

use crate::{Module, Param};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolKind {
    Max,
    Avg,
}

/// A pooling layer; `dims` is 1 ([N, C, L], pooled as [N, C, 1, L]) or 2
/// ([N, C, H, W]). Stride defaults to the kernel size, as in PyTorch.
#[derive(Debug, Clone, Copy)]
pub struct Pool {
    pub kind: PoolKind,
    pub dims: usize,
    pub params: Pool2dParams,
}

impl Pool {
    pub fn new2d(kind: PoolKind, kernel: [usize; 2], stride: Option<[usize; 2]>, padding: [usize; 2]) -> Pool {
        Pool { kind, dims: 2, params: Pool2dParams::new(kernel, stride.unwrap_or(kernel), padding) }
    }

    pub fn new1d(kind: PoolKind, kernel: usize, stride: Option<usize>, padding: usize) -> Pool {
        Pool { kind, dims: 1, params: Pool2dParams::new([1, kernel], [1, stride.unwrap_or(kernel)], [0, padding]) }
    }
}

/// [N, C, L] as [N, C, 1, L] for the 2D kernels; 2D input as it is.
fn as_2d(x: &Tensor, dims: usize, op: &'static str) -> Result<Tensor> {
    if x.rank() != dims + 2 {
        return Err(Error::InvalidArgument { op, reason: format!("a {dims}d pool expects rank {}, got {:?}", dims + 2, x.shape()) });
    }
    if dims == 1 { x.unsqueeze(2) } else { Ok(x.clone()) }
}

fn from_2d(y: Tensor, dims: usize) -> Result<Tensor> {
    if dims == 1 {
        let s = y.shape().to_vec();
        y.reshape(&[s[0], s[1], s[3]])
    } else {
        Ok(y)
    }
}

impl Pool {
    /// Max pooling's output and, as torch's return_indices, where each
    /// maximum sits in its input plane ([H, W] row-major; the position along
    /// L in 1D), as whole numbers.
    pub fn forward_with_indices(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        if self.kind != PoolKind::Max {
            return Err(Error::InvalidArgument { op: "pool", reason: "only max pooling has indices".into() });
        }
        let x4 = as_2d(x, self.dims, "pool")?;
        Ok((from_2d(x4.max_pool2d(self.params)?, self.dims)?, from_2d(x4.max_pool2d_indices(self.params)?, self.dims)?))
    }
}

impl Module for Pool {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let x4 = as_2d(x, self.dims, "pool")?;
        let y = match self.kind {
            PoolKind::Max => x4.max_pool2d(self.params)?,
            PoolKind::Avg => x4.avg_pool2d(self.params)?,
        };
        from_2d(y, self.dims)
    }

    fn parameters(&self) -> Vec<(String, Param)> {
        Vec::new()
    }
}

/// Adaptive pooling to `output` ([1, length] in 1D): along an axis of n
/// inputs, output o pools [floor(o n / out), ceil((o + 1) n / out)), as torch.
/// Both axes' windows are intervals, so the layer pools one axis, then the other.
#[derive(Debug, Clone, Copy)]
pub struct AdaptivePool {
    pub kind: PoolKind,
    pub dims: usize,
    pub output: [usize; 2],
}

/// The [start, end) of each adaptive window along an axis of `n`.
pub fn adaptive_windows(n: usize, out: usize) -> Vec<(usize, usize)> {
    (0..out).map(|o| (o * n / out, ((o + 1) * n).div_ceil(out))).collect()
}

impl AdaptivePool {
    /// Pools axis `axis` (2 or 3 of [N, C, H, W]) to `out` positions.
    fn along(&self, x: &Tensor, axis: usize, out: usize) -> Result<Tensor> {
        let n = x.shape()[axis];
        let windows = adaptive_windows(n, out);
        if n == out {
            return Ok(x.clone());
        }
        let device = x.device();
        match self.kind {
            // A product with the averaging matrix [out, n].
            PoolKind::Avg => {
                let mut m = vec![0.0; out * n];
                for (o, &(start, end)) in windows.iter().enumerate() {
                    m[o * n + start..o * n + end].fill(1.0 / (end - start) as f32);
                }
                let m = Tensor::from_vec(m, &[out, n], &device)?;
                if axis == 3 { x.matmul(&m.t()?) } else { m.matmul(x) }
            }
            // Each window's taps gathered (shorter windows padded with a -inf
            // position past the input), then the largest.
            PoolKind::Max => {
                let len = windows.iter().map(|(s, e)| e - s).max().unwrap_or(1);
                let idx: Vec<f32> = windows.iter().flat_map(|&(s, e)| (0..len).map(move |k| if s + k < e { (s + k) as f32 } else { n as f32 })).collect();
                let mut edge = x.shape().to_vec();
                edge[axis] = 1;
                let padded = Tensor::concat(&[x.clone(), Tensor::full(f32::NEG_INFINITY, &edge, &device)?], axis)?;
                let taps = padded.index_select(axis, &Tensor::from_vec(idx, &[out * len], &device)?)?;
                let mut split = x.shape().to_vec();
                split.splice(axis..=axis, [out, len]);
                taps.reshape(&split)?.max(&[axis as isize + 1], false)
            }
        }
    }
}

impl Module for AdaptivePool {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if self.output.contains(&0) {
            return Err(Error::InvalidArgument { op: "adaptive pool", reason: format!("output size {:?} has a zero", self.output) });
        }
        let x4 = as_2d(x, self.dims, "adaptive pool")?;
        let y = self.along(&x4, 3, self.output[1])?;
        let y = if self.dims == 2 { self.along(&y, 2, self.output[0])? } else { y };
        from_2d(y, self.dims)
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
