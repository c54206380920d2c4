//! Strided views in kernel meta: the elementwise, reduction, padding and
//! concatenation kernels end their params in `views`, an array of
//! `StridedView`, which strided.wgsl walks.

use crate::context::{GpuError, MAX_RANK, Result, View};
use crate::kernels::{WgslType, common};

/// A view's shape and strides, left-padded to `MAX_RANK` axes (shape 1,
/// stride 0), and its offset, all in elements.
#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct StridedView {
    pub shape: [u32; MAX_RANK],
    pub strides: [u32; MAX_RANK],
    pub offset: u32,
}

impl StridedView {
    pub(crate) fn of(view: &View) -> Result<StridedView> {
        Ok(StridedView { shape: axes(view.shape, 1)?, strides: axes(view.strides, 0)?, offset: view.offset as u32 })
    }
}

/// Per-axis `values` left-padded with `fill` to `MAX_RANK` axes.
pub(crate) fn axes(values: &[usize], fill: u32) -> Result<[u32; MAX_RANK]> {
    let rank = values.len();
    if rank > MAX_RANK {
        return Err(GpuError::RankTooLarge(rank));
    }
    let mut out = [fill; MAX_RANK];
    out[MAX_RANK - rank..].iter_mut().zip(values).for_each(|(w, &v)| *w = v as u32);
    Ok(out)
}

impl WgslType for StridedView {
    fn wgsl_type() -> String {
        "StridedView".into()
    }
}

/// common.wgsl, `StridedView` in WGSL and strided.wgsl (`strided_offset`),
/// for a kernel whose params end in `views: array<StridedView>`.
pub(crate) fn source() -> String {
    let axes = <[u32; MAX_RANK]>::wgsl_type();
    format!(
        "{}\nconst RANK: u32 = {MAX_RANK}u;\nstruct StridedView {{\n    shape: {axes},\n    strides: {axes},\n    offset: u32,\n}}\n{}",
        common(),
        include_str!("strided.wgsl")
    )
}
