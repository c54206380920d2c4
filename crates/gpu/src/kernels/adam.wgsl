// Fused optimizer updates over contiguous parameter, gradient and state buffers.

// params (AdamParams, optim.rs) is bound at 0.

// The step's scalars, a tensor the optimizer writes every step (so a replayed
// plan sees them) in this order (`step_scalars_for` in nnlab-nn's optim.rs).
struct AdamStep { lr: f32, correction1: f32, correction2: f32, grad_scale: f32 }
@group(0) @binding(1) var<storage, read> step: AdamStep;
@group(0) @binding(2) var<storage, read> p: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<storage, read> m: array<f32>;
@group(0) @binding(5) var<storage, read> v: array<f32>;
@group(0) @binding(6) var<storage, read_write> p_out: array<f32>;
@group(0) @binding(7) var<storage, read_write> m_out: array<f32>;
@group(0) @binding(8) var<storage, read_write> v_out: array<f32>;

// Adam (Kingma & Ba) with L2 weight decay folded into the gradient, as
// torch.optim.Adam; the gradient is first scaled by step.grad_scale (what
// clipping by norm asks; 1 otherwise).
@compute @workgroup_size(64)
fn adam_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 64u;
    if (i >= params.n) { return; }
    let grad = g[i] * step.grad_scale + params.weight_decay * p[i];
    let m1 = params.beta1 * m[i] + (1.0 - params.beta1) * grad;
    let v1 = params.beta2 * v[i] + (1.0 - params.beta2) * grad * grad;
    m_out[i] = m1;
    v_out[i] = v1;
    p_out[i] = p[i] - step.lr * (m1 / step.correction1) / (sqrt(v1 / step.correction2) + params.eps);
}
