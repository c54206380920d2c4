// params (ElementwiseMeta, elementwise.rs) is bound at 0.
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn unary_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_index(gid, nwg);
    if (i >= params.len) { return; }
    out[i] = unary_op(OP, a[elem_offset(i, 0u)], params.param);
}
