// One invocation per output element walks the reduced sub-space of its input.
// The op codes (REDUCE_*) are constants generated from ReduceKernel.
// Meta: [n_out, op, scale bits, n_reduced] ++ kept shape (6) ++ kept strides (6)
// ++ offset ++ reduced shape (6) ++ reduced strides (6) ++ 0.

@group(0) @binding(0) var<storage, read> desc: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn reduce_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_index(gid, nwg);
    if (i >= desc[0]) { return; }
    let op = desc[1];
    let base = strided_offset(i, 4u, 10u);
    let count = desc[3];
    var acc = select(0.0, -f32_inf(), op == REDUCE_MAX || op == REDUCE_ARGMAX);
    if (op == REDUCE_MIN) { acc = f32_inf(); }
    var best = 0u;
    for (var j = 0u; j < count; j++) {
        // strided_offset adds the trailing 0 offset word of the reduced block.
        let v = x[base + strided_offset(j, 17u, 23u)];
        switch op {
            case REDUCE_SUM: { acc += v; }
            case REDUCE_MAX: { acc = max(acc, v); }
            case REDUCE_ARGMAX: { if (v > acc || (j == 0u)) { acc = v; best = j; } }
            case REDUCE_MIN: { acc = min(acc, v); }
            default: { acc = f32_nan(); }
        }
    }
    if (op == REDUCE_ARGMAX) {
        out[i] = f32(best);
    } else if (op == REDUCE_SUM) {
        out[i] = acc * bitcast<f32>(desc[2]);
    } else {
        out[i] = acc;
    }
}


// First level of a two-level reduction for few outputs over long runs:
// invocation t folds chunk t % parts (desc[30] elements long) of output
// t / parts (parts = desc[31]) into partial[t]; reduce_main then folds each
// output's partials. Sum (unscaled), max and min only.
@compute @workgroup_size(64)
fn reduce_chunks(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = linear_index(gid, nwg);
    let parts = desc[31];
    if (t >= desc[0] * parts) { return; }
    let op = desc[1];
    let i = t / parts;
    let start = (t % parts) * desc[30];
    let end = min(start + desc[30], desc[3]);
    let base = strided_offset(i, 4u, 10u);
    var acc = select(0.0, -f32_inf(), op == REDUCE_MAX);
    if (op == REDUCE_MIN) { acc = f32_inf(); }
    for (var j = start; j < end; j++) {
        let v = x[base + strided_offset(j, 17u, 23u)];
        switch op {
            case REDUCE_SUM: { acc += v; }
            case REDUCE_MAX: { acc = max(acc, v); }
            case REDUCE_MIN: { acc = min(acc, v); }
            default: { acc = f32_nan(); }
        }
    }
    out[t] = acc;
}
