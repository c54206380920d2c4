//! The fused LSTM cell (see lstm.wgsl).

use crate::context::{GpuBuffer, GpuContext, Result};

impl GpuContext {
    /// Forward: [2, N, H] (h', c') from contiguous gates [N, 4H] and cell
    /// state [N, H] (at the given element offsets). Backward (with `grad`, the
    /// upstream [2, N, H] gradient): [N, 5H], the gradient of the gates and of c.
    #[allow(clippy::too_many_arguments)]
    pub fn lstm_cell(&self, gates: &GpuBuffer, gates_at: usize, c: &GpuBuffer, c_at: usize, n: usize, h: usize, grad: Option<(&GpuBuffer, usize)>) -> Result<GpuBuffer> {
        let out = self.alloc(n * h * if grad.is_some() { 5 } else { 2 })?;
        if n * h == 0 {
            return Ok(out);
        }
        let words = [n, h, gates_at, c_at, grad.map_or(0, |g| g.1)].map(|w| w as u32);
        let desc = self.meta(&words)?;
        let source = || include_str!("lstm.wgsl").to_string();
        match grad {
            Some((g, _)) => {
                let pipeline = self.pipeline("lstm_backward", source);
                self.dispatch(&pipeline, &[&desc, gates.raw(), c.raw(), out.raw(), g.raw()], (n * h) as u32);
            }
            None => {
                let pipeline = self.pipeline("lstm_forward", source);
                self.dispatch(&pipeline, &[&desc, gates.raw(), c.raw(), out.raw()], (n * h) as u32);
            }
        }
        Ok(out)
    }
}
