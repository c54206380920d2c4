// Batched C[b] = A[b] @ B[b] for large operands: each workgroup of 16 x WY
// invocations computes a TM x 128 tile of C (TM = 8 WY), each invocation 8x8
// values of it in registers. K advances 16 at a time through workgroup
// memory; the next K-slice is loaded into registers while the current one is
// used. Same `params` (MatmulMeta) and strided operands as matmul_blocked.wgsl.
// matmul.rs fills in WY, A's element type (f32, or vec4 when its rows allow)
// and the register code, and says how the workgroup tiles are laid out
// (`tiled_source`).

@group(0) @binding(1) var<storage, read> a: array<{{A_ELEMENT}}>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
{{BIAS}}
{{ADDEND}}

const WY: u32 = {{WY}}u;
const TM: u32 = 8u * WY;
const TN: u32 = 128u;
const KSTEP: u32 = 16u;
{{SHARED}}

@compute @workgroup_size(16, {{WY}})
fn {{ENTRY}}(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
             @builtin(local_invocation_index) li: u32) {
    let m = params.m; let n = params.n; let k = params.k;
    let row0 = wg.y * TM;
    let col0 = wg.x * TN;

    // This invocation loads A at rows ar + e WY of the tile and K-offset ak
    // (or, as vec4s, the generated rows and K-offsets), and B at K-offsets
    // bk + e WY / 8 and column bc. Rows and columns past the edge read the
    // last one and K past the end reads 0.
    let ak = li % KSTEP; let ar = li / KSTEP;
    let bk = li / TN; let bc = li % TN;
    let acs = params.a_col_stride; let brs = params.b_row_stride;
    let a_base = params.a_offset + wg.z / params.a_inner * params.a_outer_stride + wg.z % params.a_inner * params.a_batch_stride;
    let b_at = params.b_offset + wg.z / params.b_inner * params.b_outer_stride + wg.z % params.b_inner * params.b_batch_stride + min(col0 + bc, n - 1u) * params.b_col_stride;
    let b_in = col0 + bc < n;

    // Register names below are generated (see matmul.rs): arrays indexed in
    // loops end up in memory on CPU-emulated GPUs, named scalars stay in registers.
    let tiles = (k + KSTEP - 1u) / KSTEP;
    {{DECLARE}}
    {
        let k0 = 0u;
        {{LOAD}}
    }
    for (var t = 0u; t < tiles; t++) {
        workgroupBarrier();
        {{STORE}}
        workgroupBarrier();
        if (t + 1u < tiles) {
            let k0 = (t + 1u) * KSTEP;
            {{LOAD}}
        }
        {{SLICE}}
    }
    let c_base = wg.z * m * n;
    {{WRITE}}
}
