//! Datasets beyond the 2D playground ones: examples as flat `f32` arrays with a
//! per-example shape ([`ArrayDataset`]), split into train and test ([`Splits`]).
//!
//! - [`digits`]: scikit-learn's 8x8 handwritten digits, embedded (`[1, 8, 8]`, 10 classes).
//! - [`mnist1d`]: an MNIST-1D-style procedural dataset (`[1, 40]`, 10 classes).
//! - [`sequence`]: procedural sequence tasks, `[T, F]` per example: the adding
//!   problem, copy memory, parity and sine forecasting.
//! - [`table`]: a CSV upload (`[features]`, classes or a value to regress).
//!
//! Everything random draws from [`crate::datasets::Rng`] and is the same for the
//! same seed. Bad arguments are `Error::InvalidArgument`, never a panic.

pub mod array;
pub mod digits;
pub mod mnist1d;
pub mod sequence;
pub mod table;

pub use array::{ArrayDataset, Splits, Target, split};
