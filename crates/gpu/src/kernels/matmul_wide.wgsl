// Batched C[b] = A[b] @ B[b] on strided operands, for products too small for
// the workgroup tiles of matmul_tiled.wgsl but with enough outputs to keep
// every core busy with 8x8 blocks: each invocation computes an 8x8 block of C
// in 16 vec4 registers, loading 16 values per step of K for 64 multiply-adds
// (4x4 blocks, matmul.wgsl, load 8 for 16). Same meta layout as matmul.wgsl.
// The register code is generated (matmul.rs): named scalars stay in
// registers on CPU-emulated GPUs, where arrays indexed in loops do not.

@group(0) @binding(0) var<storage, read> desc: array<u32>;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
{{BIAS}}

@compute @workgroup_size(8, 8)
fn matmul_wide(@builtin(global_invocation_id) gid: vec3<u32>) {
    let m = desc[1]; let n = desc[2]; let k = desc[3];
    let batch = gid.z;
    let row0 = gid.y * 8u;
    let col0 = gid.x * 8u;
    if (row0 >= m || col0 >= n) { return; }
    let a_base = desc[7] + batch * desc[4];
    let b_base = desc[11] + batch * desc[8];
    let ars = desc[5]; let acs = desc[6]; let brs = desc[9]; let bcs = desc[10];
    // Rows and columns past the edge repeat the last one; their results are not written.
    {{DECLARE}}
    for (var p = 0u; p < k; p++) {
        {{STEP}}
    }
    let c_base = batch * m * n;
    {{WRITE}}
}
