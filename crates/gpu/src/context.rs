//! Device, queue, pipeline cache, buffer pool and the pending command encoder.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use thiserror::Error;
use wgpu::util::DeviceExt;

/// Kernels handle views of up to this many axes.
pub const MAX_RANK: usize = 6;
const WORKGROUP: u32 = 64;

#[derive(Debug, Clone, PartialEq, Error)]
pub enum GpuError {
    #[error("no WebGPU adapter is available ({0})")]
    NoAdapter(String),
    #[error("could not open the GPU device: {0}")]
    RequestDevice(String),
    #[error("the GPU device was lost: {0}")]
    DeviceLost(String),
    #[error("{0}")]
    OutOfMemory(String),
    #[error("tensor of rank {0} exceeds the GPU kernels' maximum rank {MAX_RANK}")]
    RankTooLarge(usize),
    #[error("GPU validation error: {0}")]
    Validation(String),
    #[error("GPU readback failed: {0}")]
    Readback(String),
    #[error("this step cannot be recorded as a plan: {0}")]
    NotReplayable(String),
}

pub type Result<T> = std::result::Result<T, GpuError>;

/// A strided view into a buffer, in elements.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    pub shape: &'a [usize],
    pub strides: &'a [usize],
    pub offset: usize,
}

/// Shared handle to one device. Cheap to clone.
#[derive(Clone)]
pub struct GpuContext(Rc<Inner>);

