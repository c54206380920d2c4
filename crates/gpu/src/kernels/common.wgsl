// Helpers every kernel may use.

// Linear invocation index over a 2D dispatch grid of 64-wide workgroups.
fn linear_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * 64u;
}

// Infinity and NaN built at run time: shader compilers reject them as constants.
fn f32_inf() -> f32 {
    var bits = 0x7f800000u;
    return bitcast<f32>(bits);
}

fn f32_nan() -> f32 {
    var bits = 0x7fc00000u;
    return bitcast<f32>(bits);
}
