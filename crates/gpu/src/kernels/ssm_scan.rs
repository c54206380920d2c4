//! A diagonal state-space model's recurrence over whole sequences as one scan
//! (ssm_scan.wgsl): S4D's recurrent mode in one dispatch, and its backward in
//! one more.

use crate::context::{GpuBuffer, GpuContext, Result};
use crate::kernels::kernel_meta;

kernel_meta!(
    /// ssm_scan.wgsl's meta: sequences N, steps T, channels C, modes M, and
    /// whether the forward keeps its states.
    pub(crate) SsmScanMeta { rows: u32, steps: u32, channels: u32, modes: u32, keep: u32 }
);

fn source() -> String {
    format!("{}{}", SsmScanMeta::wgsl(), include_str!("ssm_scan.wgsl"))
}

/// A scan's sizes: sequences N, steps T, channels C, modes M.
#[derive(Clone, Copy, Debug)]
pub struct SsmSizes {
    pub rows: usize,
    pub steps: usize,
    pub channels: usize,
    pub modes: usize,
}

impl SsmSizes {
    fn meta(&self, keep: bool) -> SsmScanMeta {
        SsmScanMeta { rows: self.rows as u32, steps: self.steps as u32, channels: self.channels as u32, modes: self.modes as u32, keep: keep as u32 }
    }

    fn states(&self) -> usize {
        2 * self.rows * self.channels * self.modes * self.steps
    }
}

impl GpuContext {
    /// From the modes' decay `a` and readout `w` (each [real, imaginary]
    /// planes [C, M]) and contiguous inputs u [N, T, C]: the outputs
    /// [N, T, C], and with `keep` the states [N, C, M, T, 2] the backward reads.
    pub fn ssm_scan(&self, a: [&GpuBuffer; 2], w: [&GpuBuffer; 2], u: &GpuBuffer, s: SsmSizes, keep: bool) -> Result<(GpuBuffer, Option<GpuBuffer>)> {
        let out = self.alloc(s.rows * s.steps * s.channels)?;
        // Without states to keep, the kernel still binds a buffer there.
        let z = self.alloc(if keep { s.states() } else { 1 })?;
        if s.rows * s.steps * s.channels > 0 {
            let meta = self.meta(s.meta(keep).words())?;
            let pipeline = self.pipeline("ssm_scan_forward", source);
            let bindings = [(0, &meta), (1, a[0].raw()), (2, a[1].raw()), (3, w[0].raw()), (4, w[1].raw()), (5, u.raw()), (6, out.raw()), (7, z.raw())];
            self.dispatch_numbered(&pipeline, &bindings, self.groups_for((s.rows * s.channels) as u32));
        }
        Ok((out, keep.then_some(z)))
    }

    /// The backward of `ssm_scan` from the states it kept and the outputs'
    /// gradient `g` [N, T, C]: [N, T, C] the inputs' gradient, then
    /// [4, N, C, M] terms whose sums over N are the gradients of a (real,
    /// imaginary) and w (real, imaginary).
    pub fn ssm_scan_backward(&self, a: [&GpuBuffer; 2], w: [&GpuBuffer; 2], z: &GpuBuffer, g: &GpuBuffer, s: SsmSizes) -> Result<GpuBuffer> {
        let out = self.alloc(s.rows * s.channels * (s.steps + 4 * s.modes))?;
        if s.rows * s.steps * s.channels > 0 {
            let meta = self.meta(s.meta(true).words())?;
            let pipeline = self.pipeline("ssm_scan_backward", source);
            let bindings = [(0, &meta), (1, a[0].raw()), (2, a[1].raw()), (3, w[0].raw()), (4, w[1].raw()), (5, g.raw()), (6, out.raw()), (7, z.raw())];
            self.dispatch_numbered(&pipeline, &bindings, self.groups_for((s.rows * s.channels) as u32));
        }
        Ok(out)
    }
}
