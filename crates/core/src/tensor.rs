//! `Tensor`: a cheap, immutable handle to a strided view of shared storage, plus
//! the op that produced it when gradients are tracked.

use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::backprop::grad_enabled;
use crate::layout::{Layout, numel};
use crate::{Device, Error, Op, Result, Storage};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TensorId(u64);

impl TensorId {
    fn next() -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(1);
        TensorId(COUNTER.fetch_add(1, Ordering::Relaxed))
    }
}

#[derive(Clone)]
pub struct Tensor(Rc<Inner>);

struct Inner {
    id: TensorId,
    storage: Rc<Storage>,
    layout: Layout,
    op: Option<Op>,
    requires_grad: bool,
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tensor({:?}, {:?}, {})", self.shape(), self.id(), self.device().name())
    }
}

impl Tensor {
    pub(crate) fn new(storage: Rc<Storage>, layout: Layout, op: Option<Op>) -> Tensor {
        // Record the op only when some input needs a gradient and tracking is on.
        let op = op.filter(|op| grad_enabled() && op.inputs().iter().any(|t| t.requires_grad()));
        let requires_grad = op.is_some();
        Tensor(Rc::new(Inner { id: TensorId::next(), storage, layout, op, requires_grad }))
    }

    /// A new contiguous tensor produced by `op` from fresh storage.
    pub(crate) fn from_storage(storage: Storage, shape: &[usize], op: Option<Op>) -> Tensor {
        Tensor::new(Rc::new(storage), Layout::contiguous(shape), op)
    }

    /// A view of this tensor's storage with another layout.
    pub(crate) fn view(&self, layout: Layout, op: Op) -> Tensor {
        Tensor::new(self.0.storage.clone(), layout, Some(op))
    }

    pub fn from_vec(data: Vec<f32>, shape: &[usize], device: &Device) -> Result<Tensor> {
        if data.len() != numel(shape) {
            return Err(Error::InvalidArgument { op: "from_vec", reason: format!("{} values do not fill shape {shape:?}", data.len()) });
        }
        let storage = match device {
            Device::Cpu => Storage::Cpu(data),
            Device::Gpu(ctx) => Storage::Gpu(ctx.upload(&data)?),
        };
        Ok(Tensor::from_storage(storage, shape, None))
    }

    pub fn full(value: f32, shape: &[usize], device: &Device) -> Result<Tensor> {
        Tensor::from_vec(vec![value; numel(shape)], shape, device)
    }

    pub fn zeros(shape: &[usize], device: &Device) -> Result<Tensor> {
        Tensor::full(0.0, shape, device)
    }

    pub fn ones(shape: &[usize], device: &Device) -> Result<Tensor> {
        Tensor::full(1.0, shape, device)
    }

    pub fn scalar(value: f32, device: &Device) -> Result<Tensor> {
        Tensor::from_vec(vec![value], &[], device)
    }

    /// 0, 1, ..., n-1
    pub fn arange(n: usize, device: &Device) -> Result<Tensor> {
        Tensor::from_vec((0..n).map(|i| i as f32).collect(), &[n], device)
    }

    pub fn id(&self) -> TensorId {
        self.0.id
    }
    pub fn shape(&self) -> &[usize] {
        &self.0.layout.shape
    }
    pub fn rank(&self) -> usize {
        self.0.layout.rank()
    }
    pub fn numel(&self) -> usize {
        self.0.layout.numel()
    }
    pub fn layout(&self) -> &Layout {
        &self.0.layout
    }
    pub fn storage(&self) -> &Storage {
        &self.0.storage
    }
    pub fn op(&self) -> Option<&Op> {
        self.0.op.as_ref()
    }
    pub fn device(&self) -> Device {
        self.0.storage.device()
    }
    pub fn requires_grad(&self) -> bool {
        self.0.requires_grad
    }

