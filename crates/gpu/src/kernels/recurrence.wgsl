// What the forward and backward recurrences share. Generated before this:
// the meta struct (uniform, `params`), the CELL_* codes, and H (hidden units),
// GH (gate rows, G * H), GW (the backward's gate-gradient columns), KIND (the
// cell), WG (invocations per workgroup), R (the forward's gate rows per
// invocation), and for the backward's product with w_hh's transpose UB
// blocks of BW units and MS parts of CH gate rows (recurrence.rs, `Layout`).
// Generated after the entry point's file: its product (`project`,
// `back_project`) and the private array `wr` of the weights it holds.
//
// A workgroup walks every step for 4 batch rows, one per component of a
// vec4 (rows past the batch repeat its last row and write nothing), so each
// weight read serves 4 rows. Each invocation holds its share of w_hh in `wr`
// for the whole walk: in the forward gate rows k, k + WG, ..., whose
// recurrent pre-activations it computes; in the backward a block of units
// and part of the gate rows. In both it updates units k, k + WG, ... of the
// cell.
// gx [T, N, GH] holds the input projections (strides params.gx_t and
// params.gx_n; gates contiguous).

@group(0) @binding(1) var<storage, read> gx: array<f32>;
@group(0) @binding(2) var<storage, read> w_hh: array<f32>;
@group(0) @binding(3) var<storage, read> b_hh: array<f32>;
@group(0) @binding(4) var<storage, read> state0: array<f32>;

// The state the step under way projects (4 rows per unit), and its
// recurrent pre-activations (bias included).
var<workgroup> hs: array<vec4<f32>, H>;
var<workgroup> pre: array<vec4<f32>, GH>;

fn sigm(x: vec4<f32>) -> vec4<f32> {
    return 1.0 / (1.0 + exp(-x));
}

// WGSL's tanh is undefined for large |x| on some drivers; this form is not.
fn tanh_safe(x: vec4<f32>) -> vec4<f32> {
    let e = exp(-2.0 * abs(x));
    return sign(x) * (1.0 - e) / (1.0 + e);
}

// Where element (plane s: h or c, slot j, row r, unit u) of the states
// [S, T + 1, N, H] is: slot t + 1 holds the state after time t and slot 0
// the initial one, or, reversed, slot t the state after time t and slot T
// the initial one.
fn state_at(s: u32, j: u32, r: u32, u: u32) -> u32 {
    return ((s * (params.steps + 1u) + j) * params.rows + r) * H + u;
}

fn slot_after(t: u32) -> u32 {
    return t + 1u - params.reverse;
}

fn slot_before(t: u32) -> u32 {
    return t + params.reverse;
}

fn initial_slot() -> u32 {
    return params.reverse * params.steps;
}

// Writes v's rows to `out` (each entry point's output) at `at` (row base's
// element) and each row after it `stride` on, the batch's rows only.
fn put(at: u32, stride: u32, base: u32, v: vec4<f32>) {
    for (var b = 0u; b < 4u; b++) {
        if (base + b < params.rows) { out[at + b * stride] = v[b]; }
    }
}

// Row b of the workgroup's 4, clamped to the batch.
fn row(base: u32, b: u32) -> u32 {
    return min(base + b, params.rows - 1u);
}

// Gate column q of step t's input projection for the 4 rows.
fn gx4(t: u32, base: u32, q: u32) -> vec4<f32> {
    let at = params.gx_at + t * params.gx_t + q;
    return vec4(gx[at + row(base, 0u) * params.gx_n], gx[at + row(base, 1u) * params.gx_n],
                gx[at + row(base, 2u) * params.gx_n], gx[at + row(base, 3u) * params.gx_n]);
}

// Unit u of plane s (h or c) of the initial state for the 4 rows.
fn state0_4(s: u32, base: u32, u: u32) -> vec4<f32> {
    let at = params.s0_at + s * params.rows * H + u;
    return vec4(state0[at + row(base, 0u) * H], state0[at + row(base, 1u) * H],
                state0[at + row(base, 2u) * H], state0[at + row(base, 3u) * H]);
}

// One weight of gate row q (clamped into the matrix) at column j.
fn weight(q: u32, j: u32) -> f32 {
    return w_hh[params.w_at + min(q, GH - 1u) * H + j];
}

// Gate row g's recurrent pre-activation: the product a plus the bias.
fn set_pre(g: u32, a: vec4<f32>) {
    if (g < GH) {
        var bias = 0.0;
        if (params.has_bias == 1u) { bias = b_hh[params.b_at + g]; }
        pre[g] = a + bias;
    }
}

// The activated gates of unit u at step t for the 4 rows (recurrent part in
// `pre`): i, f, g, o for an LSTM; r, z, n for a GRU; the output for an RNN.
struct Gates { a: vec4<f32>, b: vec4<f32>, c: vec4<f32>, d: vec4<f32> }

fn gates(t: u32, base: u32, u: u32) -> Gates {
    var g: Gates;
    if (KIND == CELL_LSTM) {
        g.a = sigm(gx4(t, base, u) + pre[u]);
        g.b = sigm(gx4(t, base, H + u) + pre[H + u]);
        g.c = tanh_safe(gx4(t, base, 2u * H + u) + pre[2u * H + u]);
        g.d = sigm(gx4(t, base, 3u * H + u) + pre[3u * H + u]);
    } else if (KIND == CELL_GRU) {
        g.a = sigm(gx4(t, base, u) + pre[u]);
        g.b = sigm(gx4(t, base, H + u) + pre[H + u]);
        g.c = tanh_safe(gx4(t, base, 2u * H + u) + g.a * pre[2u * H + u]);
    } else if (KIND == CELL_RELU) {
        g.a = max(gx4(t, base, u) + pre[u], vec4(0.0));
    } else {
        g.a = tanh_safe(gx4(t, base, u) + pre[u]);
    }
    return g;
}
