//! Fused softmax cross-entropy per row (see cross_entropy.wgsl).

use crate::context::{GpuBuffer, GpuContext, Result};
use crate::kernels::fused::Fused;
use crate::kernels::kernel_meta;

const CROSS_ENTROPY: Fused =
    Fused { source: include_str!("cross_entropy.wgsl"), meta: CrossEntropyMeta::wgsl, forward: "cross_entropy_forward", backward: "cross_entropy_backward" };

kernel_meta!(
    /// cross_entropy.wgsl's meta: rows N, classes C, the element offsets of
    /// the logits, the labels and (backward) the upstream gradient, and the
    /// step between the gradient's elements (0 for one value broadcast, as a
    /// mean's gradient is).
    pub(crate) CrossEntropyMeta { rows: u32, cols: u32, x_at: u32, labels_at: u32, grad_at: u32, grad_step: u32 }
);

impl GpuContext {
    /// Forward: per-row losses [N] of contiguous logits [N, C] against labels
    /// [N] (at the given element offsets). Backward (with `grad`, the upstream
    /// [N] gradient as buffer, offset and step): the gradient of the logits [N, C].
    #[allow(clippy::too_many_arguments)]
    pub fn cross_entropy(
        &self,
        x: &GpuBuffer,
        x_at: usize,
        labels: &GpuBuffer,
        labels_at: usize,
        n: usize,
        c: usize,
        grad: Option<(&GpuBuffer, usize, usize)>,
    ) -> Result<GpuBuffer> {
        let [rows, cols, x_at, labels_at, grad_at, grad_step] = [n, c, x_at, labels_at, grad.map_or(0, |g| g.1), grad.map_or(0, |g| g.2)].map(|w| w as u32);
        let meta = CrossEntropyMeta { rows, cols, x_at, labels_at, grad_at, grad_step };
        let out_len = if grad.is_some() { n * c } else { n };
        self.fused(&CROSS_ENTROPY, meta.words(), [x, labels], grad.map(|g| g.0), out_len, if c == 0 { 0 } else { n })
    }
}