struct Inner {
    device: wgpu::Device,
    queue: wgpu::Queue,
    info: String,
    limits: wgpu::Limits,
    pipelines: RefCell<HashMap<(&'static str, u32), wgpu::ComputePipeline>>,
    /// Generated kernels (fused elementwise chains), cached by their source.
    generated: RefCell<HashMap<String, wgpu::ComputePipeline>>,
    /// Entry point and written bindings of each cached pipeline, for plans.
    pipeline_info: RefCell<HashMap<wgpu::ComputePipeline, PipelineInfo>>,
    encoder: RefCell<Option<wgpu::CommandEncoder>>,
    pool: RefCell<HashMap<u64, Vec<wgpu::Buffer>>>,
    /// Readback staging buffers by size, reused across reads.
    staging: RefCell<HashMap<u64, Vec<wgpu::Buffer>>>,
    /// Buffers a step plan uses: never returned to the pool while it lives.
    claimed: RefCell<HashSet<wgpu::Buffer>>,
    /// The dispatches of a step being recorded (see `plan.rs`).
    recording: RefCell<Option<crate::plan::Recording>>,
    live_buffers: Cell<usize>,
    /// Buffers and bind groups ever created, of every kind.
    device_objects: Cell<usize>,
    /// Host time spent encoding plan replays (native builds only).
    encode_time: Cell<std::time::Duration>,
    /// Kernel-output buffers ever created (reuse from the pool does not count).
    created_buffers: Cell<usize>,
    submits: Cell<u64>,
    /// Set from wgpu callbacks (which must be Send), read on the next readback.
    fault: Arc<Mutex<Option<GpuError>>>,
}

impl GpuContext {
    /// Opens the default adapter with its own limits (not the conservative defaults).
    pub async fn new() -> Result<Self> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions { power_preference: wgpu::PowerPreference::HighPerformance, ..Default::default() })
            .await
            .map_err(|e| GpuError::NoAdapter(e.to_string()))?;
        let ai = adapter.get_info();
        let limits = adapter.limits();
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor { label: Some("nnlab"), required_limits: limits.clone(), ..Default::default() })
            .await
            .map_err(|e| GpuError::RequestDevice(e.to_string()))?;
        let fault = Arc::new(Mutex::new(None));
        let f = fault.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            let err = match e {
                wgpu::Error::OutOfMemory { .. } => GpuError::OutOfMemory(format!("out of GPU memory: {e}")),
                other => GpuError::Validation(other.to_string()),
            };
            f.lock().unwrap().get_or_insert(err);
        }));
        let f = fault.clone();
        device.set_device_lost_callback(move |_reason, msg| {
            *f.lock().unwrap() = Some(GpuError::DeviceLost(msg));
        });
        let info = format!("{} ({:?}, {:?})", ai.name, ai.device_type, ai.backend);
        Ok(GpuContext(Rc::new(Inner {
            device,
            queue,
            info,
            limits,
            pipelines: RefCell::default(),
            generated: RefCell::default(),
            pipeline_info: RefCell::default(),
            encoder: RefCell::new(None),
            pool: RefCell::default(),
            staging: RefCell::default(),
            claimed: RefCell::default(),
            recording: RefCell::new(None),
            live_buffers: Cell::new(0),
            device_objects: Cell::new(0),
            encode_time: Cell::new(std::time::Duration::ZERO),
            created_buffers: Cell::new(0),
            submits: Cell::new(0),
            fault,
        })))
    }

    pub fn info(&self) -> &str {
        &self.0.info
    }

    pub fn limits(&self) -> &wgpu::Limits {
        &self.0.limits
    }

    /// Number of `queue.submit` calls so far (tests use it to prove batching).
    pub fn submit_count(&self) -> u64 {
        self.0.submits.get()
    }

    /// Buffers allocated and not yet dropped.
    pub fn live_buffers(&self) -> usize {
        self.0.live_buffers.get()
    }

    /// (kernel-output buffers ever created, buffers waiting in the pool, bytes
    /// in the pool). Flat across steps means the pool serves every allocation.
    pub fn pool_stats(&self) -> (usize, usize, u64) {
        let pool = self.0.pool.borrow();
        (self.0.created_buffers.get(), pool.values().map(Vec::len).sum(), pool.values().flatten().map(wgpu::Buffer::size).sum())
    }

    /// Buffers (of every kind) and bind groups created so far. Constant across
    /// replays of a step plan: replaying allocates nothing.
    pub fn device_objects(&self) -> usize {
        self.0.device_objects.get()
    }

    pub(crate) fn count_object(&self) {
        self.0.device_objects.set(self.0.device_objects.get() + 1);
    }

    pub(crate) fn device(&self) -> &wgpu::Device {
        &self.0.device
    }

    pub(crate) fn queue(&self) -> &wgpu::Queue {
        &self.0.queue
    }

    /// Host time spent so far writing inputs and encoding plan replays, up to
    /// (not including) `queue.submit`. Natively only: on lavapipe the submit
    /// itself runs the emulated GPU's work, so it says nothing of host cost.
    pub fn encode_time(&self) -> std::time::Duration {
        self.0.encode_time.get()
    }

    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    pub(crate) fn add_encode_time(&self, d: std::time::Duration) {
        self.0.encode_time.set(self.0.encode_time.get() + d);
    }

    pub(crate) fn count_submit(&self) {
        self.0.submits.set(self.0.submits.get() + 1);
    }

    pub(crate) fn pool(&self) -> &RefCell<HashMap<u64, Vec<wgpu::Buffer>>> {
        &self.0.pool
    }

    pub(crate) fn claimed(&self) -> &RefCell<HashSet<wgpu::Buffer>> {
        &self.0.claimed
    }

    pub(crate) fn recording(&self) -> &RefCell<Option<crate::plan::Recording>> {
        &self.0.recording
    }

    /// Destroys the device, as a driver reset or a lost GPU would: from here
    /// on every readback fails with `DeviceLost`. Lets tests and the page's
    /// test hook exercise the CPU fallback.
    pub fn destroy(&self) {
        *self.0.fault.lock().unwrap() = Some(GpuError::DeviceLost("the device was destroyed".into()));
        self.0.device.destroy();
    }

    pub fn same_device(&self, other: &GpuContext) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }

    /// Reports an error raised by wgpu since the last check. A lost device
    /// stays reported; other errors are reported once.
    fn check_fault(&self) -> Result<()> {
        let mut fault = self.0.fault.lock().unwrap();
        match fault.take() {
            Some(e @ GpuError::DeviceLost(_)) => {
                *fault = Some(e.clone());
                Err(e)
            }
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Fails with `DeviceLost` once the device is gone: wgpu must not be asked
    /// for new buffers then (creating a mapped one would panic).
    fn check_lost(&self) -> Result<()> {
        match &*self.0.fault.lock().unwrap() {
            Some(e @ GpuError::DeviceLost(_)) => Err(e.clone()),
            _ => Ok(()),
        }
    }

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

    pub(crate) fn uniform(&self, bytes: &[u8]) -> Result<wgpu::Buffer> {
        self.check_lost()?;
        self.count_object();
        Ok(self.0.device.create_buffer_init(&wgpu::util::BufferInitDescriptor { label: None, contents: bytes, usage: wgpu::BufferUsages::UNIFORM }))
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

    /// Pipeline for the entry point `entry` of the WGSL that `source` builds,
    /// compiled once and cached by entry name (entry names are unique).
    pub(crate) fn pipeline(&self, entry: &'static str, source: impl FnOnce() -> String) -> wgpu::ComputePipeline {
        self.pipeline_variant(entry, 0, source)
    }

    /// Like `pipeline`, for kernels compiled once per `variant` (source
    /// constants such as an op code), cached by entry name and variant.
    pub(crate) fn pipeline_variant(&self, entry: &'static str, variant: u32, source: impl FnOnce() -> String) -> wgpu::ComputePipeline {
        self.cached_pipeline(entry, variant, true, source)
    }

    /// Like `pipeline_variant`, compiled without the bounds checks that wgpu
    /// adds to every array access (about 15% of a large matmul on an NVIDIA
    /// H200). Only for kernels whose every index is in bounds by construction:
    /// clamped reads, guarded writes, workgroup arrays indexed below their size.
    /// Browsers keep their own checks.
    pub(crate) fn unchecked_pipeline_variant(&self, entry: &'static str, variant: u32, source: impl FnOnce() -> String) -> wgpu::ComputePipeline {
        self.cached_pipeline(entry, variant, false, source)
    }

    fn cached_pipeline(&self, entry: &'static str, variant: u32, checked: bool, source: impl FnOnce() -> String) -> wgpu::ComputePipeline {
        if let Some(p) = self.0.pipelines.borrow().get(&(entry, variant)) {
            return p.clone();
        }
        let pipeline = self.compile(entry, source(), checked);
        self.0.pipelines.borrow_mut().insert((entry, variant), pipeline.clone());
        pipeline
    }

    /// Pipeline for a kernel generated at run time, cached by its source.
    pub(crate) fn generated_pipeline(&self, entry: &'static str, source: String) -> wgpu::ComputePipeline {
        if let Some(p) = self.0.generated.borrow().get(&source) {
            return p.clone();
        }
        let pipeline = self.compile(entry, source.clone(), true);
        self.0.generated.borrow_mut().insert(source, pipeline.clone());
        pipeline
    }

    fn compile(&self, entry: &'static str, source: String, checked: bool) -> wgpu::ComputePipeline {
        let writes = written_bindings(&source);
        let desc = wgpu::ShaderModuleDescriptor { label: Some(entry), source: wgpu::ShaderSource::Wgsl(source.into()) };
        let module = if checked {
            self.0.device.create_shader_module(desc)
        } else {
            // SAFETY: the caller's kernel keeps its accesses in bounds (see above).
            unsafe { self.0.device.create_shader_module_trusted(desc, wgpu::ShaderRuntimeChecks::unchecked()) }
        };
        let pipeline = self.0.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(entry),
            layout: None,
            module: &module,
            entry_point: Some(entry),
            compilation_options: Default::default(),
            cache: None,
        });
        self.0.pipeline_info.borrow_mut().insert(pipeline.clone(), PipelineInfo { entry, writes });
        pipeline
    }

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
            rec.push(info.map_or("?", |i| i.entry), pipeline, &bind_group, accesses, groups);
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

    fn release(&self, buffer: wgpu::Buffer, pooled: bool) {
        self.0.live_buffers.set(self.0.live_buffers.get() - 1);
        if pooled && !self.0.claimed.borrow().contains(&buffer) {
            self.0.pool.borrow_mut().entry(buffer.size()).or_default().push(buffer);
        }
    }
}

