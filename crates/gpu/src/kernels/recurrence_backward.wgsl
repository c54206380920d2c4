// Backward through time: from the forward's states [S, T + 1, N, H] (see
// `state_at`), its saved recurrent pre-activations [T, N, GH] and the
// states' upstream gradient,
// out = [T, N, GW] gate gradients (for a GRU the input projection's r, z, n,
// then the recurrent projection's), then [S, N, H], the gradient of the
// initial state. `hs` holds the state before the step under way.

@group(0) @binding(5) var<storage, read> states: array<f32>;
@group(0) @binding(6) var<storage, read> grad: array<f32>;
@group(0) @binding(7) var<storage, read_write> out: array<f32>;
@group(0) @binding(8) var<storage, read> saved: array<f32>;

var<workgroup> cp: array<vec4<f32>, H>;
// The gradient reaching the state before the step, and the cell state's.
var<workgroup> dh: array<vec4<f32>, H>;
var<workgroup> dc: array<vec4<f32>, H>;
// The recurrent projection's gradient.
var<workgroup> dg: array<vec4<f32>, GH>;

// The 4 rows of a [.., N, H] tensor from `at` (row 0's element).
fn states4(at: u32, base: u32) -> vec4<f32> {
    return vec4(states[at + row(base, 0u) * H], states[at + row(base, 1u) * H], states[at + row(base, 2u) * H], states[at + row(base, 3u) * H]);
}

fn grad4(at: u32, base: u32) -> vec4<f32> {
    return vec4(grad[at + row(base, 0u) * H], grad[at + row(base, 1u) * H], grad[at + row(base, 2u) * H], grad[at + row(base, 3u) * H]);
}

// wr[c CH + mm] = w_hh[m, j] for gate row m = CH (k / UB) + mm and unit
// j = BW (k % UB) + c: the products `back_project` sums (0 past the matrix).
fn hold_weights(k: u32) {
    let m0 = CH * (k / UB); let j0 = BW * (k % UB);
    for (var c = 0u; c < BW; c++) {
        for (var mm = 0u; mm < CH; mm++) {
            let m = m0 + mm; let j = j0 + c;
            wr[c * CH + mm] = select(0.0, w_hh[params.w_at + min(m, GH - 1u) * H + min(j, H - 1u)], m < GH && j < H);
        }
    }
}

// Gate row g's saved pre-activations at step t into `pre`.
fn load_pre(t: u32, base: u32, g: u32) {
    if (g < GH) {
        let at = params.saved_at + t * params.rows * GH + g;
        pre[g] = vec4(saved[at + row(base, 0u) * GH], saved[at + row(base, 1u) * GH], saved[at + row(base, 2u) * GH], saved[at + row(base, 3u) * GH]);
    }
}

// Part q of unit j's gradient from the states after it (MS * H <= GH).
fn set_part(q: u32, j: u32, a: vec4<f32>) {
    if (j < H) { pre[q * H + j] = a; }
}

@compute @workgroup_size(WG)
fn recurrence_backward(@builtin(local_invocation_index) k: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let base = 4u * wid.x; let n = params.rows; let steps = params.steps;
    hold_weights(k);
    for (var i = 0u; i < steps; i++) {
        // Processing position p (the forward's p-th step) is at time t.
        let p = steps - 1u - i;
        let t = select(p, steps - 1u - p, params.reverse == 1u);
        for (var u = k; u < H; u += WG) {
            hs[u] = states4(params.states_at + state_at(0u, slot_before(t), 0u, u), base);
            if (KIND == CELL_LSTM) { cp[u] = states4(params.states_at + state_at(1u, slot_before(t), 0u, u), base); }
        }
        load_pre(t, base, k);
        if (R > 1u) { load_pre(t, base, k + WG); }
        if (R > 2u) { load_pre(t, base, k + 2u * WG); }
        if (R > 3u) { load_pre(t, base, k + 3u * WG); }
        if (R > 4u) { load_pre(t, base, k + 4u * WG); }
        if (R > 5u) { load_pre(t, base, k + 5u * WG); }
        if (R > 6u) { load_pre(t, base, k + 6u * WG); }
        if (R > 7u) { load_pre(t, base, k + 7u * WG); }
        workgroupBarrier();
        for (var u = k; u < H; u += WG) {
            let d = (t * n + base) * GW + u;
            let dht = grad4(params.grad_at + state_at(0u, slot_after(t), 0u, u), base) + dh[u];
            let g = gates(t, base, u);
            if (KIND == CELL_LSTM) {
                let c1 = g.b * cp[u] + g.a * g.c;
                let th = tanh_safe(c1);
                let dct = grad4(params.grad_at + state_at(1u, slot_after(t), 0u, u), base) + dc[u] + dht * g.d * (1.0 - th * th);
                let di = dct * g.c * g.a * (1.0 - g.a);
                let df = dct * cp[u] * g.b * (1.0 - g.b);
                let dgg = dct * g.a * (1.0 - g.c * g.c);
                let dout = dht * th * g.d * (1.0 - g.d);
                put(d, GW, base, di); put(d + H, GW, base, df); put(d + 2u * H, GW, base, dgg); put(d + 3u * H, GW, base, dout);
                dg[u] = di; dg[H + u] = df; dg[2u * H + u] = dgg; dg[3u * H + u] = dout;
                dc[u] = dct * g.b;
                dh[u] = vec4(0.0);
            } else if (KIND == CELL_GRU) {
                let dn = dht * (1.0 - g.b) * (1.0 - g.c * g.c);
                let dr = dn * pre[2u * H + u] * g.a * (1.0 - g.a);
                let dz = dht * (hs[u] - g.c) * g.b * (1.0 - g.b);
                put(d, GW, base, dr); put(d + H, GW, base, dz); put(d + 2u * H, GW, base, dn);
                put(d + GH, GW, base, dr); put(d + GH + H, GW, base, dz); put(d + GH + 2u * H, GW, base, dn * g.a);
                dg[u] = dr; dg[H + u] = dz; dg[2u * H + u] = dn * g.a;
                // What reaches the state before the step other than through w_hh.
                dh[u] = dht * g.b;
            } else {
                var da = dht * (1.0 - g.a * g.a);
                if (KIND == CELL_RELU) { da = select(vec4(0.0), dht, g.a > vec4(0.0)); }
                put(d, GW, base, da);
                dg[u] = da;
                dh[u] = vec4(0.0);
            }
        }
        workgroupBarrier();
        // dh += dg w_hh: invocation k sums part k / UB of the gate rows for
        // units BW (k % UB) .. + BW - 1 into `pre` (free until the next
        // step), then units k, k + WG, ... add up their MS parts.
        back_project(k);
        workgroupBarrier();
        for (var u = k; u < H; u += WG) {
            var sum = dh[u];
            for (var q = 0u; q < MS; q++) { sum += pre[q * H + u]; }
            dh[u] = sum;
        }
        workgroupBarrier();
    }
    // The initial state's gradient: through the steps, and its own slot's.
    for (var u = k; u < H; u += WG) {
        let at = steps * n * GW + base * H + u;
        put(at, H, base, dh[u] + grad4(params.grad_at + state_at(0u, initial_slot(), 0u, u), base));
        if (KIND == CELL_LSTM) { put(at + n * H, H, base, dc[u] + grad4(params.grad_at + state_at(1u, initial_slot(), 0u, u), base)); }
    }
}
