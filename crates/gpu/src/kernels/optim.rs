//! Fused Adam and SGD-momentum updates: one dispatch per parameter tensor.

use crate::context::{GpuBuffer, GpuContext, Result};
use crate::kernels::kernel_meta;

kernel_meta!(
    /// Adam's constant hyperparameters and the element count. The values
    /// that change every step (learning rate and bias corrections) come in a
    /// device buffer instead, so a recorded plan can update them without new
    /// bind groups.
    pub AdamParams { n: u32, beta1: f32, beta2: f32, eps: f32, weight_decay: f32 }
);

impl AdamParams {
    /// `n` (the element count) is filled in by the update itself.
    pub fn new(beta1: f32, beta2: f32, eps: f32, weight_decay: f32) -> Self {
        AdamParams { n: 0, beta1, beta2, eps, weight_decay }
    }
}

kernel_meta!(
    /// SGD's hyperparameters and the element count.
    pub SgdParams { n: u32, lr: f32, momentum: f32, weight_decay: f32 }
);

impl GpuContext {
    /// Returns the new (parameter, first moment, second moment). `step` holds
    /// [lr, 1 - beta1^t, 1 - beta2^t, gradient scale].
    pub fn adam(
        &self,
        params: AdamParams,
        step: &GpuBuffer,
        p: &GpuBuffer,
        g: &GpuBuffer,
        m: &GpuBuffer,
        v: &GpuBuffer,
    ) -> Result<(GpuBuffer, GpuBuffer, GpuBuffer)> {
        let n = params.n as usize;
        let (p_out, m_out, v_out) = (self.alloc(n)?, self.alloc(n)?, self.alloc(n)?);
        if n > 0 {
            // Eight storage buffers besides it: the hyperparameters go in a uniform.
            let pipeline = self.pipeline("adam_main", || format!("{}{}", AdamParams::wgsl_uniform(), include_str!("adam.wgsl")));
            let desc = self.uniform(params.words())?;
            self.dispatch(&pipeline, &[&desc, step.raw(), p.raw(), g.raw(), m.raw(), v.raw(), p_out.raw(), m_out.raw(), v_out.raw()], n as u32);
            if let Some(rec) = self.recording().borrow_mut().as_mut() {
                rec.describe_last_adam(params);
            }
        }
        Ok((p_out, m_out, v_out))
    }

    /// Returns the new (parameter, momentum buffer).
    pub fn sgd(&self, params: SgdParams, p: &GpuBuffer, g: &GpuBuffer, buf: &GpuBuffer) -> Result<(GpuBuffer, GpuBuffer)> {
        let n = params.n as usize;
        let (p_out, buf_out) = (self.alloc(n)?, self.alloc(n)?);
        if n > 0 {
            let pipeline = self.pipeline("sgd_main", || format!("{}{}", SgdParams::wgsl(), include_str!("sgd.wgsl")));
            let desc = self.meta(params.words())?;
            self.dispatch(&pipeline, &[&desc, p.raw(), g.raw(), buf.raw(), p_out.raw(), buf_out.raw()], n as u32);
        }
        Ok((p_out, buf_out))
    }
}
