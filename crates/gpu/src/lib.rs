//! The WebGPU runtime of nnlab: device initialisation from the adapter's real
//! limits, a buffer pool, a pipeline cache, WGSL kernels (each `.wgsl` next to
//! the Rust that launches it) and asynchronous readback. Kernels know nothing of
//! tensors: they take buffers plus strided views; `nnlab-core` does the rest.
//!
//! Dispatches are recorded into one pending command encoder and submitted
//! together at the next readback or `flush`, so an eager training step is one
//! command buffer and one `queue.submit`. A step can also be recorded once and
//! replayed as a `Plan` (see `plan.rs`), its elementwise chains fused
//! (`fusion.rs`), sums folded into the matmuls they add to (`epilogue.rs`)
//! and its parameter updates run as one dispatch (`updates.rs`).

mod context;
mod epilogue;
mod fusion;
mod kernels;
mod plan;
mod updates;

pub use context::{GpuBuffer, GpuContext, GpuError, MAX_RANK, View};
pub use kernels::conv::ConvGeometry;
pub use kernels::elementwise::{BinaryKernel, UnaryKernel};
pub use kernels::matmul::MatrixView;
pub use kernels::optim::{AdamParams, SgdParams};
pub use kernels::pool::PoolGeometry;
pub use kernels::random::RandomKind;
pub use kernels::recurrence::{CellKind, RecurrenceInputs};
pub use kernels::reduce::ReduceKernel;
pub use kernels::rows::RowKernel;
pub use kernels::ssm_scan::SsmSizes;
pub use plan::Plan;
