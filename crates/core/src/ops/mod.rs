//! Tensor methods for every primitive: validate shapes, dispatch to the CPU
//! reference or a GPU kernel, and record the `Op` for autograd.

mod attention_scan;
mod cross_entropy;
mod elementwise;
mod index;
mod linalg;
mod lstm;
mod optim;
mod random;
mod recurrence;
mod reduce;
mod rows;
mod shape;
mod ssm_scan;

use nnlab_gpu::{GpuBuffer, GpuContext, View};

use crate::{Device, Error, Layout, Result, Storage, Tensor};

pub(crate) fn gpu_view(l: &Layout) -> View<'_> {
    View { shape: &l.shape, strides: &l.strides, offset: l.offset }
}

/// The device all `tensors` share, or `DeviceMismatch`.
pub(crate) fn common_device(op: &'static str, tensors: &[&Tensor]) -> Result<Device> {
    let device = tensors[0].device();
    if tensors.iter().any(|t| !t.device().same(&device)) {
        return Err(Error::DeviceMismatch { op });
    }
    Ok(device)
}

/// A tensor's storage seen as one backend's type.
pub(crate) enum Data<'a> {
    Cpu(&'a [f32]),
    Gpu(&'a GpuContext, &'a GpuBuffer),
}

impl Tensor {
    pub(crate) fn data(&self) -> Data<'_> {
        match self.storage() {
            Storage::Cpu(v) => Data::Cpu(v),
            Storage::Gpu(b) => Data::Gpu(b.context(), b),
        }
    }

    pub(crate) fn cpu_data(&self) -> Option<&[f32]> {
        match self.storage() {
            Storage::Cpu(v) => Some(v),
            Storage::Gpu(_) => None,
        }
    }

    /// This tensor's values as a dense GPU buffer (contiguous, offset 0),
    /// copying only when the layout is not already dense.
    pub(crate) fn gpu_dense(&self) -> Result<Option<(GpuContext, GpuBuffer)>> {
        let Data::Gpu(ctx, buf) = self.data() else { return Ok(None) };
        let l = self.layout();
        if l.is_contiguous() && l.offset == 0 {
            return Ok(Some((ctx.clone(), buf.clone())));
        }
        Ok(Some((ctx.clone(), ctx.unary(nnlab_gpu::UnaryKernel::Copy, buf, gpu_view(l), 0.0)?)))
    }

    /// `gpu_dense`'s buffer for an operand of `op` that must be on the GPU
    /// (its devices already checked against a GPU operand's).
    pub(crate) fn gpu_operand(&self, op: &'static str) -> Result<GpuBuffer> {
        Ok(self.gpu_dense()?.ok_or(Error::DeviceMismatch { op })?.1)
    }

    /// Contiguous CPU values of this tensor (for CPU-only kernels).
    pub(crate) fn cpu_contiguous(&self, op: &'static str) -> Result<Vec<f32>> {
        match self.cpu_data() {
            Some(d) => Ok(crate::cpu::gather(d, self.layout())),
            None => Err(Error::Unsupported { op, backend: "webgpu" }),
        }
    }
}

/// A CPU tensor's values in logical order (the ops' unit tests).
#[cfg(test)]
pub(crate) fn cpu_values(t: &Tensor) -> Vec<f32> {
    match t.storage() {
        Storage::Cpu(data) => crate::cpu::gather(data, t.layout()),
        Storage::Gpu(_) => unreachable!("CPU tensors only"),
    }
}
