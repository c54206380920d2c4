//! Batched matrix multiply through `matrixmultiply`'s packed SGEMM, which takes
//! arbitrary strides, so transposed and broadcast operands need no copy.

/// A batch of matrices inside a slice: element (b, i, j) is at
/// `offset + b * batch_stride + i * row_stride + j * col_stride`.
#[derive(Debug, Clone, Copy)]
pub struct MatSpec {
    pub batch_stride: usize,
    pub row_stride: usize,
    pub col_stride: usize,
    pub offset: usize,
}

/// `C[b] = A[b] (m x k) @ B[b] (k x n)`, C contiguous `[batch, m, n]`.
#[allow(clippy::too_many_arguments)]
pub fn matmul(a: &[f32], sa: MatSpec, b: &[f32], sb: MatSpec, batch: usize, m: usize, n: usize, k: usize) -> Vec<f32> {
    let mut c = vec![0.0f32; batch * m * n];
    if m == 0 || n == 0 || k == 0 {
        return c;
    }
    // Bounds the raw pointer arithmetic below: the furthest element each operand reads.
    let last_a = sa.offset + (batch - 1) * sa.batch_stride + (m - 1) * sa.row_stride + (k - 1) * sa.col_stride;
    let last_b = sb.offset + (batch - 1) * sb.batch_stride + (k - 1) * sb.row_stride + (n - 1) * sb.col_stride;
    assert!(last_a < a.len() && last_b < b.len(), "matmul views exceed their storage");
    for bi in 0..batch {
        let out = &mut c[bi * m * n..(bi + 1) * m * n];
        // SAFETY: every index read is <= last_a / last_b (checked above), and the
        // output slice is exactly m*n contiguous elements.
        unsafe {
            matrixmultiply::sgemm(
                m, k, n, 1.0,
                a.as_ptr().add(sa.offset + bi * sa.batch_stride), sa.row_stride as isize, sa.col_stride as isize,
                b.as_ptr().add(sb.offset + bi * sb.batch_stride), sb.row_stride as isize, sb.col_stride as isize,
                0.0, out.as_mut_ptr(), n as isize, 1,
            );
        }
    }
    c
}
