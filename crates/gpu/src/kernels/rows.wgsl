// Normalisations of each row of contiguous [rows, cols] (the last axis), one
// invocation per row, forward and backward. OP, a constant that rows.rs
// prepends: ROW_SOFTMAX, ROW_LOG_SOFTMAX or ROW_LAYER_NORM (eps = params.eps).
// `params`: RowsMeta in rows.rs.
// The backward pass recomputes the row's statistics from x and reads the
// upstream gradient of the output. rows.rs fills in the affine part of a
// layer norm (y * weight + bias per column) or leaves it out.

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read> grad: array<f32>;
{{AFFINE_BINDINGS}}

// Softmax family: shift = row max, scale = sum of exp(x - max).
// Layer norm: shift = mean, scale = 1 / sqrt(variance + eps).
struct Stats { shift: f32, scale: f32 }

fn stats(base: u32, c: u32) -> Stats {
    if (OP == ROW_LAYER_NORM) {
        var sum = 0.0;
        for (var k = 0u; k < c; k++) { sum += x[base + k]; }
        let mean = sum / f32(c);
        var sq = 0.0;
        for (var k = 0u; k < c; k++) { let d = x[base + k] - mean; sq += d * d; }
        return Stats(mean, inverseSqrt(sq / f32(c) + params.eps));
    }
    var m = x[base];
    for (var k = 1u; k < c; k++) { m = max(m, x[base + k]); }
    var s = 0.0;
    for (var k = 0u; k < c; k++) { s += exp(x[base + k] - m); }
    return Stats(m, s);
}

// softmax(x) for the softmax family, the normalised x for layer norm.
fn normalised(v: f32, st: Stats) -> f32 {
    if (OP == ROW_LAYER_NORM) { return (v - st.shift) * st.scale; }
    return exp(v - st.shift) / st.scale;
}

@compute @workgroup_size(64)
fn rows_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = gid.x + gid.y * nwg.x * 64u;
    let c = params.cols;
    if (r >= params.rows) { return; }
    let base = params.x_at + r * c;
    let st = stats(base, c);
    let log_scale = log(st.scale);
    for (var k = 0u; k < c; k++) {
        let v = x[base + k];
        out[r * c + k] = {{FORWARD_OUT}};
    }
}

@compute @workgroup_size(64)
fn rows_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = gid.x + gid.y * nwg.x * 64u;
    let c = params.cols;
    if (r >= params.rows) { return; }
    let base = params.x_at + r * c;
    let gb = params.grad_at + r * c;
    let st = stats(base, c);
    // Row sums the rule needs: sum g * y (softmax, layer norm) and sum g.
    var gy = 0.0;
    var gs = 0.0;
    for (var k = 0u; k < c; k++) {
        let g = {{GRAD_IN}};
        gy += g * normalised(x[base + k], st);
        gs += g;
    }
    for (var k = 0u; k < c; k++) {
        let g = {{GRAD_IN}};
        let y = normalised(x[base + k], st);
        {{GRAD_PARAMS}}
        var d: f32;
        switch OP {
            case ROW_SOFTMAX: { d = y * (g - gy); }
            case ROW_LOG_SOFTMAX: { d = g - y * gs; }
            case ROW_LAYER_NORM: { d = st.scale * (g - gs / f32(c) - y * gy / f32(c)); }
            default: { var nan_bits = 0x7fc00000u; d = bitcast<f32>(nan_bits); }
        }
        out[r * c + k] = d;
    }
}
