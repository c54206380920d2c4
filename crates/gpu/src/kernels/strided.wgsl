// Strided views for the elementwise, reduction, padding and concatenation
// kernels: views are left-padded to six axes; `desc` holds shapes, strides and
// offsets as described in elementwise.rs.

const RANK: u32 = 6u;

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
