// Fused optimizer updates over contiguous parameter, gradient and state buffers.

struct AdamParams { n: u32, beta1: f32, beta2: f32, eps: f32, weight_decay: f32, pad0: u32, pad1: u32, pad2: u32 }

@group(0) @binding(0) var<uniform> adam: AdamParams;
// [lr, 1 - beta1^t, 1 - beta2^t]: written every step, so a replayed plan sees them.
@group(0) @binding(1) var<storage, read> step: array<f32>;
@group(0) @binding(2) var<storage, read> p: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<storage, read> m: array<f32>;
@group(0) @binding(5) var<storage, read> v: array<f32>;
@group(0) @binding(6) var<storage, read_write> p_out: array<f32>;
@group(0) @binding(7) var<storage, read_write> m_out: array<f32>;
@group(0) @binding(8) var<storage, read_write> v_out: array<f32>;

// Adam (Kingma & Ba) with L2 weight decay folded into the gradient, as torch.optim.Adam.
@compute @workgroup_size(64)
fn adam_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 64u;
    if (i >= adam.n) { return; }
    let grad = g[i] + adam.weight_decay * p[i];
    let m1 = adam.beta1 * m[i] + (1.0 - adam.beta1) * grad;
    let v1 = adam.beta2 * v[i] + (1.0 - adam.beta2) * grad * grad;
    m_out[i] = m1;
    v_out[i] = v1;
    p_out[i] = p[i] - step[0] * (m1 / step[1]) / (sqrt(v1 / step[2]) + adam.eps);
}
