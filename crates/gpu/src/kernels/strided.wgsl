// Shared by the elementwise and reduction kernels: views are left-padded to six
// axes; `meta` holds shapes, strides and offsets as described in elementwise.rs.

const RANK: u32 = 6u;

// Linear invocation index over a 2D dispatch grid of 64-wide workgroups.
fn linear_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * 64u;
}

// Storage index of the element at row-major position `i` of the shape at
// desc[shape_at..shape_at+6], for the strides at desc[strides_at..] followed by the offset.
fn strided_offset(i: u32, shape_at: u32, strides_at: u32) -> u32 {
    var rest = i;
    var o = desc[strides_at + RANK];
    for (var d = 0u; d < RANK; d++) {
        // The remaining (outer) axes contribute nothing: integer division is
        // slow on CPU-emulated GPUs, so stop as soon as the index is used up.
        if (rest == 0u) { break; }
        let ax = RANK - 1u - d;
        let dim = desc[shape_at + ax];
        o += (rest % dim) * desc[strides_at + ax];
        rest = rest / dim;
    }
    return o;
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
