//! One device: its queue, limits, counters and faults. The buffer pool
//! (`buffers.rs`), the pipeline caches (`pipelines.rs`) and recording,
//! submitting and reading back dispatches (`dispatch.rs`) are methods of the
//! same context, one file each.

mod buffers;
mod dispatch;
mod pipelines;

pub use buffers::GpuBuffer;
pub(crate) use pipelines::Variant;

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use thiserror::Error;

/// Kernels handle views of up to this many axes.
pub const MAX_RANK: usize = 6;

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
    pipelines: RefCell<HashMap<(&'static str, pipelines::Variant), wgpu::ComputePipeline>>,
    /// Generated kernels (fused elementwise chains), cached by their source.
    generated: RefCell<HashMap<String, wgpu::ComputePipeline>>,
    /// Entry point and written bindings of each cached pipeline, for plans.
    pipeline_info: RefCell<HashMap<wgpu::ComputePipeline, pipelines::PipelineInfo>>,
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
}
