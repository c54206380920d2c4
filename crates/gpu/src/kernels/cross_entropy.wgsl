// Softmax cross-entropy per row, forward and backward, one invocation per row.
// Logits [N, C], labels [N] (class indices as floats; one that is not a whole
// number below C gives NaN). Forward writes [N]: logsumexp(row) - row[label].
// Backward reads the upstream gradient [N] (params.grad_step apart) and writes [N, C]:
// grad[r] * (softmax(row) - onehot(label)). `params`:
// CrossEntropyMeta in cross_entropy.rs.

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> grad: array<f32>;

fn nan() -> f32 {
    var bits = 0x7fc00000u;
    return bitcast<f32>(bits);
}

// The label of row r as a class index, or C when it is not a valid one.
fn label_of(r: u32, c: u32) -> u32 {
    let l = labels[params.labels_at + r];
    if (l >= 0.0 && l < f32(c) && floor(l) == l) { return u32(l); }
    return c;
}

fn row_max(base: u32, c: u32) -> f32 {
    var m = x[base];
    for (var k = 1u; k < c; k++) { m = max(m, x[base + k]); }
    return m;
}

fn row_sum_exp(base: u32, c: u32, m: f32) -> f32 {
    var s = 0.0;
    for (var k = 0u; k < c; k++) { s += exp(x[base + k] - m); }
    return s;
}

@compute @workgroup_size(64)
fn cross_entropy_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = gid.x + gid.y * nwg.x * 64u;
    let n = params.rows; let c = params.cols;
    if (r >= n) { return; }
    let base = params.x_at + r * c;
    let label = label_of(r, c);
    if (label == c) { out[r] = nan(); return; }
    let m = row_max(base, c);
    out[r] = m + log(row_sum_exp(base, c, m)) - x[base + label];
}

@compute @workgroup_size(64)
fn cross_entropy_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = gid.x + gid.y * nwg.x * 64u;
    let n = params.rows; let c = params.cols;
    if (r >= n) { return; }
    let base = params.x_at + r * c;
    let label = label_of(r, c);
    let m = row_max(base, c);
    let s = row_sum_exp(base, c, m);
    let g = grad[params.grad_at + r * params.grad_step];
    for (var k = 0u; k < c; k++) {
        var v = g * (exp(x[base + k] - m) / s - select(0.0, 1.0, k == label));
        if (label == c) { v = nan(); }
        out[r * c + k] = v;
    }
}
