// Gather and scatter-add along one axis of contiguous tensors seen as
// [outer, dim, inner], with `count` indices (whole numbers stored as f32).
// Scatter-add sums in a fixed order per output element (no float atomics in
// WGSL). An index outside [0, dim) yields NaN, never a silently wrong value.
// `params`: IndexMeta in index.rs (prepended).

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> idx: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> src: array<f32>;

fn valid(v: f32) -> bool {
    return v >= 0.0 && v < f32(params.dim) && v == floor(v);
}

@compute @workgroup_size(64)
fn index_select_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_index(gid, nwg);
    if (i >= params.total) { return; }
    let inner = params.inner; let count = params.count;
    let k = i % inner; let j = (i / inner) % count; let o = i / (inner * count);
    let v = idx[j];
    out[i] = select(f32_nan(), x[(o * params.dim + u32(max(v, 0.0))) * inner + k], valid(v));
}

@compute @workgroup_size(64)
fn scatter_add_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_index(gid, nwg);
    if (i >= params.total) { return; }
    let dim = params.dim; let inner = params.inner; let count = params.count;
    let k = i % inner; let d = (i / inner) % dim; let o = i / (inner * dim);
    var acc = x[i];
    for (var j = 0u; j < count; j++) {
        let v = idx[j];
        if (!valid(v)) { acc = f32_nan(); }
        else if (u32(v) == d) { acc += src[(o * count + j) * inner + k]; }
    }
    out[i] = acc;
}
