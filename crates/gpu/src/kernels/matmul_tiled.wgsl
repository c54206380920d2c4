// Batched C[b] = A[b] @ B[b] for large operands: each workgroup of 16x16
// invocations computes a 128x128 tile of C, each invocation an 8x8 block of it
// in registers. K advances 16 at a time through workgroup memory (2 x 8 KiB);
// the next K-slice is loaded into registers while the current one is used.
// Same meta layout and strided operands as matmul_blocked.wgsl.

@group(0) @binding(0) var<storage, read> desc: array<u32>;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
{{BIAS}}

const TILE: u32 = 128u;
const KSTEP: u32 = 16u;
// As[kk * TILE + row] and Bs[kk * TILE + col]: one K-slice of the A and B tiles.
var<workgroup> As: array<f32, 2048>;
var<workgroup> Bs: array<f32, 2048>;

var<private> batch: u32;
fn batch_of() -> u32 { return batch; }

@compute @workgroup_size(16, 16)
fn matmul_tiled(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
                @builtin(local_invocation_index) li: u32) {
    let m = desc[1]; let n = desc[2]; let k = desc[3];
    batch = wg.z;
    let row0 = wg.y * TILE;
    let col0 = wg.x * TILE;

    // Register names below are generated (see matmul.rs): arrays indexed in
    // loops end up in memory on CPU-emulated GPUs, named scalars stay in registers.
    let tiles = (k + KSTEP - 1u) / KSTEP;
    {{DECLARE}}
    {{LOAD_FIRST}}
    for (var t = 0u; t < tiles; t++) {
        workgroupBarrier();
        {{STORE}}
        workgroupBarrier();
        if (t + 1u < tiles) {
            let k0 = (t + 1u) * KSTEP;
            {{LOAD_NEXT}}
        }
        for (var kk = 0u; kk < KSTEP; kk++) {
            let ab = kk * TILE + lid.y * 8u;
            let bb = kk * TILE + lid.x * 8u;
            let b0 = vec4<f32>(Bs[bb], Bs[bb + 1u], Bs[bb + 2u], Bs[bb + 3u]);
            let b1 = vec4<f32>(Bs[bb + 4u], Bs[bb + 5u], Bs[bb + 6u], Bs[bb + 7u]);
            {{FMA}}
        }
    }
    let c_base = wg.z * m * n;
    let c0 = col0 + lid.x * 8u;
    {{WRITE}}
}

// Element idx of this K-slice of the A tile (row idx / 16, column k0 + idx % 16), 0 outside A.
fn load_a(idx: u32, k0: u32, row0: u32) -> f32 {
    let m = desc[1]; let k = desc[3];
    let r = row0 + idx / KSTEP; let kk = k0 + idx % KSTEP;
    let at = desc[7] + desc[4] * batch_of() + min(r, m - 1u) * desc[5] + min(kk, k - 1u) * desc[6];
    return select(0.0, a[at], r < m && kk < k);
}

// Element idx of this K-slice of the B tile (row k0 + idx / 128, column idx % 128), 0 outside B.
fn load_b(idx: u32, k0: u32, col0: u32) -> f32 {
    let n = desc[2]; let k = desc[3];
    let cc = col0 + idx % TILE; let kb = k0 + idx / TILE;
    let at = desc[11] + desc[8] * batch_of() + min(kb, k - 1u) * desc[9] + min(cc, n - 1u) * desc[10];
    return select(0.0, b[at], cc < n && kb < k);
}
