// params (ElementwiseMeta, elementwise.rs) is bound at 0.
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn unary_backward_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_index(gid, nwg);
    if (i >= params.len) { return; }
    out[i] = g[elem_offset(i, 1u)] * unary_derivative(OP, x[elem_offset(i, 0u)], params.param);
}
