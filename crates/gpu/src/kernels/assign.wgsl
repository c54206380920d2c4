// dst_view[i] = src_view[i]: writes a strided source into a strided region of
// an existing buffer (concat into slices, pad into an interior). Desc words:
// numel, 3 unused, shape (6), src strides (6) + offset, dst strides (6) + offset.

@group(0) @binding(0) var<storage, read> desc: array<u32>;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(64)
fn assign_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_index(gid, nwg);
    if (i >= desc[0]) { return; }
    dst[strided_offset(i, 4u, 17u)] = src[strided_offset(i, 4u, 10u)];
}
