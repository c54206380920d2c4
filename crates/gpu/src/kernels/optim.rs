//! Fused Adam and SGD-momentum updates: one dispatch per parameter tensor.

use bytemuck::{Pod, Zeroable};

use crate::context::{GpuBuffer, GpuContext, Result};

/// Adam's constant hyperparameters. The values that change every step
/// (learning rate and bias corrections) come in a device buffer instead, so a
/// recorded plan can update them without new bind groups.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub struct AdamParams {
    pub n: u32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub weight_decay: f32,
    /// Uniform buffers are bound in 16-byte units.
    _pad: [u32; 3],
}

impl AdamParams {
    /// `n` (the element count) is filled in by the update itself.
    pub fn new(beta1: f32, beta2: f32, eps: f32, weight_decay: f32) -> Self {
        AdamParams { n: 0, beta1, beta2, eps, weight_decay, _pad: [0; 3] }
    }
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub struct SgdParams {
    pub n: u32,
    pub lr: f32,
    pub momentum: f32,
    pub weight_decay: f32,
}

impl GpuContext {
    /// Returns the new (parameter, first moment, second moment). `step` holds
    /// [lr, 1 - beta1^t, 1 - beta2^t].
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
            let pipeline = self.pipeline("adam_main", || include_str!("adam.wgsl").to_string());
            let uniform = self.uniform(bytemuck::bytes_of(&params))?;
            self.dispatch(&pipeline, &[&uniform, step.raw(), p.raw(), g.raw(), m.raw(), v.raw(), p_out.raw(), m_out.raw(), v_out.raw()], n as u32);
        }
        Ok((p_out, m_out, v_out))
    }

    /// Returns the new (parameter, momentum buffer).
    pub fn sgd(&self, params: SgdParams, p: &GpuBuffer, g: &GpuBuffer, buf: &GpuBuffer) -> Result<(GpuBuffer, GpuBuffer)> {
        let n = params.n as usize;
        let (p_out, buf_out) = (self.alloc(n)?, self.alloc(n)?);
        if n > 0 {
            let pipeline = self.pipeline("sgd_main", || include_str!("sgd.wgsl").to_string());
            let uniform = self.uniform(bytemuck::bytes_of(&params))?;
            self.dispatch(&pipeline, &[&uniform, p.raw(), g.raw(), buf.raw(), p_out.raw(), buf_out.raw()], n as u32);
        }
        Ok((p_out, buf_out))
    }
}
