// Batched C[b] = A[b] @ B[b] on strided operands (transposes are free views).
// Each invocation computes a 4x4 block of C from registers; a workgroup of 8x8
// invocations covers a 32x32 tile. Meta: [batch, m, n, k, a batch/row/col
// strides, a offset, b batch/row/col strides, b offset]. C is contiguous.

@group(0) @binding(0) var<storage, read> desc: array<u32>;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

@compute @workgroup_size(8, 8)
fn matmul_main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let m = desc[1]; let n = desc[2]; let k = desc[3];
    let batch = gid.z;
    let row0 = gid.y * 4u;
    let col0 = gid.x * 4u;
    if (row0 >= m || col0 >= n) { return; }
    let a_base = desc[7] + batch * desc[4];
    let b_base = desc[11] + batch * desc[8];
    let ars = desc[5]; let acs = desc[6]; let brs = desc[9]; let bcs = desc[10];
    var acc: array<array<f32, 4>, 4>;
    var ra: array<u32, 4>;
    var cb: array<u32, 4>;
    for (var i = 0u; i < 4u; i++) {
        ra[i] = a_base + min(row0 + i, m - 1u) * ars;
        cb[i] = b_base + min(col0 + i, n - 1u) * bcs;
    }
    for (var p = 0u; p < k; p++) {
        var av: array<f32, 4>;
        var bv: array<f32, 4>;
        for (var i = 0u; i < 4u; i++) {
            av[i] = a[ra[i] + p * acs];
            bv[i] = b[cb[i] + p * brs];
        }
        for (var i = 0u; i < 4u; i++) {
            for (var j = 0u; j < 4u; j++) {
                acc[i][j] = fma(av[i], bv[j], acc[i][j]);
            }
        }
    }
    let c_base = batch * m * n;
    for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) {
            if (row0 + i < m && col0 + j < n) {
                c[c_base + (row0 + i) * n + col0 + j] = acc[i][j];
            }
        }
    }
}
