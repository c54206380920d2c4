//! 2D max and average pooling, forward and backward, with pool.wgsl.

use crate::context::{GpuBuffer, GpuContext, Result};
use crate::kernels::{common, kernel_meta};

/// Geometry of 2D pooling.
#[derive(Debug, Clone, Copy)]
pub struct PoolGeometry {
    pub input: [usize; 4],
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub padding: [usize; 2],
    pub output: [usize; 2],
    pub average: bool,
}

kernel_meta!(
    /// pool.wgsl's meta: the geometry, the invocation count and the op (0 max, 1 average).
    pub(crate) PoolMeta { n: u32, c: u32, h: u32, w: u32, kh: u32, kw: u32, stride_h: u32, stride_w: u32, pad_h: u32, pad_w: u32, oh: u32, ow: u32, count: u32, average: u32 }
);

impl PoolMeta {
    fn of(g: &PoolGeometry, count: usize) -> PoolMeta {
        let [n, c, h, w] = g.input.map(|v| v as u32);
        let [[kh, kw], [stride_h, stride_w], [pad_h, pad_w], [oh, ow]] = [g.kernel, g.stride, g.padding, g.output].map(|p| p.map(|v| v as u32));
        PoolMeta { n, c, h, w, kh, kw, stride_h, stride_w, pad_h, pad_w, oh, ow, count: count as u32, average: g.average as u32 }
    }
}

impl GpuContext {
    pub fn pool2d(&self, g: &PoolGeometry, x: &GpuBuffer) -> Result<GpuBuffer> {
        let count = g.input[0] * g.input[1] * g.output[0] * g.output[1];
        let out = self.alloc(count)?;
        if count > 0 {
            let pipeline = self.pipeline("pool_forward", || format!("{}\n{}{}", common(), PoolMeta::wgsl(), include_str!("pool.wgsl")));
            let desc = self.meta(PoolMeta::of(g, count).words())?;
            self.dispatch(&pipeline, &[&desc, x.raw(), out.raw()], count as u32);
        }
        Ok(out)
    }

    pub fn pool2d_backward(&self, g: &PoolGeometry, x: &GpuBuffer, gy: &GpuBuffer) -> Result<GpuBuffer> {
        let count: usize = g.input.iter().product();
        let out = self.alloc(count)?;
        let windows = g.input[0] * g.input[1] * g.output[0] * g.output[1];
        // Windows that tile the input: one invocation per window, not per input element.
        let (entry, threads) =
            if g.kernel == g.stride && g.padding == [0, 0] && windows > 0 { ("pool_backward_tiles", windows) } else { ("pool_backward", count) };
        if count > 0 {
            let pipeline = self.pipeline(entry, || format!("{}\n{}{}", common(), PoolMeta::wgsl(), include_str!("pool.wgsl")));
            let desc = self.meta(PoolMeta::of(g, threads).words())?;
            self.dispatch(&pipeline, &[&desc, x.raw(), out.raw(), gy.raw()], threads as u32);
        }
        Ok(out)
    }
}