/// Splits a workgroup count over x and y when it exceeds the per-dimension limit.
fn grid(groups: u32, max_dim: u32) -> (u32, u32) {
    if groups <= max_dim { (groups, 1) } else { (max_dim, groups.div_ceil(max_dim)) }
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

/// What a plan needs to know of a cached pipeline.
struct PipelineInfo {
    entry: &'static str,
    /// The bindings its WGSL declares `read_write`.
    writes: Vec<u32>,
}

/// The binding numbers that `source` declares as `read_write` storage. Every
/// kernel declares one binding per line (`@group(0) @binding(3) var<storage,
/// read_write> out: array<f32>;`).
fn written_bindings(source: &str) -> Vec<u32> {
    source.lines().filter(|l| l.contains("read_write")).filter_map(|l| l.split("@binding(").nth(1)?.split(')').next()?.trim().parse().ok()).collect()
}

/// Packs a view into the fixed-size word layout the WGSL kernels read:
/// MAX_RANK strides followed by the offset. Shapes are packed separately.
pub(crate) fn pack_strides(words: &mut Vec<u32>, view: &View) {
    let pad = MAX_RANK - view.strides.len();
    words.extend(std::iter::repeat_n(0, pad));
    words.extend(view.strides.iter().map(|&s| s as u32));
    words.push(view.offset as u32);
}

pub(crate) fn pack_shape(words: &mut Vec<u32>, shape: &[usize]) -> Result<()> {
    if shape.len() > MAX_RANK {
        return Err(GpuError::RankTooLarge(shape.len()));
    }
    words.extend(std::iter::repeat_n(1, MAX_RANK - shape.len()));
    words.extend(shape.iter().map(|&d| d as u32));
    Ok(())
}
