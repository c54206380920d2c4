//! Fused softmax cross-entropy per row (see cross_entropy.wgsl).

use crate::context::{GpuBuffer, GpuContext, Result};

impl GpuContext {
    /// Forward: per-row losses [N] of contiguous logits [N, C] against labels
    /// [N] (at the given element offsets). Backward (with `grad`, the upstream
    /// [N] gradient): the gradient of the logits [N, C].
    #[allow(clippy::too_many_arguments)]
    pub fn cross_entropy(&self, x: &GpuBuffer, x_at: usize, labels: &GpuBuffer, labels_at: usize, n: usize, c: usize, grad: Option<(&GpuBuffer, usize)>) -> Result<GpuBuffer> {
        let out = self.alloc(if grad.is_some() { n * c } else { n })?;
        if n * c == 0 {
            return Ok(out);
        }
        let words = [n, c, x_at, labels_at, grad.map_or(0, |g| g.1)].map(|w| w as u32);
        let desc = self.meta(&words)?;
        let source = || include_str!("cross_entropy.wgsl").to_string();
        match grad {
            Some((g, _)) => {
                let pipeline = self.pipeline("cross_entropy_backward", source);
                self.dispatch(&pipeline, &[&desc, x.raw(), labels.raw(), out.raw(), g.raw()], n as u32);
            }
            None => {
                let pipeline = self.pipeline("cross_entropy_forward", source);
                self.dispatch(&pipeline, &[&desc, x.raw(), labels.raw(), out.raw()], n as u32);
            }
        }
        Ok(out)
    }
}
