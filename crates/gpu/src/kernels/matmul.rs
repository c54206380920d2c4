//! Batched matrix multiply over strided operands.

use crate::context::{GpuBuffer, GpuContext, Result};

/// A batch of matrices inside a buffer: element (b, i, j) lives at
/// `offset + b * batch_stride + i * row_stride + j * col_stride`.
#[derive(Debug, Clone, Copy)]
pub struct MatrixView {
    pub batch_stride: usize,
    pub row_stride: usize,
    pub col_stride: usize,
    pub offset: usize,
}

impl GpuContext {
    /// `C[b] = A[b] (m x k) @ B[b] (k x n)`; C is contiguous `[batch, m, n]`.
    #[allow(clippy::too_many_arguments)]
    pub fn matmul(&self, a: &GpuBuffer, av: MatrixView, b: &GpuBuffer, bv: MatrixView, batch: usize, m: usize, n: usize, k: usize) -> Result<GpuBuffer> {
        if k == 0 {
            return self.upload(&vec![0.0; batch * m * n]);
        }
        let out = self.alloc(batch * m * n)?;
        if batch * m * n == 0 {
            return Ok(out);
        }
        let words: Vec<u32> = [batch, m, n, k, av.batch_stride, av.row_stride, av.col_stride, av.offset, bv.batch_stride, bv.row_stride, bv.col_stride, bv.offset]
            .iter()
            .map(|&w| w as u32)
            .collect();
        let pipeline = self.pipeline("matmul_main", || include_str!("matmul.wgsl").to_string());
        let meta = self.meta(&words);
        self.dispatch_groups(&pipeline, &[&meta, a.raw(), b.raw(), out.raw()], ((n.div_ceil(32)) as u32, (m.div_ceil(32)) as u32, batch as u32));
        Ok(out)
    }
}
