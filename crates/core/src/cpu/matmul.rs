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
    #[cfg(feature = "threads")]
    if batch * m * n * k >= PARALLEL_MACS && rayon::current_num_threads() > 1 {
        parallel(a, sa, b, sb, batch, m, n, k, alpha, &mut c);
        return c;
    }
    for bi in 0..batch {
        let out = &mut c[bi * m * n..(bi + 1) * m * n];
        // SAFETY: every index read is <= last_a / last_b (checked above), and the
        // output slice is exactly m*n contiguous elements.
        unsafe { sgemm(m, k, n, alpha, a.as_ptr().add(sa.batch_offset(bi)), sa, b.as_ptr().add(sb.batch_offset(bi)), sb, out.as_mut_ptr(), n) };
    }
    c
}

/// Products with fewer multiply-adds run on the calling thread: waking the
/// pool costs more than splitting them saves. W3's recurrent products (32 x
/// 64 x 256, half of this) ran no faster split in two in Chromium.
#[cfg(feature = "threads")]
const PARALLEL_MACS: usize = 1 << 20;

/// The operands' base pointers, shared by the pool's tasks: each task reads
/// its own rows or columns and writes a block of C no other task writes.
#[cfg(feature = "threads")]
#[derive(Clone, Copy)]
struct Shared(*const f32, *const f32, *mut f32);
#[cfg(feature = "threads")]
unsafe impl Send for Shared {}
#[cfg(feature = "threads")]
unsafe impl Sync for Shared {}
#[cfg(feature = "threads")]
impl Shared {
    // A method, so that a closure captures the whole (Send) struct rather
    // than its (non-Send) pointer fields.
    fn get(self) -> (*const f32, *const f32, *mut f32) {
        (self.0, self.1, self.2)
    }
}

/// `matmul`'s products on rayon's pool: each matrix of the batch split into
/// blocks of rows (or of columns, when it is wider than tall), so that the
/// batch makes about two tasks per thread.
#[cfg(feature = "threads")]
#[allow(clippy::too_many_arguments)]
fn parallel(a: &[f32], sa: MatSpec, b: &[f32], sb: MatSpec, batch: usize, m: usize, n: usize, k: usize, alpha: f32, c: &mut [f32]) {
    use rayon::prelude::*;
    let by_rows = m >= n;
    let extent = if by_rows { m } else { n };
    let wanted = (2 * rayon::current_num_threads()).div_ceil(batch);
    // Blocks of whole micro-kernel tiles, and not so thin that packing the
    // other operand (which every block repeats) outweighs the product.
    let step = extent.div_ceil(wanted).next_multiple_of(8).max(32).min(extent);
    let parts = extent.div_ceil(step);
    let ptrs = Shared(a.as_ptr(), b.as_ptr(), c.as_mut_ptr());
    (0..batch * parts).into_par_iter().for_each(|task| {
        let (a, b, c) = ptrs.get();
        let (bi, part) = (task / parts, task % parts);
        let (start, len) = (part * step, step.min(extent - part * step));
        // SAFETY: `matmul` checked that every element of every matrix is in
        // bounds; a block reads a subset of its matrix and writes rows
        // start..start+len (or those columns) of its own C.
        unsafe {
            let (pa, pb, pc) = (a.add(sa.batch_offset(bi)), b.add(sb.batch_offset(bi)), c.add(bi * m * n));
            if by_rows {
                sgemm(len, k, n, alpha, pa.add(start * sa.row_stride), sa, pb, sb, pc.add(start * n), n);
            } else {
                sgemm(m, k, len, alpha, pa, sa, pb.add(start * sb.col_stride), sb, pc.add(start), n);
            }
        }
    });
}

/// One C (m x n, `ldc` floats a row, zeroed) = alpha * A @ B: wasm
/// simd128's packed kernel in the browser, `matrixmultiply`'s natively.
///
/// # Safety
/// As `matmul` checks: every element the views reach is inside its slice.
#[allow(clippy::too_many_arguments)]
unsafe fn sgemm(m: usize, k: usize, n: usize, alpha: f32, a: *const f32, sa: MatSpec, b: *const f32, sb: MatSpec, c: *mut f32, ldc: usize) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    unsafe {
        use super::gemm_wasm::{View, sgemm};
        let view = |ptr, s: MatSpec| View { ptr, rows: s.row_stride as isize, cols: s.col_stride as isize };
        sgemm(m, k, n, alpha, view(a, sa), view(b, sb), c, ldc);
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
            ldc as isize,
            1,
        );
    }
}

#[cfg(all(test, feature = "threads"))]
mod tests {
    use super::*;

    fn filled(len: usize, seed: u32) -> Vec<f32> {
        let mut x = seed;
        (0..len)
            .map(|_| {
                x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (x >> 8) as f32 / (1u32 << 24) as f32 - 0.5
            })
            .collect()
    }

    fn on(threads: usize, f: impl FnOnce() -> Vec<f32> + Send) -> Vec<f32> {
        rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("a pool").install(f)
    }

    /// Split by rows, by columns, over a batch of [2, 3] matrices with one
    /// operand transposed: on a pool of 3 each block computes what one thread
    /// computes, at every size above the threshold.
    #[test]
    fn a_product_split_across_threads_equals_one_thread() {
        // (batch, m, n, k): taller than wide, wider than tall, a batch of small ones.
        for (batch, m, n, k) in [(1, 131, 70, 200), (1, 40, 301, 120), (6, 33, 40, 200)] {
            let a = filled(batch * m * k, 1);
            let b = filled(batch * k * n, 2);
            // A row-major [batch, m, k]; B stored transposed: [batch / 3, n, k], shared by runs of 3.
            let sa = MatSpec { batch_stride: m * k, inner: batch, outer_stride: 0, row_stride: k, col_stride: 1, offset: 0 };
            let runs = batch.div_ceil(3).max(1);
            let inner = batch / runs;
            let sb = MatSpec { batch_stride: 0, inner, outer_stride: k * n, row_stride: 1, col_stride: k, offset: 0 };
            assert!(batch * m * n * k >= PARALLEL_MACS);
            let one = on(1, || matmul(&a, sa, &b, sb, batch, m, n, k, 0.5));
            let three = on(3, || matmul(&a, sa, &b, sb, batch, m, n, k, 0.5));
            let worst = one.iter().zip(&three).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
            assert!(worst <= 1e-6, "({batch}, {m}, {n}, {k}): threads differ by {worst}");
        }
    }
}
