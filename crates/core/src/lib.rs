//! nnlab's core: `Tensor` (a cheap handle to a strided view of CPU or GPU
//! storage), the `Op` enum of primitives, reverse-mode autograd with all
//! backward rules in one match (`backprop.rs`), and the CPU reference backend.

mod backprop;
mod composite;
pub mod cpu;
mod device;
mod error;
pub mod layout;
mod op;
mod ops;
pub mod random;
mod tensor;

pub use backprop::{GradStore, NoGradGuard, no_grad};
pub use composite::PadMode;
pub use device::{Device, Storage};
pub use error::{Error, Result};
pub use layout::Layout;
pub use nnlab_gpu::{AdamParams, GpuBuffer, GpuContext, Plan, SgdParams};
pub use op::{BinaryOp, CellKind, CmpOp, Conv2dParams, Op, Pool2dParams, ReduceOp, RowOp, UnaryOp};
pub use tensor::{Tensor, TensorId};
