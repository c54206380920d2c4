// Concatenation of up to six strided parts along one axis, one dispatch per
// group of parts: out is contiguous [outer, total, inner] and this group fills
// axis positions first..first + len. Desc words: numel, outer, inner, len,
// total, first, parts, 0, then the parts' starts within the group (parts + 1
// words, the last = len), then per part its shape (6), strides (6) and offset
// at 15 + 13 j. `concat_source` (copy.rs) writes the bindings (desc, one
// per part from in0, out) and the read that picks the part.

{{BINDINGS}}

@compute @workgroup_size(64)
fn concat_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_index(gid, nwg);
    if (i >= desc[0]) { return; }
    let inner = desc[2];
    let len = desc[3];
    let in_ = i % inner;
    let rest = i / inner;
    let a = rest % len;
    let o = rest / len;
    // The part whose slice holds axis position a.
    var j = 0u;
    for (var q = 1u; q < desc[6]; q++) {
        if (a >= desc[8u + q]) { j = q; }
    }
    let start = desc[8u + j];
    let lin = (o * (desc[9u + j] - start) + a - start) * inner + in_;
    let at = 15u + 13u * j;
    let src = strided_offset(lin, at, at + 6u);
    var v = 0.0;
    switch j {
        {{READS}}
        default: { v = f32_nan(); }
    }
    out[(o * desc[4] + desc[5] + a) * inner + in_] = v;
}
