//! The reference workloads of ../shared/bench/workloads.json and a runner that
//! performs one step of any of them on any device. The timing protocol lives
//! with each driver (the command line natively, the harness page in the
//! browser), so both contenders of the browser run share one clock.

pub mod runner;
pub mod workloads;

pub use runner::Runner;
pub use workloads::{LARGE_MATMULS, MATMULS, Mulberry32, Workload, training_workloads};
