//! Reductions over any set of axes: the caller splits the input view into the
//! kept axes (one output element each) and the reduced axes (walked per output).

use crate::context::{GpuBuffer, GpuContext, Result, Variant, View};
use crate::kernels::strided::{self, StridedView};
use crate::kernels::{kernel_meta, op_codes};

/// Reduced runs at least this long into at most this many outputs go through partials.
const CHUNKED_MIN_COUNT: usize = 1024;
const CHUNKED_MAX_OUTPUTS: usize = 256;
/// At most this many outputs run in workgroups of 4 (`reduce_few`) rather
/// than 64, so that GPUs emulated on the CPU, which run a workgroup on one
/// core, spread them over their cores (a transformer block's bias gradients,
/// 64 outputs each: its training step about 2% faster on SwiftShader).
const FEW_OUTPUTS: usize = 256;

op_codes!(ReduceKernel, "REDUCE" {
    /// Sum times a scale (1 for sum, 1/n for mean).
    Sum => "SUM",
    Max => "MAX",
    /// Index of the first maximum in row-major order of the reduced axes.
    ArgMax => "ARGMAX",
    Min => "MIN",
});

kernel_meta!(
    /// reduce.wgsl's meta: the number of outputs, the sum's scale, the
    /// reduced elements per output, the step between them when they lie on
    /// one line, and for `reduce_chunks` the chunk length and chunks per
    /// output; views are [kept, reduced] (`reduce`).
    pub(crate) ReduceMeta { len: u32, scale: f32, count: u32, step: u32, chunk: u32, parts: u32 } and views: [StridedView]
);

/// The step between the reduced elements when they lie on one line (their
/// axes of more than one element merge into one), else None.
fn line_step(reduced: &View) -> Option<usize> {
    let mut line: Option<(usize, usize)> = None; // (elements, step) of the axes inside
    for (&n, &stride) in reduced.shape.iter().zip(reduced.strides).rev() {
        if n == 1 {
            continue;
        }
        line = match line {
            None => Some((n, stride)),
            Some((inner, step)) if stride == inner * step => Some((inner * n, step)),
            Some(_) => return None,
        };
    }
    Some(line.map_or(0, |(_, step)| step))
}

impl GpuContext {
    /// Reduces `x`: `kept` addresses the first element of each output (output is
    /// contiguous in `kept.shape`), `reduced` walks the reduced elements relative to it.
    pub fn reduce(&self, op: ReduceKernel, x: &GpuBuffer, kept: View, reduced: View, scale: f32) -> Result<GpuBuffer> {
        let n_out: usize = kept.shape.iter().product();
        let count: usize = reduced.shape.iter().product();
        let views = [StridedView::of(&kept)?, StridedView::of(&View { offset: 0, ..reduced })?];
        let step = line_step(&reduced);
        let mut meta = ReduceMeta { len: n_out as u32, scale, count: count as u32, step: step.unwrap_or(0) as u32, chunk: 0, parts: 0 };
        if n_out == 0 {
            return self.alloc(0);
        }
        // The op and whether the reduced elements lie on one line are
        // compiled in, so no element switches on them.
        let variant = Variant::Reduce { op: op as u32, line: step.is_some() };
        let source = || {
            let constants = format!("const OP: u32 = {}u;\nconst LINE: bool = {};\n", op as u32, step.is_some());
            format!("{}{constants}{}{}\n{}", ReduceKernel::wgsl_constants(), ReduceMeta::wgsl(), strided::source(), include_str!("reduce.wgsl"))
        };
        // Few outputs over long runs (a conv bias's gradient summed over a
        // batch of images) would leave most of the device idle with one
        // invocation per output: fold chunks into partials first, then the
        // partials. (A workgroup tree with barriers is slower on CPU-emulated GPUs.)
        if count >= CHUNKED_MIN_COUNT && n_out <= CHUNKED_MAX_OUTPUTS && op != ReduceKernel::ArgMax {
            let chunk = (count as f64).sqrt().ceil().max(64.0) as usize;
            let parts = count.div_ceil(chunk);
            (meta.chunk, meta.parts) = (chunk as u32, parts as u32);
            let partial = self.alloc(n_out * parts)?;
            let pipeline = self.pipeline_variant("reduce_chunks", variant, source);
            let desc = self.meta(&meta.words_with(&views))?;
            self.dispatch(&pipeline, &[&desc, x.raw(), partial.raw()], (n_out * parts) as u32);
            let kept = View { shape: &[n_out], strides: &[parts], offset: 0 };
            return self.reduce(op, &partial, kept, View { shape: &[parts], strides: &[1], offset: 0 }, scale);
        }
        let out = self.alloc(n_out)?;
        let desc = self.meta(&meta.words_with(&views))?;
        if n_out <= FEW_OUTPUTS {
            let pipeline = self.pipeline_variant("reduce_few", variant, source);
            self.dispatch_groups(&pipeline, &[&desc, x.raw(), out.raw()], (n_out.div_ceil(4) as u32, 1, 1));
        } else {
            let pipeline = self.pipeline_variant("reduce_main", variant, source);
            self.dispatch(&pipeline, &[&desc, x.raw(), out.raw()], n_out as u32);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(shape: &[usize], strides: &[usize]) -> Option<usize> {
        line_step(&View { shape, strides, offset: 0 })
    }

    #[test]
    fn reduced_elements_on_one_line_have_one_step() {
        assert_eq!(step(&[1024], &[256]), Some(256));
        assert_eq!(step(&[4, 8], &[8, 1]), Some(1));
        assert_eq!(step(&[4, 1, 8], &[24, 99, 3]), Some(3));
        assert_eq!(step(&[1, 1], &[5, 7]), Some(0));
        assert_eq!(step(&[4, 8], &[1, 4]), None);
        assert_eq!(step(&[4, 8], &[16, 1]), None);
    }
}
