//! Gathers and scatters along an axis (index.wgsl) and prefix sums (scan.wgsl).

use crate::context::{GpuBuffer, GpuContext, Result};
use crate::kernels::{common, kernel_meta};

kernel_meta!(
    /// scan.wgsl's meta: the tensor as [outer, dim, inner], summed along dim.
    pub(crate) ScanMeta { outer: u32, dim: u32, inner: u32 }
);

kernel_meta!(
    /// index.wgsl's meta: [outer, dim, inner] indexed along dim by `count`
    /// indices, and the number of outputs.
    pub(crate) IndexMeta { outer: u32, dim: u32, inner: u32, count: u32, total: u32 }
);

impl IndexMeta {
    fn of(outer: usize, dim: usize, inner: usize, count: usize, total: usize) -> IndexMeta {
        let [outer, dim, inner, count, total] = [outer, dim, inner, count, total].map(|v| v as u32);
        IndexMeta { outer, dim, inner, count, total }
    }
}

impl GpuContext {
    /// Inclusive prefix sum along the middle axis of contiguous [outer, dim, inner].
    pub fn cumsum(&self, x: &GpuBuffer, outer: usize, dim: usize, inner: usize) -> Result<GpuBuffer> {
        let out = self.alloc(outer * dim * inner)?;
        if outer * dim * inner > 0 {
            let pipeline = self.pipeline("cumsum_main", || format!("{}{}", ScanMeta::wgsl(), include_str!("scan.wgsl")));
            let desc = self.meta(ScanMeta { outer: outer as u32, dim: dim as u32, inner: inner as u32 }.words())?;
            self.dispatch(&pipeline, &[&desc, x.raw(), out.raw()], (outer * inner) as u32);
        }
        Ok(out)
    }

    /// out[o, j, i] = x[o, index[j], i] over contiguous [outer, dim, inner];
    /// an index out of range gives NaN.
    pub fn index_select(&self, x: &GpuBuffer, index: &GpuBuffer, count: usize, outer: usize, dim: usize, inner: usize) -> Result<GpuBuffer> {
        let total = outer * count * inner;
        let out = self.alloc(total)?;
        if total > 0 {
            let pipeline = self.pipeline("index_select_main", || format!("{}\n{}{}", common(), IndexMeta::wgsl(), include_str!("index.wgsl")));
            let desc = self.meta(IndexMeta::of(outer, dim, inner, count, total).words())?;
            self.dispatch(&pipeline, &[&desc, x.raw(), index.raw(), out.raw()], total as u32);
        }
        Ok(out)
    }

    /// base with src[o, j, i] added at [o, index[j], i]; src is [outer, count, inner].
    #[allow(clippy::too_many_arguments)]
    pub fn scatter_add(&self, base: &GpuBuffer, index: &GpuBuffer, count: usize, src: &GpuBuffer, outer: usize, dim: usize, inner: usize) -> Result<GpuBuffer> {
        let total = outer * dim * inner;
        let out = self.alloc(total)?;
        if total > 0 {
            let pipeline = self.pipeline("scatter_add_main", || format!("{}\n{}{}", common(), IndexMeta::wgsl(), include_str!("index.wgsl")));
            let desc = self.meta(IndexMeta::of(outer, dim, inner, count, total).words())?;
            self.dispatch(&pipeline, &[&desc, base.raw(), index.raw(), out.raw(), src.raw()], total as u32);
        }
        Ok(out)
    }
}
