//! The fused LSTM cell (see lstm.wgsl).

use crate::context::{GpuBuffer, GpuContext, Result};
use crate::kernels::fused::Fused;
use crate::kernels::kernel_meta;

const LSTM: Fused = Fused { source: include_str!("lstm.wgsl"), meta: LstmMeta::wgsl, forward: "lstm_forward", backward: "lstm_backward" };

kernel_meta!(
    /// lstm.wgsl's meta: rows N, hidden units H and the element offsets of the
    /// gates, the cell state and (backward) the upstream gradient.
    pub(crate) LstmMeta { rows: u32, hidden: u32, gates_at: u32, c_at: u32, grad_at: u32 }
);

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
        let [rows, hidden, gates_at, c_at, grad_at] = [n, h, gates_at, c_at, grad.map_or(0, |g| g.1)].map(|w| w as u32);
        let meta = LstmMeta { rows, hidden, gates_at, c_at, grad_at };
        let out_len = n * h * if grad.is_some() { 5 } else { 2 };
        self.fused(&LSTM, meta.words(), [gates, c], grad.map(|g| g.0), out_len, n * h)
    }
}
