// Batched C[b] = A[b] @ B[b] on strided operands (transposes are free views),
// for products too small for the workgroup tiles of matmul_tiled.wgsl: each
// invocation computes a BLOCK x BLOCK block of C in registers, loading
// 2 * BLOCK values per step of K for BLOCK^2 multiply-adds, and a workgroup
// of 8x8 invocations covers an 8 BLOCK square. matmul.rs generates this with
// BLOCK 4 (matmul_main) and 8 (matmul_wide), writing the register code out as
// named vec4s: arrays indexed in loops land in memory on CPU-emulated GPUs.
// Meta: [batch, m, n, k, a batch/row/col strides, a offset, b batch/row/col
// strides, b offset, bias offset, a inner/outer stride, b inner/outer stride,
// alpha bits]. Matrix z of an operand starts at offset + z / inner * outer +
// z % inner * batch stride. C = alpha A B is contiguous; a bias over its
// columns is added when the launcher binds one.

@group(0) @binding(0) var<storage, read> desc: array<u32>;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
{{BIAS}}

@compute @workgroup_size(8, 8)
fn {{ENTRY}}(@builtin(global_invocation_id) gid: vec3<u32>) {
    let m = desc[1]; let n = desc[2]; let k = desc[3];
    let batch = gid.z;
    let row0 = gid.y * {{BLOCK}}u;
    let col0 = gid.x * {{BLOCK}}u;
    if (row0 >= m || col0 >= n) { return; }
    let a_base = desc[7] + batch / desc[13] * desc[14] + batch % desc[13] * desc[4];
    let b_base = desc[11] + batch / desc[15] * desc[16] + batch % desc[15] * desc[8];
    let ars = desc[5]; let acs = desc[6]; let brs = desc[9]; let bcs = desc[10];
    // Rows and columns past the edge repeat the last one; their results are not written.
    {{DECLARE}}
    for (var p = 0u; p < k; p++) {
        {{STEP}}
    }
    let c_base = batch * m * n;
    {{WRITE}}
}
