//! Attention of one query over every prefix as one scan (attention_scan.wgsl):
//! Aaren's recurrent mode over a whole sequence in one dispatch, and its
//! backward in one more.

use crate::context::{GpuBuffer, GpuContext, Result};
use crate::kernels::kernel_meta;

kernel_meta!(
    /// attention_scan.wgsl's meta: sequences N, steps T, features D.
    pub(crate) ScanAttentionMeta { rows: u32, steps: u32, features: u32 }
);

fn source() -> String {
    format!("{}{}", ScanAttentionMeta::wgsl(), include_str!("attention_scan.wgsl"))
}

impl GpuContext {
    /// From contiguous scores [N, T] and values [N, T, D] (T >= 1): the
    /// attention outputs [N, T, D] and the state [2, N, T] (running maximum
    /// and normaliser) of every step.
    pub fn attention_scan(&self, s: &GpuBuffer, v: &GpuBuffer, n: usize, t: usize, d: usize) -> Result<(GpuBuffer, GpuBuffer)> {
        let (out, state) = (self.alloc(n * t * d)?, self.alloc(2 * n * t)?);
        if n * t * d > 0 {
            let meta = self.meta(ScanAttentionMeta { rows: n as u32, steps: t as u32, features: d as u32 }.words())?;
            let pipeline = self.pipeline("attention_scan_forward", source);
            self.dispatch_numbered(&pipeline, &[(0, &meta), (1, s.raw()), (2, v.raw()), (3, out.raw()), (4, state.raw())], self.groups_for((n * d) as u32));
        }
        Ok((out, state))
    }

    /// The backward of `attention_scan` for its outputs `r`, their gradient
    /// `g` and the forward's `state`: [2, N, T, D], the values' gradient, then
    /// terms whose sum over the last axis is the scores' gradient.
    #[allow(clippy::too_many_arguments)]
    pub fn attention_scan_backward(
        &self,
        s: &GpuBuffer,
        v: &GpuBuffer,
        state: &GpuBuffer,
        r: &GpuBuffer,
        g: &GpuBuffer,
        n: usize,
        t: usize,
        d: usize,
    ) -> Result<GpuBuffer> {
        let out = self.alloc(2 * n * t * d)?;
        if n * t * d > 0 {
            let meta = self.meta(ScanAttentionMeta { rows: n as u32, steps: t as u32, features: d as u32 }.words())?;
            let pipeline = self.pipeline("attention_scan_backward", source);
            let bindings = [(0, &meta), (1, s.raw()), (2, v.raw()), (3, out.raw()), (4, state.raw()), (5, r.raw()), (6, g.raw())];
            self.dispatch_numbered(&pipeline, &bindings, self.groups_for((n * d) as u32));
        }
        Ok(out)
    }
}
