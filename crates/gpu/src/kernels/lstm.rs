//! The fused LSTM cell (see lstm.wgsl).

use crate::context::{GpuBuffer, GpuContext, Result};
use crate::kernels::fused::Fused;

const LSTM: Fused = Fused { source: include_str!("lstm.wgsl"), forward: "lstm_forward", backward: "lstm_backward" };

impl GpuContext {
    /// Forward: [2, N, H] (h', c') from contiguous gates [N, 4H] and cell
    /// state [N, H] (at the given element offsets). Backward (with `grad`, the
    /// upstream [2, N, H] gradient): [N, 5H], the gradient of the gates and of c.
    #[allow(clippy::too_many_arguments)]
    pub fn lstm_cell(
        &self,
        gates: &GpuBuffer,
        gates_at: usize,
        c: &GpuBuffer,
        c_at: usize,
        n: usize,
        h: usize,
        grad: Option<(&GpuBuffer, usize)>,
    ) -> Result<GpuBuffer> {
        let words = [n, h, gates_at, c_at, grad.map_or(0, |g| g.1)].map(|w| w as u32);
        let out_len = n * h * if grad.is_some() { 5 } else { 2 };
        self.fused(&LSTM, &words, [gates, c], grad.map(|g| g.0), out_len, n * h)
    }
}
