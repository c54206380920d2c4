//! 2D max and average pooling, forward and backward, with pool.wgsl.

use crate::context::{GpuBuffer, GpuContext, Result};
use crate::kernels::strided;

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

impl GpuContext {
    fn pool_words(g: &PoolGeometry, count: usize) -> Vec<u32> {
        let [n, c, h, w] = g.input;
        [n, c, h, w, g.kernel[0], g.kernel[1], g.stride[0], g.stride[1], g.padding[0], g.padding[1], g.output[0], g.output[1], count, g.average as usize]
            .iter()
            .map(|&v| v as u32)
            .collect()
    }

    pub fn pool2d(&self, g: &PoolGeometry, x: &GpuBuffer) -> Result<GpuBuffer> {
        let count = g.input[0] * g.input[1] * g.output[0] * g.output[1];
        let out = self.alloc(count)?;
        if count > 0 {
            let pipeline = self.pipeline("pool_forward", || format!("{}\n{}", strided(), include_str!("pool.wgsl")));
            let desc = self.meta(&Self::pool_words(g, count))?;
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
            let pipeline = self.pipeline(entry, || format!("{}\n{}", strided(), include_str!("pool.wgsl")));
            let desc = self.meta(&Self::pool_words(g, threads))?;
            self.dispatch(&pipeline, &[&desc, x.raw(), out.raw(), gy.raw()], threads as u32);
        }
        Ok(out)
    }
}