    /// Size of axis `axis`; negative counts from the end.
    pub fn dim(&self, axis: isize) -> Result<usize> {
        Ok(self.shape()[self.axis(axis)?])
    }

    /// Resolves a possibly negative axis.
    pub fn axis(&self, axis: isize) -> Result<usize> {
        let r = self.rank() as isize;
        let a = if axis < 0 { axis + r } else { axis };
        if a < 0 || a >= r {
            return Err(Error::InvalidArgument { op: "axis", reason: format!("axis {axis} out of range for shape {:?}", self.shape()) });
        }
        Ok(a as usize)
    }

    /// A leaf that gradients flow into (a parameter or an input to differentiate by).
    pub fn requires_grad_(self) -> Tensor {
        Tensor(Rc::new(Inner { id: TensorId::next(), storage: self.0.storage.clone(), layout: self.0.layout.clone(), op: None, requires_grad: true }))
    }

    /// The GPU buffer this tensor fills exactly (contiguous, from offset 0, every
    /// element), if it is such a tensor. Step plans bind and copy whole buffers.
    pub fn gpu_buffer(&self) -> Option<&nnlab_gpu::GpuBuffer> {
        let Storage::Gpu(buf) = self.storage() else {
            return None;
        };
        let l = self.layout();
        (l.is_contiguous() && l.offset == 0 && l.numel() == buf.len()).then_some(buf)
    }

    /// The GPU buffer and offset (in elements) of this tensor's elements, if
    /// they lie contiguously in one (a whole buffer, or a slot of one).
    pub fn gpu_slice(&self) -> Option<(&nnlab_gpu::GpuBuffer, usize)> {
        let Storage::Gpu(buf) = self.storage() else {
            return None;
        };
        let l = self.layout();
        l.is_contiguous().then_some((buf, l.offset))
    }

    /// A tensor of `shape` whose elements lie contiguously in `buf` from
    /// element `offset`: state a step plan keeps in a slot of an arena.
    pub fn from_gpu_slice(buf: nnlab_gpu::GpuBuffer, offset: usize, shape: &[usize]) -> Result<Tensor> {
        let layout = Layout { offset, ..Layout::contiguous(shape) };
        if offset + layout.numel() > buf.len() {
            return Err(Error::InvalidArgument {
                op: "from_gpu_slice",
                reason: format!("{} elements from {offset} in a buffer of {}", layout.numel(), buf.len()),
            });
        }
        Ok(Tensor::new(Rc::new(Storage::Gpu(buf)), layout, None))
    }

    /// The same values, cut from the graph.
    pub fn detach(&self) -> Tensor {
        Tensor::new(self.0.storage.clone(), self.0.layout.clone(), None)
    }

    /// All elements in row-major order. Submits pending GPU work; never blocks
    /// the browser's thread.
    pub async fn to_vec(&self) -> Result<Vec<f32>> {
        match self.storage() {
            Storage::Cpu(data) => Ok(crate::cpu::gather(data, self.layout())),
            Storage::Gpu(buf) => {
                let t = if self.layout().is_contiguous() { self.clone() } else { self.contiguous()? };
                let ctx = buf.context();
                let Storage::Gpu(buf) = t.storage() else { unreachable!("contiguous keeps the device") };
                Ok(ctx.read(buf, t.layout().offset, t.numel()).await?)
            }
        }
    }

    /// The single value of a one-element tensor.
    pub async fn to_scalar(&self) -> Result<f32> {
        if self.numel() != 1 {
            return Err(Error::InvalidArgument { op: "to_scalar", reason: format!("shape {:?} has {} elements", self.shape(), self.numel()) });
        }
        Ok(self.to_vec().await?[0])
    }

    /// A copy on `device` (detached from the graph).
    pub async fn to_device(&self, device: &Device) -> Result<Tensor> {
        if self.device().same(device) {
            return Ok(self.detach());
        }
        Tensor::from_vec(self.to_vec().await?, self.shape(), device)
    }
}
