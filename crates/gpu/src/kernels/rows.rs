//! Per-row normalisations over the last axis (softmax, log-softmax, layer
//! norm), one kernel forward and one backward (see rows.wgsl).

use crate::context::{GpuBuffer, GpuContext, Result};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RowKernel {
    Softmax,
    LogSoftmax,
    /// (x - mean) / sqrt(variance + eps), without the affine part.
    LayerNorm { eps: f32 },
}

impl RowKernel {
    fn code(self) -> u32 {
        match self {
            RowKernel::Softmax => 0,
            RowKernel::LogSoftmax => 1,
            RowKernel::LayerNorm { .. } => 2,
        }
    }
}

impl GpuContext {
    /// Forward: `op` over each row of contiguous [rows, cols] at element
    /// offset `x_at`. Backward (with `grad`, the upstream gradient of the
    /// output and its offset): the gradient of x. The result is [rows, cols].
    pub fn rows(&self, op: RowKernel, x: &GpuBuffer, x_at: usize, rows: usize, cols: usize, grad: Option<(&GpuBuffer, usize)>) -> Result<GpuBuffer> {
        let out = self.alloc(rows * cols)?;
        if rows * cols == 0 {
            return Ok(out);
        }
        let eps = if let RowKernel::LayerNorm { eps } = op { eps } else { 0.0 };
        let desc = self.meta(&[rows as u32, cols as u32, x_at as u32, grad.map_or(0, |g| g.1) as u32, eps.to_bits()])?;
        let entry = if grad.is_some() { "rows_backward" } else { "rows_forward" };
        let code = op.code();
        let pipeline = self.pipeline_variant(entry, code, || format!("const OP: u32 = {code}u;\n{}", include_str!("rows.wgsl")));
        let mut bindings = vec![&desc, x.raw(), out.raw()];
        bindings.extend(grad.map(|g| g.0.raw()));
        self.dispatch(&pipeline, &bindings, rows as u32);
        Ok(out)
    }
}
