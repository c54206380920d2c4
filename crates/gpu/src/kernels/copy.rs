//! Kernels that only move values: fill (fill.wgsl), padding (pad.wgsl) and
//! concatenation of strided parts, up to `MAX_INPUTS` per dispatch (concat.wgsl).

use crate::context::{GpuBuffer, GpuContext, MAX_RANK, Result, Variant, View};
use crate::kernels::strided::{self, StridedView, axes};
use crate::kernels::{MAX_INPUTS, input_bindings, kernel_meta};

/// concat.wgsl for `k` parts.
fn concat_source(k: usize) -> String {
    let reads = (0..k).map(|j| format!("case {j}u: {{ v = in{j}[src]; }}")).collect::<Vec<_>>().join("\n        ");
    let body = include_str!("concat.wgsl").replace("{{BINDINGS}}", &input_bindings(k)).replace("{{READS}}", &reads);
    format!("{}{}\n{body}", ConcatMeta::wgsl(), strided::source())
}

kernel_meta!(
    /// fill.wgsl's meta.
    pub(crate) FillMeta { len: u32, value: f32 }
);

kernel_meta!(
    /// pad.wgsl's meta: the number of outputs, the output's shape, where the
    /// source starts along each axis, the number of axes (the last `rank` of
    /// the left-padded arrays), and the source's view.
    pub(crate) PadMeta { len: u32, out_shape: [u32; MAX_RANK], before: [u32; MAX_RANK], rank: u32 } and views: [StridedView]
);

/// A padding's axes (output shape, offsets, source shape and strides),
/// innermost last.
#[derive(Debug, PartialEq)]
struct PadAxes {
    out: Vec<usize>,
    before: Vec<usize>,
    shape: Vec<usize>,
    strides: Vec<usize>,
}

/// The axes of a padding with axes the source fills with its one element
/// dropped and each axis
/// merged into the one inside it where the source fills that inner one whole
/// and steps across both as across one: the kernel divides once per axis
/// and element, which CPU-emulated GPUs do slowly.
fn merged_pad_axes(sv: &View, before: &[usize], out_shape: &[usize]) -> PadAxes {
    let mut axes = PadAxes { out: Vec::new(), before: Vec::new(), shape: Vec::new(), strides: Vec::new() };
    for ax in (0..out_shape.len()).rev() {
        if out_shape[ax] == 1 && sv.shape[ax] == 1 {
            continue;
        }
        let (out, b, shape, stride) = (out_shape[ax], before[ax], sv.shape[ax], sv.strides[ax]);
        if let Some(i) = axes.out.len().checked_sub(1) {
            let whole = axes.before[i] == 0 && axes.shape[i] == axes.out[i];
            if whole && stride == axes.strides[i] * axes.shape[i] {
                axes.before[i] = b * axes.out[i];
                axes.out[i] *= out;
                axes.shape[i] *= shape;
                continue;
            }
        }
        axes.out.push(out);
        axes.before.push(b);
        axes.shape.push(shape);
        axes.strides.push(stride);
    }
    for v in [&mut axes.out, &mut axes.before, &mut axes.shape, &mut axes.strides] {
        v.reverse();
    }
    axes
}

kernel_meta!(
    /// concat.wgsl's meta (one dispatch, a group of parts): the number of
    /// outputs it writes, the output as [outer, total, inner], the group's
    /// positions first..first + span along the axis, its number of parts
    /// and where each starts within the group (then span); one view per part.
    pub(crate) ConcatMeta { len: u32, outer: u32, inner: u32, span: u32, total: u32, first: u32, parts: u32, starts: [u32; MAX_INPUTS + 1] } and views: [StridedView]
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
        let m = merged_pad_axes(&sv, before, out_shape);
        let meta = PadMeta { len: n as u32, out_shape: axes(&m.out, 1)?, before: axes(&m.before, 0)?, rank: m.out.len() as u32 };
        let pipeline = self.pipeline("pad_main", || format!("{}{}\n{}", PadMeta::wgsl(), strided::source(), include_str!("pad.wgsl")));
        let view = View { shape: &m.shape, strides: &m.strides, offset: sv.offset };
        let desc = self.meta(&meta.words_with(&[StridedView::of(&view)?]))?;
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
                let mut starts = [0; MAX_INPUTS + 1];
                for (j, (_, v)) in group.iter().enumerate() {
                    starts[j + 1] = starts[j] + v.shape[axis] as u32;
                }
                let [len, outer, inner, span, total, first, parts] = [n, outer, inner, len, total, first, group.len()].map(|w| w as u32);
                let meta = ConcatMeta { len, outer, inner, span, total, first, parts, starts };
                let views = group.iter().map(|(_, v)| StridedView::of(v)).collect::<Result<Vec<_>>>()?;
                let k = group.len();
                let pipeline = self.pipeline_variant("concat_main", Variant::Parts(k), || concat_source(k));
                let desc = self.meta(&meta.words_with(&views))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn merged(shape: &[usize], strides: &[usize], before: &[usize], out: &[usize]) -> PadAxes {
        merged_pad_axes(&View { shape, strides, offset: 0 }, before, out)
    }

    #[test]
    fn whole_contiguous_inner_axes_merge_into_the_padded_one() {
        // A slot of [66, 32, 64] states: one axis of 66 rows of 2048.
        let m = merged(&[1, 32, 64], &[2048, 64, 1], &[32, 0, 0], &[66, 32, 64]);
        assert_eq!(m, PadAxes { out: vec![66 * 2048], before: vec![32 * 2048], shape: vec![2048], strides: vec![1] });
        // Padded inside: nothing merges across the padded axis.
        let m = merged(&[3, 4], &[4, 1], &[0, 2], &[3, 8]);
        assert_eq!(m, PadAxes { out: vec![3, 8], before: vec![0, 2], shape: vec![3, 4], strides: vec![4, 1] });
        // A transposed source keeps its axes; axes of one element go.
        let m = merged(&[1, 2, 3], &[9, 1, 2], &[0, 1, 0], &[1, 4, 3]);
        assert_eq!(m, PadAxes { out: vec![4, 3], before: vec![1, 0], shape: vec![2, 3], strides: vec![1, 2] });
        // An empty source padded to one row: an empty range of five zeros.
        let m = merged(&[0, 5], &[5, 1], &[1, 0], &[1, 5]);
        assert_eq!(m, PadAxes { out: vec![5], before: vec![5], shape: vec![0], strides: vec![1] });
    }
}
