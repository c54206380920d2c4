// The LSTM cell, forward and backward, one invocation per (row, unit).
// Gates [N, 4H] pre-activation (i, f, g, o), cell state c [N, H].
// Forward writes [2, N, H] (h', c'); backward reads the upstream gradient
// [2, N, H] and writes [N, 5H] (d gates, d c). `params`: LstmMeta
// in lstm.rs.

@group(0) @binding(1) var<storage, read> gates: array<f32>;
@group(0) @binding(2) var<storage, read> cell: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> grad: array<f32>;

fn sigm(x: f32) -> f32 {
    return 1.0 / (1.0 + exp(-x));
}

// WGSL's tanh is undefined for large |x| on some drivers; this form is not.
fn tanh_safe(x: f32) -> f32 {
    let e = exp(-2.0 * abs(x));
    return sign(x) * (1.0 - e) / (1.0 + e);
}

// The activated gates of unit j of row r, and the new cell state.
struct Cell { i: f32, f: f32, g: f32, o: f32, c1: f32 }

fn cell_at(r: u32, j: u32, h: u32) -> Cell {
    let gb = params.gates_at + r * 4u * h + j;
    let i = sigm(gates[gb]); let f = sigm(gates[gb + h]); let g = tanh_safe(gates[gb + 2u * h]); let o = sigm(gates[gb + 3u * h]);
    return Cell(i, f, g, o, f * cell[params.c_at + r * h + j] + i * g);
}

@compute @workgroup_size(64)
fn lstm_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.x + gid.y * nwg.x * 64u;
    let n = params.rows; let h = params.hidden;
    if (t >= n * h) { return; }
    let s = cell_at(t / h, t % h, h);
    out[t] = s.o * tanh_safe(s.c1);
    out[n * h + t] = s.c1;
}

@compute @workgroup_size(64)
fn lstm_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.x + gid.y * nwg.x * 64u;
    let n = params.rows; let h = params.hidden;
    if (t >= n * h) { return; }
    let r = t / h; let j = t % h;
    let s = cell_at(r, j, h);
    let cp = cell[params.c_at + t];
    let th = tanh_safe(s.c1);
    let dh = grad[params.grad_at + t];
    let dc = grad[params.grad_at + n * h + t] + dh * s.o * (1.0 - th * th);
    let ob = r * 5u * h + j;
    out[ob] = dc * s.g * s.i * (1.0 - s.i);
    out[ob + h] = dc * cp * s.f * (1.0 - s.f);
    out[ob + 2u * h] = dc * s.i * (1.0 - s.g * s.g);
    out[ob + 3u * h] = dh * th * s.o * (1.0 - s.o);
    out[ob + 4u * h] = dc * s.f;
}
