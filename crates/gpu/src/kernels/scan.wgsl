// Inclusive prefix sum along one axis of a contiguous tensor seen as
// [outer, dim, inner]: one invocation per line. `params`: ScanMeta in index.rs.

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn cumsum_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let line = gid.x + gid.y * nwg.x * 64u;
    let dim = params.dim; let inner = params.inner;
    if (line >= params.outer * inner) { return; }
    let base = (line / inner) * dim * inner + line % inner;
    var acc = 0.0;
    for (var d = 0u; d < dim; d++) {
        acc += x[base + d * inner];
        out[base + d * inner] = acc;
    }
}
