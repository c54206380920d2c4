//! Counter-based random numbers (Philox4x32-10): the same seed and stream give
//! the same numbers on the GPU and on the CPU reference.

use crate::context::{GpuBuffer, GpuContext, Result};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RandomKind {
    Uniform {
        low: f32,
        high: f32,
    },
    Normal {
        mean: f32,
        std: f32,
    },
    /// 1 with probability p, else 0.
    Bernoulli {
        p: f32,
    },
}

impl GpuContext {
    pub fn random(&self, len: usize, kind: RandomKind, seed: u64, stream: u32) -> Result<GpuBuffer> {
        let (code, a, b) = match kind {
            RandomKind::Uniform { low, high } => (0u32, low, high),
            RandomKind::Normal { mean, std } => (1, mean, std),
            RandomKind::Bernoulli { p } => (2, p, 0.0),
        };
        let words = [len as u32, code, seed as u32, (seed >> 32) as u32, stream, a.to_bits(), b.to_bits()];
        let out = self.alloc(len)?;
        if len == 0 {
            return Ok(out);
        }
        let pipeline = self.pipeline("random_main", || format!("{}\n{}", include_str!("philox.wgsl"), include_str!("random.wgsl")));
        let meta = self.meta(&words)?;
        self.unreplayable("it draws random numbers (dropout), which a replay would repeat");
        self.dispatch(&pipeline, &[&meta, out.raw()], len as u32);
        Ok(out)
    }
}
