//! Errors are values: every failure a user can cause ends here, never in a panic.

use thiserror::Error;

pub type Result<T> = std::result::Result<T, Error>;

#[derive(Debug, Clone, PartialEq, Error)]
pub enum Error {
    #[error("shape mismatch in {op}: {lhs:?} vs {rhs:?}")]
    ShapeMismatch { op: &'static str, lhs: Vec<usize>, rhs: Vec<usize> },
    #[error("invalid argument to {op}: {reason}")]
    InvalidArgument { op: &'static str, reason: String },
    #[error("invalid {path}: {reason}")]
    InvalidSpec { path: String, reason: String },
    #[error("{op} is not supported on the {backend} backend yet")]
    Unsupported { op: &'static str, backend: &'static str },
    #[error("tensors live on different devices in {op}")]
    DeviceMismatch { op: &'static str },
    #[error("the {what} became NaN or infinite; try a lower learning rate and reset")]
    NonFinite { what: &'static str },
    #[error("the GPU device was lost: {0}")]
    DeviceLost(String),
    #[error("out of GPU memory: {0}")]
    OutOfMemory(String),
    #[error("GPU error: {0}")]
    Gpu(String),
    #[error("this step cannot be replayed as a plan: {0}")]
    NotReplayable(String),
}

impl From<nnlab_gpu::GpuError> for Error {
    fn from(e: nnlab_gpu::GpuError) -> Self {
        match e {
            nnlab_gpu::GpuError::DeviceLost(m) => Error::DeviceLost(m),
            nnlab_gpu::GpuError::OutOfMemory(m) => Error::OutOfMemory(m),
            nnlab_gpu::GpuError::NotReplayable(m) => Error::NotReplayable(m),
            other => Error::Gpu(other.to_string()),
        }
    }
}
