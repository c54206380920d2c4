//! Reductions over any set of axes: the caller splits the input view into the
//! kept axes (one output element each) and the reduced axes (walked per output).

use crate::context::{pack_shape, pack_strides, GpuBuffer, GpuContext, Result, View};

/// Reduced runs at least this long, with at most this many outputs, use the tree kernel.
const TREE_MIN_COUNT: usize = 256;
const TREE_MAX_OUTPUTS: usize = 8192;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum ReduceKernel {
    /// Sum times a scale (1 for sum, 1/n for mean).
    Sum = 0,
    Max,
    /// Index of the first maximum in row-major order of the reduced axes.
    ArgMax,
    Min,
}

impl GpuContext {
    /// Reduces `x`: `kept` addresses the first element of each output (output is
    /// contiguous in `kept.shape`), `reduced` walks the reduced elements relative to it.
    pub fn reduce(&self, op: ReduceKernel, x: &GpuBuffer, kept: View, reduced: View, scale: f32) -> Result<GpuBuffer> {
        let n_out: usize = kept.shape.iter().product();
        let count: usize = reduced.shape.iter().product();
        let mut words = vec![n_out as u32, op as u32, scale.to_bits(), count as u32];
        pack_shape(&mut words, kept.shape)?;
        pack_strides(&mut words, &kept);
        pack_shape(&mut words, reduced.shape)?;
        pack_strides(&mut words, &View { offset: 0, ..reduced });
        let out = self.alloc(n_out)?;
        if n_out == 0 {
            return Ok(out);
        }
        let source = || format!("{}\n{}", include_str!("strided.wgsl"), include_str!("reduce.wgsl"));
        let meta = self.meta(&words)?;
        // Few outputs over long runs (a bias gradient summed over a batch of
        // images): a workgroup per output and a tree, not one invocation
        // walking the whole run while most of the device idles.
        if count >= TREE_MIN_COUNT && n_out <= TREE_MAX_OUTPUTS {
            let pipeline = self.pipeline("reduce_tree", source);
            let (gx, gy) = self.grid(n_out as u32);
            self.dispatch_groups(&pipeline, &[&meta, x.raw(), out.raw()], (gx, gy, 1));
        } else {
            let pipeline = self.pipeline("reduce_main", source);
            self.dispatch(&pipeline, &[&meta, x.raw(), out.raw()], n_out as u32);
        }
        Ok(out)
    }
}
