// A diagonal linear state-space model's recurrence over whole sequences
// (S4D's recurrent mode): for each sequence n, channel c and mode k,
// z[t] = a z[t-1] + u[t] (complex a, real input, z[-1] = 0), and
// y[t] = 2 Re(sum over modes of w z[t]). Complex parameters come as real and
// imaginary planes [C, M]; u, y and (backward) g are [N, T, C]; the states
// `z` [N, C, M, T, 2] (real, imaginary). One invocation per (sequence,
// channel) walks each mode through the steps and adds its share of y (or of
// u's gradient) in place, so no array is indexed in a loop. `params`:
// SsmScanMeta in ssm_scan.rs.
//
// forward: y, and when `keep` is 1 every state z for the backward.
// backward: [N, T, C] u's gradient, then [4, N, C, M] per-sequence terms
// whose sums over N are the gradients of a (real, imaginary) and w (real,
// imaginary). Walking back, lambda[t] = 2 g[t] conj(w) + conj(a) lambda[t+1]
// is the gradient of z[t]; then du[t] = sum over modes of Re lambda[t],
// da = sum over t of lambda[t] conj(z[t-1]), dw = sum over t of
// 2 g[t] conj(z[t]).

@group(0) @binding(1) var<storage, read> a_re: array<f32>;
@group(0) @binding(2) var<storage, read> a_im: array<f32>;
@group(0) @binding(3) var<storage, read> w_re: array<f32>;
@group(0) @binding(4) var<storage, read> w_im: array<f32>;
// The input sequence: u forward, the outputs' gradient g backward (one
// binding, so the module stays within the 8 storage buffers WebGPU grants).
@group(0) @binding(5) var<storage, read> series: array<f32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;
@group(0) @binding(7) var<storage, read_write> z: array<f32>;

@compute @workgroup_size(64)
fn ssm_scan_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 64u;
    let t_len = params.steps; let c_len = params.channels; let m_len = params.modes;
    if (i >= params.rows * c_len) { return; }
    let n = i / c_len; let c = i % c_len;
    for (var k = 0u; k < m_len; k++) {
        let p = c * m_len + k;
        let ar = a_re[p]; let ai = a_im[p]; let wr = w_re[p]; let wi = w_im[p];
        var zr = 0.0; var zi = 0.0;
        let states = (i * m_len + k) * t_len;
        for (var t = 0u; t < t_len; t++) {
            let at = (n * t_len + t) * c_len + c;
            let next_r = ar * zr - ai * zi + series[at];
            zi = ar * zi + ai * zr;
            zr = next_r;
            let share = 2.0 * (wr * zr - wi * zi);
            if (k == 0u) { out[at] = share; } else { out[at] += share; }
            if (params.keep == 1u) { z[2u * (states + t)] = zr; z[2u * (states + t) + 1u] = zi; }
        }
    }
}

@compute @workgroup_size(64)
fn ssm_scan_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 64u;
    let t_len = params.steps; let c_len = params.channels; let m_len = params.modes;
    let total = params.rows * c_len;
    if (i >= total) { return; }
    let n = i / c_len; let c = i % c_len;
    let terms = params.rows * t_len * c_len;
    let plane = total * m_len;
    for (var k = 0u; k < m_len; k++) {
        let p = c * m_len + k;
        let ar = a_re[p]; let ai = a_im[p]; let wr = w_re[p]; let wi = w_im[p];
        var lr = 0.0; var li = 0.0;
        var da = vec2<f32>(0.0); var dw = vec2<f32>(0.0);
        let states = (i * m_len + k) * t_len;
        for (var q = 0u; q < t_len; q++) {
            let t = t_len - 1u - q;
            let at = (n * t_len + t) * c_len + c;
            let gt = 2.0 * series[at];
            let next_r = gt * wr + ar * lr + ai * li;
            li = -gt * wi + ar * li - ai * lr;
            lr = next_r;
            if (k == 0u) { out[at] = lr; } else { out[at] += lr; }
            let zr = z[2u * (states + t)]; let zi = z[2u * (states + t) + 1u];
            dw += gt * vec2<f32>(zr, -zi);
            if (t > 0u) {
                let pr = z[2u * (states + t - 1u)]; let pi = z[2u * (states + t - 1u) + 1u];
                da += vec2<f32>(lr * pr + li * pi, li * pr - lr * pi);
            }
        }
        let slot = terms + i * m_len + k;
        out[slot] = da.x;
        out[slot + plane] = da.y;
        out[slot + 2u * plane] = dw.x;
        out[slot + 3u * plane] = dw.y;
    }
}
