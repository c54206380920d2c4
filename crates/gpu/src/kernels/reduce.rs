//! Reductions over any set of axes: the caller splits the input view into the
//! kept axes (one output element each) and the reduced axes (walked per output).

use crate::context::{GpuBuffer, GpuContext, Result, View, pack_shape, pack_strides};
use crate::kernels::op_codes;

/// Reduced runs at least this long into at most this many outputs go through partials.
const CHUNKED_MIN_COUNT: usize = 1024;
const CHUNKED_MAX_OUTPUTS: usize = 256;

op_codes!(ReduceKernel, "REDUCE" {
    /// Sum times a scale (1 for sum, 1/n for mean).
    Sum => "SUM",
    Max => "MAX",
    /// Index of the first maximum in row-major order of the reduced axes.
    ArgMax => "ARGMAX",
    Min => "MIN",
});

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
        if n_out == 0 {
            return self.alloc(0);
        }
        let source = || format!("{}{}\n{}", ReduceKernel::wgsl_constants(), crate::kernels::strided(), include_str!("reduce.wgsl"));
        // Few outputs over long runs (a conv bias's gradient summed over a
        // batch of images) would leave most of the device idle with one
        // invocation per output: fold chunks into partials first, then the
        // partials. (A workgroup tree with barriers is slower on CPU-emulated GPUs.)
        if count >= CHUNKED_MIN_COUNT && n_out <= CHUNKED_MAX_OUTPUTS && op != ReduceKernel::ArgMax {
            let chunk = (count as f64).sqrt().ceil().max(64.0) as usize;
            let parts = count.div_ceil(chunk);
            words.extend([chunk as u32, parts as u32]);
            let partial = self.alloc(n_out * parts)?;
            let pipeline = self.pipeline("reduce_chunks", source);
            let meta = self.meta(&words)?;
            self.dispatch(&pipeline, &[&meta, x.raw(), partial.raw()], (n_out * parts) as u32);
            let kept = View { shape: &[n_out], strides: &[parts], offset: 0 };
            return self.reduce(op, &partial, kept, View { shape: &[parts], strides: &[1], offset: 0 }, scale);
        }
        let out = self.alloc(n_out)?;
        let pipeline = self.pipeline("reduce_main", source);
        let meta = self.meta(&words)?;
        self.dispatch(&pipeline, &[&meta, x.raw(), out.raw()], n_out as u32);
        Ok(out)
    }
}
