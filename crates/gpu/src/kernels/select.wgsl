// params (ElementwiseMeta, elementwise.rs) is bound at 0.
@group(0) @binding(1) var<storage, read> mask: array<f32>;
@group(0) @binding(2) var<storage, read> on_true: array<f32>;
@group(0) @binding(3) var<storage, read> on_false: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn select_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_index(gid, nwg);
    if (i >= params.len) { return; }
    let m = mask[elem_offset(i, 0u)];
    out[i] = select(on_false[elem_offset(i, 2u)], on_true[elem_offset(i, 1u)], m != 0.0);
}
