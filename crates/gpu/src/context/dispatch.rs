//! Dispatches recorded into the pending command encoder (and into a step
//! plan being recorded), submitted together, and read back.

use super::{GpuBuffer, GpuContext, GpuError, Result};

const WORKGROUP: u32 = 64;

impl GpuContext {
    /// Records one dispatch of `threads` invocations (64 per workgroup) into the
    /// pending encoder. `bindings` are bound to group 0 in order.
    pub(crate) fn dispatch(&self, pipeline: &wgpu::ComputePipeline, bindings: &[&wgpu::Buffer], threads: u32) {
        self.dispatch_groups(pipeline, bindings, self.groups_for(threads));
    }

    /// The workgroups of `dispatch`: one invocation per thread, 64 per group.
    pub(crate) fn groups_for(&self, threads: u32) -> (u32, u32, u32) {
        let groups = threads.div_ceil(WORKGROUP).max(1);
        let (x, y) = grid(groups, self.0.limits.max_compute_workgroups_per_dimension);
        (x, y, 1)
    }

    pub(crate) fn dispatch_groups(&self, pipeline: &wgpu::ComputePipeline, bindings: &[&wgpu::Buffer], groups: (u32, u32, u32)) {
        let numbered: Vec<(u32, &wgpu::Buffer)> = bindings.iter().enumerate().map(|(i, &b)| (i as u32, b)).collect();
        self.dispatch_numbered(pipeline, &numbered, groups);
    }

    /// Like `dispatch_groups`, for an entry point whose bindings skip numbers
    /// (it shares a module with entry points that use others).
    pub(crate) fn dispatch_numbered(&self, pipeline: &wgpu::ComputePipeline, numbered: &[(u32, &wgpu::Buffer)], groups: (u32, u32, u32)) {
        let entries: Vec<wgpu::BindGroupEntry> =
            numbered.iter().map(|&(binding, b)| wgpu::BindGroupEntry { binding, resource: b.as_entire_binding() }).collect();
        self.count_object();
        let bind_group =
            self.0.device.create_bind_group(&wgpu::BindGroupDescriptor { label: None, layout: &pipeline.get_bind_group_layout(0), entries: &entries });
        if let Some(rec) = self.0.recording.borrow_mut().as_mut() {
            let info = self.0.pipeline_info.borrow();
            let info = info.get(pipeline);
            let accesses = numbered.iter().map(|&(binding, b)| (b.clone(), info.is_none_or(|i| i.writes.contains(&binding)))).collect();
            let entries = numbered.iter().map(|&(binding, b)| (binding, b.clone())).collect();
            rec.push(info.map_or("?", |i| i.entry), pipeline, &bind_group, entries, accesses, groups);
        }
        let mut slot = self.0.encoder.borrow_mut();
        let encoder = slot.get_or_insert_with(|| self.0.device.create_command_encoder(&Default::default()));
        let mut pass = encoder.begin_compute_pass(&Default::default());
        pass.set_pipeline(pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.dispatch_workgroups(groups.0, groups.1, groups.2);
    }

    /// Submits everything recorded so far as one command buffer.
    pub fn flush(&self) {
        if let Some(encoder) = self.0.encoder.borrow_mut().take() {
            self.0.queue.submit([encoder.finish()]);
            self.0.submits.set(self.0.submits.get() + 1);
        }
    }

    /// Copies `len` floats starting at `offset` back to the host. Submits pending
    /// work first; awaits the map without blocking the browser's thread.
    pub async fn read(&self, buf: &GpuBuffer, offset: usize, len: usize) -> Result<Vec<f32>> {
        self.check_fault()?;
        if len == 0 {
            return Ok(Vec::new());
        }
        let bytes = (len * 4) as u64;
        let reused = self.0.staging.borrow_mut().get_mut(&bytes).and_then(Vec::pop);
        let staging = reused.unwrap_or_else(|| {
            self.count_object();
            self.0.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("readback"),
                size: bytes,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        });
        {
            let mut slot = self.0.encoder.borrow_mut();
            let encoder = slot.get_or_insert_with(|| self.0.device.create_command_encoder(&Default::default()));
            encoder.copy_buffer_to_buffer(buf.raw(), (offset * 4) as u64, &staging, 0, bytes);
        }
        self.flush();
        let (tx, rx) = futures_channel::oneshot::channel();
        staging.slice(..).map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        // Blocks natively until the map is done; a no-op in the browser, where the
        // callback fires from the event loop.
        let _ = self.0.device.poll(wgpu::PollType::wait_indefinitely());
        let mapped = rx.await.map_err(|_| GpuError::Readback("the map request was dropped".into()))?;
        self.check_fault()?;
        mapped.map_err(|e| GpuError::Readback(e.to_string()))?;
        let data = {
            let view = staging.slice(..).get_mapped_range().map_err(|e| GpuError::Readback(e.to_string()))?;
            bytemuck::cast_slice::<u8, f32>(&view).to_vec()
        };
        staging.unmap();
        self.0.staging.borrow_mut().entry(bytes).or_default().push(staging);
        Ok(data)
    }
}

/// Splits a workgroup count over x and y when it exceeds the per-dimension limit.
fn grid(groups: u32, max_dim: u32) -> (u32, u32) {
    if groups <= max_dim { (groups, 1) } else { (max_dim, groups.div_ceil(max_dim)) }
}
