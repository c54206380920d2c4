//! Gathers and scatters along an axis (index.wgsl) and prefix sums (scan.wgsl).

use crate::context::{GpuBuffer, GpuContext, Result};
use crate::kernels::{common, kernel_meta};

kernel_meta!(
    /// scan.wgsl's and scan_runs.wgsl's meta: the tensor as [outer, dim,
    /// inner], summed along dim, and (scan_runs) the runs a line is cut into
    /// and their length.
    pub(crate) ScanMeta { outer: u32, dim: u32, inner: u32, runs: u32, run: u32 }
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

/// With this many lines, one invocation per line (scan.wgsl) already keeps a
/// GPU busy and reads each element once; fewer lines at least
/// SCAN_RUNS_MIN_DIM long are scanned in runs (scan_runs.wgsl), in parallel
/// along each line.
const SCAN_LINES_IN_PARALLEL: usize = 1024;
const SCAN_RUNS_MIN_DIM: usize = 1024;

impl GpuContext {
    /// Inclusive prefix sum along the middle axis of contiguous [outer, dim, inner].
    pub fn cumsum(&self, x: &GpuBuffer, outer: usize, dim: usize, inner: usize) -> Result<GpuBuffer> {
        let out = self.alloc(outer * dim * inner)?;
        let lines = outer * inner;
        if lines * dim == 0 {
            return Ok(out);
        }
        // Runs of about sqrt(dim) elements keep both passes' work near dim.
        let run = (dim as f64).sqrt().ceil() as usize;
        let runs = dim.div_ceil(run);
        let u = |v: usize| v as u32;
        let desc = self.meta(ScanMeta { outer: u(outer), dim: u(dim), inner: u(inner), runs: u(runs), run: u(run) }.words())?;
        if lines >= SCAN_LINES_IN_PARALLEL || dim < SCAN_RUNS_MIN_DIM {
            let pipeline = self.pipeline("cumsum_main", || format!("{}{}", ScanMeta::wgsl(), include_str!("scan.wgsl")));
            self.dispatch(&pipeline, &[&desc, x.raw(), out.raw()], u(lines));
            return Ok(out);
        }
        let totals = self.alloc(lines * runs)?;
        let source = || format!("{}{}", ScanMeta::wgsl(), include_str!("scan_runs.wgsl"));
        self.dispatch_numbered(&self.pipeline("scan_totals", source), &[(0, &desc), (1, x.raw()), (3, totals.raw())], self.groups_for(u(lines * runs)));
        self.dispatch(&self.pipeline("scan_runs", source), &[&desc, x.raw(), out.raw(), totals.raw()], u(lines * runs));
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
