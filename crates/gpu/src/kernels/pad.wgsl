// Zero padding in one pass: out (contiguous, of params.out_shape) holds the
// source (params.views[0]) where the output position falls inside it (from
// params.before along each axis), 0 elsewhere. params (PadMeta, copy.rs) is
// bound at 0; only its last params.rank axes are walked (the others have one
// element).

@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn pad_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_index(gid, nwg);
    if (i >= params.len) { return; }
    var rest = i;
    var at = params.views[0].offset;
    var inside = true;
    for (var d = 0u; d < params.rank; d++) {
        let ax = RANK - 1u - d;
        let dim = params.out_shape[ax];
        let coord = rest % dim;
        rest = rest / dim;
        let before = params.before[ax];
        inside = inside && coord >= before && coord < before + params.views[0].shape[ax];
        at += (coord - before) * params.views[0].strides[ax];
    }
    if (inside) { out[i] = src[at]; } else { out[i] = 0.0; }
}
