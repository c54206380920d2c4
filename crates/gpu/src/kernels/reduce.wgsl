// One invocation per output element walks the reduced sub-space of its input.
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
    var acc = select(0.0, -f32_inf(), op == 1u || op == 2u);
    if (op == 3u) { acc = f32_inf(); }
    var best = 0u;
    for (var j = 0u; j < count; j++) {
        // strided_offset adds the trailing 0 offset word of the reduced block.
        let v = x[base + strided_offset(j, 17u, 23u)];
        switch op {
            case 0u: { acc += v; }
            case 1u: { acc = max(acc, v); }
            case 2u: { if (v > acc || (j == 0u)) { acc = v; best = j; } }
            default: { acc = min(acc, v); }
        }
    }
    if (op == 2u) {
        out[i] = f32(best);
    } else if (op == 0u) {
        out[i] = acc * bitcast<f32>(desc[2]);
    } else {
        out[i] = acc;
    }
}

// Tree reduction for few outputs over many elements: one workgroup per
// output. Its 256 invocations each fold every 256th element, then halve
// their partial results in workgroup memory (8 rounds). Same meta as
// reduce_main; argmax keeps the smallest index among equal maxima.
const TREE: u32 = 256u;
var<workgroup> tree_vals: array<f32, 256>;
var<workgroup> tree_idx: array<u32, 256>;

// Folds (v, j) into (acc, best) for op; best == 0xffffffff means empty.
fn fold(op: u32, acc: f32, best: u32, v: f32, j: u32) -> vec2<u32> {
    switch op {
        case 0u: { return vec2<u32>(bitcast<u32>(acc + v), 0u); }
        case 1u: { return vec2<u32>(bitcast<u32>(max(acc, v)), 0u); }
        case 2u: {
            let take = best == 0xffffffffu || (j != 0xffffffffu && (v > acc || (v == acc && j < best)));
            return select(vec2<u32>(bitcast<u32>(acc), best), vec2<u32>(bitcast<u32>(v), j), take);
        }
        default: { return vec2<u32>(bitcast<u32>(min(acc, v)), 0u); }
    }
}

@compute @workgroup_size(256)
fn reduce_tree(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let i = wg.x + wg.y * nwg.x;
    let valid = i < desc[0];
    let op = desc[1];
    let count = desc[3];
    var acc = select(0.0, -f32_inf(), op == 1u || op == 2u);
    if (op == 3u) { acc = f32_inf(); }
    var best = 0xffffffffu;
    if (valid) {
        let base = strided_offset(i, 4u, 10u);
        for (var j = li; j < count; j += TREE) {
            let r = fold(op, acc, best, x[base + strided_offset(j, 17u, 23u)], j);
            acc = bitcast<f32>(r.x);
            best = r.y;
        }
    }
    tree_vals[li] = acc;
    tree_idx[li] = best;
    for (var s = TREE / 2u; s > 0u; s = s / 2u) {
        workgroupBarrier();
        if (li < s) {
            let r = fold(op, tree_vals[li], tree_idx[li], tree_vals[li + s], tree_idx[li + s]);
            tree_vals[li] = bitcast<f32>(r.x);
            tree_idx[li] = r.y;
        }
    }
    if (li == 0u && valid) {
        if (op == 2u) {
            out[i] = f32(tree_idx[0]);
        } else if (op == 0u) {
            out[i] = tree_vals[0] * bitcast<f32>(desc[2]);
        } else {
            out[i] = tree_vals[0];
        }
    }
}
