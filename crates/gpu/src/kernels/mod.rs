//! One module per kernel family; each launches the `.wgsl` files beside it.

pub mod cross_entropy;
pub mod elementwise;
pub(crate) mod fused;
pub mod lstm;
pub mod matmul;
pub mod optim;
pub mod random;
pub mod spatial;
pub mod reduce;
pub mod rows;
