// One invocation per output element walks the reduced sub-space of its input.
// The op codes (REDUCE_*) are constants generated from ReduceKernel; OP (the
// op) and LINE (the reduced elements lie params.step apart) are compiled in.
// params (ReduceMeta, reduce.rs) is bound at 0; views[0] addresses the first
// element of each output, views[1] (offset 0) the reduced elements from it.

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

// Where the reduced element j lies from its output's first element.
fn reduced_offset(j: u32) -> u32 {
    if (LINE) { return j * params.step; }
    return strided_offset(j, 1u);
}

@compute @workgroup_size(64)
fn reduce_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_index(gid, nwg);
    if (i < params.len) { reduce_one(i); }
}

// The same in workgroups of 4, for few outputs (reduce.rs, FEW_OUTPUTS): a
// GPU emulated on the CPU runs each workgroup on one thread, so 64 outputs
// in one workgroup of 64 would leave its other cores idle.
@compute @workgroup_size(4)
fn reduce_few(@builtin(global_invocation_id) gid: vec3<u32>) {
    if (gid.x < params.len) { reduce_one(gid.x); }
}

fn reduce_one(i: u32) {
    let base = strided_offset(i, 0u);
    let count = params.count;
    var acc = select(0.0, -f32_inf(), OP == REDUCE_MAX || OP == REDUCE_ARGMAX);
    if (OP == REDUCE_MIN) { acc = f32_inf(); }
    var best = 0u;
    for (var j = 0u; j < count; j++) {
        let v = x[base + reduced_offset(j)];
        switch OP {
            case REDUCE_SUM: { acc += v; }
            case REDUCE_MAX: { acc = max(acc, v); }
            case REDUCE_ARGMAX: { if (v > acc || (j == 0u)) { acc = v; best = j; } }
            case REDUCE_MIN: { acc = min(acc, v); }
            default: { acc = f32_nan(); }
        }
    }
    if (OP == REDUCE_ARGMAX) {
        out[i] = f32(best);
    } else if (OP == REDUCE_SUM) {
        out[i] = acc * params.scale;
    } else {
        out[i] = acc;
    }
}


// First level of a two-level reduction for few outputs over long runs:
// invocation t folds chunk t % params.parts (params.chunk elements long) of
// output t / params.parts into partial[t]; reduce_main then folds each
// output's partials. Sum (unscaled), max and min only.
@compute @workgroup_size(64)
fn reduce_chunks(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = linear_index(gid, nwg);
    let parts = params.parts;
    if (t >= params.len * parts) { return; }
    let i = t / parts;
    let start = (t % parts) * params.chunk;
    let end = min(start + params.chunk, params.count);
    let base = strided_offset(i, 0u);
    var acc = select(0.0, -f32_inf(), OP == REDUCE_MAX);
    if (OP == REDUCE_MIN) { acc = f32_inf(); }
    for (var j = start; j < end; j++) {
        let v = x[base + reduced_offset(j)];
        switch OP {
            case REDUCE_SUM: { acc += v; }
            case REDUCE_MAX: { acc = max(acc, v); }
            case REDUCE_MIN: { acc = min(acc, v); }
            default: { acc = f32_nan(); }
        }
    }
    out[t] = acc;
}
