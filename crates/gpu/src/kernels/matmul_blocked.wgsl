// Batched C[b] = A[b] @ B[b] on strided operands (transposes are free views),
// for products too small for the workgroup tiles of matmul_tiled.wgsl: each
// invocation computes a BLOCK x BLOCK block of C in registers, loading
// 2 * BLOCK values per step of K for BLOCK^2 multiply-adds, and a workgroup
// of 8x8 invocations covers an 8 BLOCK square. matmul.rs generates this with
// BLOCK 4 (matmul_main) and 8 (matmul_wide), writing the register code out as
// named vec4s: arrays indexed in loops land in memory on CPU-emulated GPUs.
// `params`: MatmulMeta in matmul.rs (prepended), the sizes and each
// operand's strided view. C = alpha A B is contiguous; a bias over its
// columns is added when the launcher binds one.

@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
{{BIAS}}
{{ADDEND}}

@compute @workgroup_size(8, 8)
fn {{ENTRY}}(@builtin(global_invocation_id) gid: vec3<u32>) {
    let m = params.m; let n = params.n; let k = params.k;
    let batch = gid.z;
    let row0 = gid.y * {{BLOCK}}u;
    let col0 = gid.x * {{BLOCK}}u;
    if (row0 >= m || col0 >= n) { return; }
    let a_base = params.a_offset + batch / params.a_inner * params.a_outer_stride + batch % params.a_inner * params.a_batch_stride;
    let b_base = params.b_offset + batch / params.b_inner * params.b_outer_stride + batch % params.b_inner * params.b_batch_stride;
    let ars = params.a_row_stride; let acs = params.a_col_stride; let brs = params.b_row_stride; let bcs = params.b_col_stride;
    // Rows and columns past the edge repeat the last one; their results are not written.
    {{DECLARE}}
    for (var p = 0u; p < k; p++) {
        {{STEP}}
    }
    let c_base = batch * m * n;
    {{WRITE}}
}
