// Concatenation of up to six strided parts along one axis, one dispatch per
// group of parts: out is contiguous [outer, total, inner] and this group fills
// axis positions first..first + span. params (ConcatMeta, copy.rs) is bound
// at 0, with one view per part; `concat_source` (copy.rs) writes the bindings
// (one per part from in0, then out) and the read that picks the part.

{{BINDINGS}}

@compute @workgroup_size(64)
fn concat_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_index(gid, nwg);
    if (i >= params.len) { return; }
    let inner = params.inner;
    let span = params.span;
    let in_ = i % inner;
    let rest = i / inner;
    let a = rest % span;
    let o = rest / span;
    // The part whose slice holds axis position a.
    var j = 0u;
    for (var q = 1u; q < params.parts; q++) {
        if (a >= params.starts[q]) { j = q; }
    }
    let start = params.starts[j];
    let lin = (o * (params.starts[j + 1u] - start) + a - start) * inner + in_;
    let src = strided_offset(lin, j);
    var v = 0.0;
    switch j {
        {{READS}}
        default: { v = f32_nan(); }
    }
    out[(o * params.total + params.first + a) * inner + in_] = v;
}
