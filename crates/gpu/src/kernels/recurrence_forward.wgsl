// Forward: out [S, T + 1, N, H], the initial state and the state after each
// step (see `state_at`), and saved [T, N, GH], each step's recurrent
// pre-activations.

@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<storage, read_write> saved: array<f32>;

var<workgroup> cs: array<vec4<f32>, H>;

// wr[i H + j] = w_hh[k + i WG, j]: the gate rows `project` computes.
fn hold_weights(k: u32) {
    for (var i = 0u; i < R; i++) {
        for (var j = 0u; j < H; j++) { wr[i * H + j] = weight(k + i * WG, j); }
    }
}

// Gate row g's pre-activations at step t for the backward pass.
fn save(t: u32, base: u32, g: u32) {
    if (g < GH) {
        let v = pre[g];
        for (var b = 0u; b < 4u; b++) {
            if (base + b < params.rows) { saved[(t * params.rows + base + b) * GH + g] = v[b]; }
        }
    }
}

@compute @workgroup_size(WG)
fn recurrence_forward(@builtin(local_invocation_index) k: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let base = 4u * wid.x; let steps = params.steps;
    hold_weights(k);
    for (var u = k; u < H; u += WG) {
        hs[u] = state0_4(0u, base, u);
        put(state_at(0u, initial_slot(), base, u), H, base, hs[u]);
        if (KIND == CELL_LSTM) {
            cs[u] = state0_4(1u, base, u);
            put(state_at(1u, initial_slot(), base, u), H, base, cs[u]);
        }
    }
    workgroupBarrier();
    for (var i = 0u; i < steps; i++) {
        let t = select(i, steps - 1u - i, params.reverse == 1u);
        project(k);
        workgroupBarrier();
        save(t, base, k);
        if (R > 1u) { save(t, base, k + WG); }
        if (R > 2u) { save(t, base, k + 2u * WG); }
        if (R > 3u) { save(t, base, k + 3u * WG); }
        if (R > 4u) { save(t, base, k + 4u * WG); }
        if (R > 5u) { save(t, base, k + 5u * WG); }
        if (R > 6u) { save(t, base, k + 6u * WG); }
        if (R > 7u) { save(t, base, k + 7u * WG); }
        for (var u = k; u < H; u += WG) {
            let g = gates(t, base, u);
            var h1 = g.a;
            if (KIND == CELL_LSTM) {
                let c1 = g.b * cs[u] + g.a * g.c;
                cs[u] = c1;
                h1 = g.d * tanh_safe(c1);
                put(state_at(1u, slot_after(t), base, u), H, base, c1);
            } else if (KIND == CELL_GRU) {
                h1 = g.c + g.b * (hs[u] - g.c);
            }
            hs[u] = h1;
            put(state_at(0u, slot_after(t), base, u), H, base, h1);
        }
        workgroupBarrier();
    }
}
