//! Kernels that only move values: fill (fill.wgsl), padding (pad.wgsl) and
//! concatenation of strided parts, up to `MAX_INPUTS` per dispatch (concat.wgsl).

use crate::context::{GpuBuffer, GpuContext, MAX_RANK, Result, Variant, View, pack_shape, pack_strides};
use crate::kernels::{MAX_INPUTS, input_bindings, kernel_meta, strided};

/// concat.wgsl for `k` parts.
fn concat_source(k: usize) -> String {
    let reads = (0..k).map(|j| format!("case {j}u: {{ v = in{j}[src]; }}")).collect::<Vec<_>>().join("\n        ");
    format!("{}\n{}", strided(), include_str!("concat.wgsl").replace("{{BINDINGS}}", &input_bindings(k)).replace("{{READS}}", &reads))
}

kernel_meta!(
    /// fill.wgsl's meta.
    FillMeta { len: u32, value: f32 }
);

impl GpuContext {
    /// A new buffer of `len` copies of `value`.
    pub fn fill(&self, len: usize, value: f32) -> Result<GpuBuffer> {
        let out = self.alloc(len)?;
        if len > 0 {
            let pipeline = self.pipeline("fill_main", || format!("{}{}", FillMeta::wgsl(), include_str!("fill.wgsl")));
            let desc = self.meta(FillMeta { len: len as u32, value }.words())?;
            self.dispatch(&pipeline, &[&desc, out.raw()], len as u32);
        }
        Ok(out)
    }

    /// A new contiguous buffer of shape `out_shape` holding `src` (viewed by
    /// `sv`) at offsets `before` along each axis and zeros around it.
    pub fn pad(&self, src: &GpuBuffer, sv: View, before: &[usize], out_shape: &[usize]) -> Result<GpuBuffer> {
        let n: usize = out_shape.iter().product();
        let out = self.alloc(n)?;
        if n == 0 {
            return Ok(out);
        }
        let mut words = vec![n as u32, 0, 0, 0];
        pack_shape(&mut words, out_shape)?;
        pack_strides(&mut words, &sv);
        words.extend(std::iter::repeat_n(0, MAX_RANK - before.len()));
        words.extend(before.iter().map(|&b| b as u32));
        pack_shape(&mut words, sv.shape)?;
        let pipeline = self.pipeline("pad_main", || format!("{}\n{}", strided(), include_str!("pad.wgsl")));
        let desc = self.meta(&words)?;
        self.dispatch(&pipeline, &[&desc, src.raw(), out.raw()], n as u32);
        Ok(out)
    }

    /// `parts` (each a buffer and a view; equal shapes but for `axis`) joined
    /// along `axis` into a new contiguous buffer: one dispatch per
    /// `MAX_INPUTS` parts.
    pub fn concat(&self, parts: &[(&GpuBuffer, View)], axis: usize) -> Result<GpuBuffer> {
        let shape = parts[0].1.shape;
        let total: usize = parts.iter().map(|(_, v)| v.shape[axis]).sum();
        let (outer, inner): (usize, usize) = (shape[..axis].iter().product(), shape[axis + 1..].iter().product());
        let out = self.alloc(outer * total * inner)?;
        let mut first = 0;
        for group in parts.chunks(MAX_INPUTS) {
            let len: usize = group.iter().map(|(_, v)| v.shape[axis]).sum();
            let n = outer * len * inner;
            if n > 0 {
                let mut words: Vec<u32> = [n, outer, inner, len, total, first, group.len(), 0].iter().map(|&w| w as u32).collect();
                let mut start = 0;
                for (_, v) in group {
                    words.push(start as u32);
                    start += v.shape[axis];
                }
                words.push(start as u32);
                words.resize(15, 0);
                for (_, v) in group {
                    pack_shape(&mut words, v.shape)?;
                    pack_strides(&mut words, v);
                }
                let k = group.len();
                let pipeline = self.pipeline_variant("concat_main", Variant::Parts(k), || concat_source(k));
                let desc = self.meta(&words)?;
                let mut bindings = vec![&desc];
                bindings.extend(group.iter().map(|(b, _)| b.raw()));
                bindings.push(out.raw());
                self.dispatch(&pipeline, &bindings, n as u32);
            }
            first += len;
        }
        Ok(out)
    }
}
