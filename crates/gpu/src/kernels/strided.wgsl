// Strided views for the elementwise, reduction, padding and concatenation
// kernels: their params end in `views`, an array of StridedView (strided.rs),
// each left-padded to RANK axes.

// Storage index of the element at row-major position `i` of params.views[v].
fn strided_offset(i: u32, v: u32) -> u32 {
    var rest = i;
    var o = params.views[v].offset;
    for (var d = 0u; d < RANK; d++) {
        // The remaining (outer) axes contribute nothing: integer division is
        // slow on CPU-emulated GPUs, so stop as soon as the index is used up.
        if (rest == 0u) { break; }
        let ax = RANK - 1u - d;
        let dim = params.views[v].shape[ax];
        o += (rest % dim) * params.views[v].strides[ax];
        rest = rest / dim;
    }
    return o;
}
