//! Batched matrix multiply through `matrixmultiply`'s packed SGEMM, which takes
//! arbitrary strides, so transposed and broadcast operands need no copy.

/// A batch of matrices inside a slice: element (b, i, j) is at
/// `batch_offset(b) + i * row_stride + j * col_stride`. The batch walks two
/// strides: `batch_stride` within runs of `inner` matrices, `outer_stride`
/// from run to run (attention's [batch, heads] over a [batch, time, heads,
/// width] buffer).
#[derive(Debug, Clone, Copy)]
pub struct MatSpec {
    pub batch_stride: usize,
    pub inner: usize,
    pub outer_stride: usize,
    pub row_stride: usize,
    pub col_stride: usize,
    pub offset: usize,
}

impl MatSpec {
    /// One matrix (or a batch sharing it).
    pub fn single(row_stride: usize, col_stride: usize, offset: usize) -> MatSpec {
        MatSpec { batch_stride: 0, inner: 1, outer_stride: 0, row_stride, col_stride, offset }
    }

    /// Where matrix `b` starts.
    pub fn batch_offset(&self, b: usize) -> usize {
        self.offset + (b / self.inner) * self.outer_stride + (b % self.inner) * self.batch_stride
    }
}

/// `C[b] = alpha * A[b] (m x k) @ B[b] (k x n)`, C contiguous `[batch, m, n]`.
#[allow(clippy::too_many_arguments)]
pub fn matmul(a: &[f32], sa: MatSpec, b: &[f32], sb: MatSpec, batch: usize, m: usize, n: usize, k: usize, alpha: f32) -> Vec<f32> {
    let mut c = vec![0.0f32; batch * m * n];
    if m == 0 || n == 0 || k == 0 {
        return c;
    }
    // Bounds the raw pointer arithmetic below: the furthest element each operand reads.
    // The last matrix starts furthest: a batch is whole runs of `inner`.
    assert!(batch.is_multiple_of(sa.inner) && batch.is_multiple_of(sb.inner), "matmul batch runs must divide the batch");
    let last_a = sa.batch_offset(batch - 1) + (m - 1) * sa.row_stride + (k - 1) * sa.col_stride;
    let last_b = sb.batch_offset(batch - 1) + (k - 1) * sb.row_stride + (n - 1) * sb.col_stride;
    assert!(last_a < a.len() && last_b < b.len(), "matmul views exceed their storage");
    for bi in 0..batch {
        let out = &mut c[bi * m * n..(bi + 1) * m * n];
        // SAFETY: every index read is <= last_a / last_b (checked above), and the
        // output slice is exactly m*n contiguous elements.
        unsafe { sgemm(m, k, n, alpha, a.as_ptr().add(sa.batch_offset(bi)), sa, b.as_ptr().add(sb.batch_offset(bi)), sb, out.as_mut_ptr()) };
    }
    c
}

/// One C (m x n, contiguous, zeroed) = alpha * A @ B: wasm simd128's packed
/// kernel in the browser, `matrixmultiply`'s natively.
///
/// # Safety
/// As `matmul` checks: every element the views reach is inside its slice.
#[allow(clippy::too_many_arguments)]
unsafe fn sgemm(m: usize, k: usize, n: usize, alpha: f32, a: *const f32, sa: MatSpec, b: *const f32, sb: MatSpec, c: *mut f32) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    unsafe {
        use super::gemm_wasm::{View, sgemm};
        let view = |ptr, s: MatSpec| View { ptr, rows: s.row_stride as isize, cols: s.col_stride as isize };
        sgemm(m, k, n, alpha, view(a, sa), view(b, sb), c, n);
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            alpha,
            a,
            sa.row_stride as isize,
            sa.col_stride as isize,
            b,
            sb.row_stride as isize,
            sb.col_stride as isize,
            0.0,
            c,
            n as isize,
            1,
        );
    }
}
