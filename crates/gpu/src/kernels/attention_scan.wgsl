// Attention of one query over every prefix, token by token (Aaren's recurrent
// mode): for each sequence n and step k, r[k] = sum_{j<=k} a_kj v[j] with
// a_kj = exp(s[j] - m[k]) / u[k], m[k] the running maximum of the scores and
// u[k] = sum_{j<=k} exp(s[j] - m[k]) the normaliser, both carried from step
// to step as Aaren's state is. One invocation per (sequence, feature) walks
// the steps; `params`: ScanAttentionMeta in attention_scan.rs. Scores s
// [N, T], values v [N, T, D] and (backward) r and its gradient g [N, T, D]
// are contiguous.
//
// forward: r, then `state` [2, N, T]: m and u of every step (for backward).
// backward: [2, N, T, D]: the values' gradient, then per-feature terms whose
// sum over D is the scores' gradient. Walking back from the last step,
// G = sum_{k>=j} exp(m[j] - m[k]) g[k] / u[k] and
// H = sum_{k>=j} exp(m[j] - m[k]) g[k] r[k] / u[k] shrink by exp(m[j] - m[j+1])
// <= 1 per step (no overflow), and with e = exp(s[j] - m[j]):
// dv[j] = e G, ds[j] = sum over features of e (v[j] G - H).

@group(0) @binding(1) var<storage, read> s: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read_write> state: array<f32>;
@group(0) @binding(5) var<storage, read> r: array<f32>;
@group(0) @binding(6) var<storage, read> g: array<f32>;

@compute @workgroup_size(64)
fn attention_scan_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 64u;
    let t = params.steps; let d = params.features;
    if (i >= params.rows * d) { return; }
    let n = i / d; let f = i % d;
    // Step 0 starts the state: m = s, u = 1, w = v.
    var m = s[n * t];
    var u = 1.0;
    var w = v[n * t * d + f];
    out[n * t * d + f] = w;
    let plane = params.rows * t;
    if (f == 0u) { state[n * t] = m; state[plane + n * t] = u; }
    for (var k = 1u; k < t; k++) {
        let sk = s[n * t + k];
        let m1 = max(m, sk);
        let decay = exp(m - m1);
        let fresh = exp(sk - m1);
        u = u * decay + fresh;
        let at = (n * t + k) * d + f;
        w = w * decay + fresh * v[at];
        m = m1;
        out[at] = w / u;
        if (f == 0u) { state[n * t + k] = m; state[plane + n * t + k] = u; }
    }
}

@compute @workgroup_size(64)
fn attention_scan_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 64u;
    let t = params.steps; let d = params.features;
    if (i >= params.rows * d) { return; }
    let n = i / d; let f = i % d;
    let plane = params.rows * t;
    let half = plane * d;
    var big_g = 0.0;
    var big_h = 0.0;
    var m_next = 0.0;
    for (var p = 0u; p < t; p++) {
        let k = t - 1u - p;
        let m = state[n * t + k];
        let u = state[plane + n * t + k];
        if (p > 0u) {
            let shrink = exp(m - m_next);
            big_g *= shrink;
            big_h *= shrink;
        }
        m_next = m;
        let at = (n * t + k) * d + f;
        big_g += g[at] / u;
        big_h += g[at] * r[at] / u;
        let e = exp(s[n * t + k] - m);
        out[at] = e * big_g;
        out[half + at] = e * (v[at] * big_g - big_h);
    }
}
