//! Prior-data fitted networks (Müller et al., "Transformers Can Do Bayesian
//! Inference", ICLR 2022): a transformer trained only on datasets sampled
//! from a prior, which then approximates the posterior predictive of a new
//! dataset in one forward pass.
//!
//! - [`prior`]: the priors (Gaussian process, Bayesian neural network, tabular
//!   classification), seeded samplers of whole datasets.
//! - [`gp`]: the exact references (GP posterior, Bayes-optimal mixture over
//!   hyperparameters).
//! - [`bar`]: the bar distribution with half-normal tails the PFN predicts.
//! - [`model`]: the transformer with the context/query attention mask.
//! - [`spec`]: a PFN as one JSON document (prior, model, training).
//! - [`pfn`]: a model with its borders, saved and loaded, and its predictions ([`Pfn`]).
//! - [`train`]: training steps on the prior, checkpoints and resuming.
//! - [`classify`]: in-context classification of a small table, and its baselines.
//! - [`curve`]: what the 1D regression view draws (PFN and exact GP bands).
//! - [`eval`]: held-out NLL and interval coverage against the exact references.

pub mod bar;
pub mod classify;
pub mod curve;
pub mod eval;
pub mod gp;
pub mod model;
#[allow(clippy::module_inception)]
pub mod pfn;
pub mod prior;
pub mod spec;
pub mod train;

pub use bar::BarDistribution;
pub use model::{PfnModel, PfnModelConfig};
pub use pfn::{Pfn, PredictRequest, Prediction};
pub use prior::{Dataset, Prior};
pub use spec::PfnSpec;
pub use train::PfnTrainer;
