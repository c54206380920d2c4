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
    pub dilation: [usize; 2],
    pub output: [usize; 2],
    pub average: bool,
    /// Average pooling's divisor counts padded taps (see `Pool2dParams::average_span` in the core).
    pub count_include_pad: bool,
}

kernel_meta!(
    /// pool.wgsl's meta: the geometry, the invocation count, the op (0 max,
    /// 1 average) and whether average pooling's divisor counts padding.
    pub(crate) PoolMeta {
        n: u32,
        c: u32,
        h: u32,
        w: u32,
        kh: u32,
        kw: u32,
        stride_h: u32,
        stride_w: u32,
        pad_h: u32,
        pad_w: u32,
        dil_h: u32,
        dil_w: u32,
        oh: u32,
        ow: u32,
        count: u32,
        average: u32,
        include_pad: u32,
    }
);

impl PoolMeta {
    fn of(g: &PoolGeometry, count: usize) -> PoolMeta {
        let [n, c, h, w] = g.input.map(|v| v as u32);
        let [[kh, kw], [stride_h, stride_w], [pad_h, pad_w], [dil_h, dil_w], [oh, ow]] =
            [g.kernel, g.stride, g.padding, g.dilation, g.output].map(|p| p.map(|v| v as u32));
        let (average, include_pad) = (g.average as u32, g.count_include_pad as u32);
        PoolMeta { n, c, h, w, kh, kw, stride_h, stride_w, pad_h, pad_w, dil_h, dil_w, oh, ow, count: count as u32, average, include_pad }
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

    /// Each max-pooling window's argmax within its plane (-1 if empty).
    pub fn pool2d_indices(&self, g: &PoolGeometry, x: &GpuBuffer) -> Result<GpuBuffer> {
        let count = g.input[0] * g.input[1] * g.output[0] * g.output[1];
        let out = self.alloc(count)?;
        if count > 0 {
            let pipeline = self.pipeline("pool_indices", || format!("{}\n{}{}", common(), PoolMeta::wgsl(), include_str!("pool.wgsl")));
            let desc = self.meta(PoolMeta::of(g, count).words())?;
            self.dispatch(&pipeline, &[&desc, x.raw(), out.raw()], count as u32);
        }
        Ok(out)
    }

    pub fn pool2d_backward(&self, g: &PoolGeometry, x: &GpuBuffer, gy: &GpuBuffer) -> Result<GpuBuffer> {
        let count: usize = g.input.iter().product();
        let out = self.alloc(count)?;
        let windows = g.input[0] * g.input[1] * g.output[0] * g.output[1];
        // Windows that tile the input, none running past it: one invocation per window, not per input element.
        let tiles = g.kernel == g.stride && g.padding == [0, 0] && g.dilation == [1, 1] && (0..2).all(|i| g.output[i] * g.kernel[i] <= g.input[2 + i]);
        let (entry, threads) = if tiles && windows > 0 { ("pool_backward_tiles", windows) } else { ("pool_backward", count) };
        if count > 0 {
            let pipeline = self.pipeline(entry, || format!("{}\n{}{}", common(), PoolMeta::wgsl(), include_str!("pool.wgsl")));
            let desc = self.meta(PoolMeta::of(g, threads).words())?;
            self.dispatch(&pipeline, &[&desc, x.raw(), out.raw(), gy.raw()], threads as u32);
        }
        Ok(out)
    }
}
