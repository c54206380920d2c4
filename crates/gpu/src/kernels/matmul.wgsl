// Batched C[b] = A[b] @ B[b] on strided operands (transposes are free views).
// Each invocation computes a 4x4 block of C from registers; a workgroup of 8x8
// invocations covers a 32x32 tile. Meta: [batch, m, n, k, a batch/row/col
// strides, a offset, b batch/row/col strides, b offset, bias offset]. C is
// contiguous; a bias over its columns is added when the launcher binds one.
// The block is written out as named vec4s (one per row of the block) rather
// than an array: arrays indexed in loops land in memory on CPU-emulated GPUs.

@group(0) @binding(0) var<storage, read> desc: array<u32>;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
{{BIAS}}

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
    // Rows and columns past the edge repeat the last one; their results are not written.
    var ra0 = a_base + row0 * ars;
    var ra1 = a_base + min(row0 + 1u, m - 1u) * ars;
    var ra2 = a_base + min(row0 + 2u, m - 1u) * ars;
    var ra3 = a_base + min(row0 + 3u, m - 1u) * ars;
    var cb0 = b_base + col0 * bcs;
    var cb1 = b_base + min(col0 + 1u, n - 1u) * bcs;
    var cb2 = b_base + min(col0 + 2u, n - 1u) * bcs;
    var cb3 = b_base + min(col0 + 3u, n - 1u) * bcs;
    var c0 = vec4<f32>(); var c1 = vec4<f32>(); var c2 = vec4<f32>(); var c3 = vec4<f32>();
    for (var p = 0u; p < k; p++) {
        let bv = vec4<f32>(b[cb0], b[cb1], b[cb2], b[cb3]);
        c0 = fma(vec4<f32>(a[ra0]), bv, c0);
        c1 = fma(vec4<f32>(a[ra1]), bv, c1);
        c2 = fma(vec4<f32>(a[ra2]), bv, c2);
        c3 = fma(vec4<f32>(a[ra3]), bv, c3);
        ra0 += acs; ra1 += acs; ra2 += acs; ra3 += acs;
        cb0 += brs; cb1 += brs; cb2 += brs; cb3 += brs;
    }
    let bv = vec4<f32>(bias_at(col0), bias_at(col0 + 1u), bias_at(col0 + 2u), bias_at(col0 + 3u));
    c0 += bv; c1 += bv; c2 += bv; c3 += bv;
    let at = batch * m * n + row0 * n + col0;
    store_row(at, row0, col0, m, n, c0);
    store_row(at + n, row0 + 1u, col0, m, n, c1);
    store_row(at + 2u * n, row0 + 2u, col0, m, n, c2);
    store_row(at + 3u * n, row0 + 3u, col0, m, n, c3);
}

fn store_row(at: u32, row: u32, col0: u32, m: u32, n: u32, v: vec4<f32>) {
    if (row >= m) { return; }
    c[at] = v.x;
    if (col0 + 1u < n) { c[at + 1u] = v.y; }
    if (col0 + 2u < n) { c[at + 2u] = v.z; }
    if (col0 + 3u < n) { c[at + 3u] = v.w; }
}
