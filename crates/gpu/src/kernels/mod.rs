//! One module per kernel family; each launches the `.wgsl` files beside it.

pub mod conv;
pub mod copy;
pub mod cross_entropy;
pub mod elementwise;
pub(crate) mod fused;
pub mod index;
pub mod lstm;
pub mod matmul;
pub mod optim;
pub mod pool;
pub mod random;
pub mod reduce;
pub mod rows;

/// Storage buffers every WebGPU device lets a shader stage bind (the spec's
/// minimum): kernels generated for a variable number of inputs stay within it.
pub(crate) const STORAGE_BINDINGS: usize = 8;

/// Most inputs such a kernel takes: the meta words and the output bind the rest.
pub(crate) const MAX_INPUTS: usize = STORAGE_BINDINGS - 2;

/// The binding declarations of a generated kernel with `inputs` f32 inputs:
/// the meta words `desc` at 0, `in0`, `in1`, .. from 1, the output `out` last.
pub(crate) fn input_bindings(inputs: usize) -> String {
    std::iter::once("@group(0) @binding(0) var<storage, read> desc: array<u32>;".to_string())
        .chain((0..inputs).map(|j| format!("@group(0) @binding({}) var<storage, read> in{j}: array<f32>;", j + 1)))
        .chain([format!("@group(0) @binding({}) var<storage, read_write> out: array<f32>;", inputs + 1)])
        .collect::<Vec<_>>()
        .join("\n")
}

/// strided.wgsl: a launch grid's linear index and a strided view's storage index.
pub(crate) fn strided() -> &'static str {
    include_str!("strided.wgsl")
}
