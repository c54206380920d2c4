//! Gathers and scatters along an axis (index.wgsl) and prefix sums (scan.wgsl).

use crate::context::{GpuBuffer, GpuContext, Result};
use crate::kernels::strided;

impl GpuContext {
    /// Inclusive prefix sum along the middle axis of contiguous [outer, dim, inner].
    pub fn cumsum(&self, x: &GpuBuffer, outer: usize, dim: usize, inner: usize) -> Result<GpuBuffer> {
        let out = self.alloc(outer * dim * inner)?;
        if outer * dim * inner > 0 {
            let pipeline = self.pipeline("cumsum_main", || include_str!("scan.wgsl").to_string());
            let desc = self.meta(&[outer as u32, dim as u32, inner as u32])?;
            self.dispatch(&pipeline, &[&desc, x.raw(), out.raw()], (outer * inner) as u32);
        }
        Ok(out)
    }

    fn index_desc(outer: usize, dim: usize, inner: usize, count: usize, total: usize) -> Vec<u32> {
        [outer, dim, inner, count, total].iter().map(|&v| v as u32).collect()
    }

    /// out[o, j, i] = x[o, index[j], i] over contiguous [outer, dim, inner];
    /// an index out of range gives NaN.
    pub fn index_select(&self, x: &GpuBuffer, index: &GpuBuffer, count: usize, outer: usize, dim: usize, inner: usize) -> Result<GpuBuffer> {
        let total = outer * count * inner;
        let out = self.alloc(total)?;
        if total > 0 {
            let pipeline = self.pipeline("index_select_main", || format!("{}\n{}", strided(), include_str!("index.wgsl")));
            let desc = self.meta(&Self::index_desc(outer, dim, inner, count, total))?;
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
            let pipeline = self.pipeline("scatter_add_main", || format!("{}\n{}", strided(), include_str!("index.wgsl")));
            let desc = self.meta(&Self::index_desc(outer, dim, inner, count, total))?;
            self.dispatch(&pipeline, &[&desc, base.raw(), index.raw(), out.raw(), src.raw()], total as u32);
        }
        Ok(out)
    }
}
