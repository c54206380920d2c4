//! Counter-based random numbers (Philox4x32-10): the same seed and stream give
//! the same numbers on the GPU and on the CPU reference.

use crate::context::{GpuBuffer, GpuContext, Result};
use crate::kernels::{kernel_meta, op_codes};

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

op_codes!(RandomCode, "RANDOM" {
    Uniform => "UNIFORM",
    Normal => "NORMAL",
    Bernoulli => "BERNOULLI",
});

kernel_meta!(
    /// random.wgsl's meta: the count, the kind (a RandomCode), the seed's two halves, the stream and the kind's two parameters.
    pub(crate) RandomMeta { len: u32, kind: u32, seed_lo: u32, seed_hi: u32, stream: u32, a: f32, b: f32 }
);

impl GpuContext {
    pub fn random(&self, len: usize, kind: RandomKind, seed: u64, stream: u32) -> Result<GpuBuffer> {
        let (code, a, b) = match kind {
            RandomKind::Uniform { low, high } => (RandomCode::Uniform, low, high),
            RandomKind::Normal { mean, std } => (RandomCode::Normal, mean, std),
            RandomKind::Bernoulli { p } => (RandomCode::Bernoulli, p, 0.0),
        };
        let meta = RandomMeta { len: len as u32, kind: code as u32, seed_lo: seed as u32, seed_hi: (seed >> 32) as u32, stream, a, b };
        let out = self.alloc(len)?;
        if len == 0 {
            return Ok(out);
        }
        let pipeline = self.pipeline("random_main", || {
            format!("{}\n{}{}{}", include_str!("philox.wgsl"), RandomCode::wgsl_constants(), RandomMeta::wgsl(), include_str!("random.wgsl"))
        });
        let meta = self.meta(meta.words())?;
        self.unreplayable("it draws random numbers (dropout), which a replay would repeat");
        self.dispatch(&pipeline, &[&meta, out.raw()], len as u32);
        Ok(out)
    }
}
