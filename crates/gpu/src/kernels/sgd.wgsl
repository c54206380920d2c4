// params (SgdParams, optim.rs) is bound at 0.

@group(0) @binding(1) var<storage, read> p: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read> buf: array<f32>;
@group(0) @binding(4) var<storage, read_write> p_out: array<f32>;
@group(0) @binding(5) var<storage, read_write> buf_out: array<f32>;

// SGD with momentum as torch.optim.SGD (dampening 0): buf = mu * buf + g; p -= lr * buf.
@compute @workgroup_size(64)
fn sgd_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 64u;
    if (i >= params.n) { return; }
    let grad = g[i] + params.weight_decay * p[i];
    let b = params.momentum * buf[i] + grad;
    buf_out[i] = b;
    p_out[i] = p[i] - params.lr * b;
}
