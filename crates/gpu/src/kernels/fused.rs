//! The launch shared by fused ops whose WGSL holds a forward and a backward
//! entry point (LSTM cell, cross-entropy): bindings are the meta struct, two
//! inputs, the output and, for the backward pass only, the upstream gradient.

use crate::context::{GpuBuffer, GpuContext, Result};

pub(crate) struct Fused {
    pub source: &'static str,
    /// The WGSL declaration of the kernel's meta struct (`kernel_meta!`).
    pub meta: fn() -> String,
    pub forward: &'static str,
    pub backward: &'static str,
}

impl GpuContext {
    /// Runs `op.forward`, or `op.backward` when `grad` is given, with
    /// `threads` invocations into a new buffer of `out_len` floats.
    pub(crate) fn fused(
        &self,
        op: &Fused,
        words: &[u32],
        inputs: [&GpuBuffer; 2],
        grad: Option<&GpuBuffer>,
        out_len: usize,
        threads: usize,
    ) -> Result<GpuBuffer> {
        let out = self.alloc(out_len)?;
        if threads == 0 {
            return Ok(out);
        }
        let desc = self.meta(words)?;
        let entry = if grad.is_some() { op.backward } else { op.forward };
        let pipeline = self.pipeline(entry, || format!("{}{}", (op.meta)(), op.source));
        let mut bindings = vec![&desc, inputs[0].raw(), inputs[1].raw(), out.raw()];
        bindings.extend(grad.map(GpuBuffer::raw));
        self.dispatch(&pipeline, &bindings, threads as u32);
        Ok(out)
    }
}
