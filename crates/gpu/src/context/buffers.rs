//! Buffers: uploads, pooled kernel outputs (returned to the pool when their
//! last handle drops, unless a step plan claims them) and small meta buffers.

use std::rc::Rc;

use wgpu::util::DeviceExt;

use super::{GpuContext, GpuError, Result};

impl GpuContext {
    fn byte_size(&self, len: usize) -> Result<u64> {
        let bytes = (len.max(1) * 4) as u64;
        let max = self.0.limits.max_storage_buffer_binding_size.min(self.0.limits.max_buffer_size);
        if bytes > max {
            return Err(GpuError::OutOfMemory(format!("a buffer of {bytes} bytes exceeds this GPU's limit of {max} bytes per buffer")));
        }
        Ok(bytes)
    }

    fn wrap(&self, buffer: wgpu::Buffer, len: usize, pooled: bool) -> GpuBuffer {
        self.0.live_buffers.set(self.0.live_buffers.get() + 1);
        GpuBuffer(Rc::new(BufferInner { buffer: Some(buffer), len, pooled, ctx: self.clone() }))
    }

    /// Uploads host data into a new buffer (mapped at creation, so it cannot
    /// race with pending dispatches that still read a pooled buffer). Upload
    /// buffers are freed on drop rather than pooled, for the same reason.
    pub fn upload(&self, data: &[f32]) -> Result<GpuBuffer> {
        self.check_lost()?;
        self.byte_size(data.len())?;
        let contents: &[u8] = if data.is_empty() { &[0; 4] } else { bytemuck::cast_slice(data) };
        self.count_object();
        let buffer = self.0.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: None,
            contents,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
        });
        Ok(self.wrap(buffer, data.len(), false))
    }

    /// A buffer for `len` floats that a kernel will write, reused from the pool.
    pub fn alloc(&self, len: usize) -> Result<GpuBuffer> {
        self.check_lost()?;
        let bytes = self.byte_size(len)?;
        let reused = self.0.pool.borrow_mut().get_mut(&bytes).and_then(Vec::pop);
        let buffer = match reused {
            Some(b) => b,
            None => {
                self.0.created_buffers.set(self.0.created_buffers.get() + 1);
                self.count_object();
                self.0.device.create_buffer(&wgpu::BufferDescriptor {
                    label: None,
                    size: bytes,
                    usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                })
            }
        };
        Ok(self.wrap(buffer, len, true))
    }

    /// A zeroed buffer for `len` floats that is never pooled (a step plan's
    /// arena, which tensors may view after the plan is gone).
    pub(crate) fn arena(&self, len: usize) -> Result<GpuBuffer> {
        self.check_lost()?;
        let bytes = self.byte_size(len)?;
        self.count_object();
        let buffer = self.0.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("arena"),
            size: bytes,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        Ok(self.wrap(buffer, len, false))
    }

    /// A uniform buffer holding `words`, padded to the 16-byte units uniform
    /// buffers are bound in.
    pub(crate) fn uniform(&self, words: &[u32]) -> Result<wgpu::Buffer> {
        self.check_lost()?;
        self.count_object();
        let mut padded = words.to_vec();
        padded.resize(words.len().next_multiple_of(4), 0);
        Ok(self.0.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: None,
            contents: bytemuck::cast_slice(&padded),
            usage: wgpu::BufferUsages::UNIFORM,
        }))
    }

    pub(crate) fn meta(&self, words: &[u32]) -> Result<wgpu::Buffer> {
        self.check_lost()?;
        self.count_object();
        Ok(self.0.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: None,
            contents: bytemuck::cast_slice(words),
            usage: wgpu::BufferUsages::STORAGE,
        }))
    }

    fn release(&self, buffer: wgpu::Buffer, pooled: bool) {
        self.0.live_buffers.set(self.0.live_buffers.get() - 1);
        if pooled && !self.0.claimed.borrow().contains(&buffer) {
            self.0.pool.borrow_mut().entry(buffer.size()).or_default().push(buffer);
        }
    }
}

/// A device buffer of `len` f32s; returns to the pool when the last handle drops.
#[derive(Clone)]
pub struct GpuBuffer(Rc<BufferInner>);

struct BufferInner {
    buffer: Option<wgpu::Buffer>,
    len: usize,
    /// Kernel outputs return to the pool; uploads are freed.
    pooled: bool,
    ctx: GpuContext,
}

impl GpuBuffer {
    pub fn len(&self) -> usize {
        self.0.len
    }
    pub fn is_empty(&self) -> bool {
        self.0.len == 0
    }
    pub fn context(&self) -> &GpuContext {
        &self.0.ctx
    }
    pub fn same_buffer(&self, other: &GpuBuffer) -> bool {
        self.raw() == other.raw()
    }
    pub(crate) fn raw(&self) -> &wgpu::Buffer {
        self.0.buffer.as_ref().expect("buffer present until drop")
    }
}

impl Drop for BufferInner {
    fn drop(&mut self) {
        if let Some(b) = self.buffer.take() {
            self.ctx.release(b, self.pooled);
        }
    }
}
