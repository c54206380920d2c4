// Zero padding in one pass: out (contiguous) holds src where the output
// position falls inside the interior, 0 elsewhere. Desc words: numel, 3
// unused, out shape (6), src strides (6) + offset, pads before (6), src shape (6).

@group(0) @binding(0) var<storage, read> desc: array<u32>;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn pad_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_index(gid, nwg);
    if (i >= desc[0]) { return; }
    var rest = i;
    var at = desc[16];
    var inside = true;
    for (var d = 0u; d < RANK; d++) {
        let ax = RANK - 1u - d;
        let dim = desc[4u + ax];
        let coord = rest % dim;
        rest = rest / dim;
        let before = desc[17u + ax];
        inside = inside && coord >= before && coord < before + desc[23u + ax];
        at += (coord - before) * desc[10u + ax];
    }
    if (inside) { out[i] = src[at]; } else { out[i] = 0.0; }
}
