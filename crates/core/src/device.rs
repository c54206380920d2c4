//! Where a tensor's numbers live. The browser decides at run time whether WebGPU
//! exists, so the backend is an enum, not a type parameter.

use nnlab_gpu::{GpuBuffer, GpuContext};

#[derive(Clone)]
pub enum Device {
    Cpu,
    Gpu(GpuContext),
}

impl Device {
    pub fn name(&self) -> &'static str {
        match self {
            Device::Cpu => "cpu",
            Device::Gpu(_) => "webgpu",
        }
    }

    pub fn same(&self, other: &Device) -> bool {
        match (self, other) {
            (Device::Cpu, Device::Cpu) => true,
            (Device::Gpu(a), Device::Gpu(b)) => a.same_device(b),
            _ => false,
        }
    }

    /// Submits pending GPU work (no-op on CPU). Readback does this by itself.
    pub fn flush(&self) {
        if let Device::Gpu(ctx) = self {
            ctx.flush();
        }
    }
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Device::Cpu => write!(f, "Cpu"),
            Device::Gpu(ctx) => write!(f, "Gpu({})", ctx.info()),
        }
    }
}

/// Flat storage shared by every view of it.
pub enum Storage {
    Cpu(Vec<f32>),
    Gpu(GpuBuffer),
}

impl Storage {
    pub fn device(&self) -> Device {
        match self {
            Storage::Cpu(_) => Device::Cpu,
            Storage::Gpu(b) => Device::Gpu(b.context().clone()),
        }
    }
}
