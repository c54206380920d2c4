//! 2D convolution (forward and both gradients) with conv.wgsl.

use crate::context::{GpuBuffer, GpuContext, Result, Variant, View};
use crate::kernels::kernel_meta;
use crate::kernels::reduce::ReduceKernel;

/// Geometry of a 2D convolution, as the CPU reference describes it.
#[derive(Debug, Clone, Copy)]
pub struct ConvGeometry {
    pub input: [usize; 4],
    pub weight: [usize; 4],
    pub output: [usize; 2],
    pub stride: [usize; 2],
    pub padding: [usize; 2],
    pub dilation: [usize; 2],
    pub groups: usize,
}

kernel_meta!(
    /// conv.wgsl's meta: the geometry and the invocations of the dispatch.
    pub(crate) ConvMeta {
        n: u32, c: u32, h: u32, w: u32, o: u32, kh: u32, kw: u32, oh: u32, ow: u32,
        stride_h: u32, stride_w: u32, pad_h: u32, pad_w: u32, dil_h: u32, dil_w: u32, groups: u32, threads: u32,
    }
);

impl ConvGeometry {
    /// One input and one output channel per group.
    fn is_depthwise(&self) -> bool {
        self.groups == self.input[1] && self.groups == self.weight[0]
    }

    fn meta(&self, threads: usize) -> ConvMeta {
        let [n, c, h, w] = self.input.map(|v| v as u32);
        let [o, _, kh, kw] = self.weight.map(|v| v as u32);
        let [[oh, ow], [stride_h, stride_w], [pad_h, pad_w], [dil_h, dil_w]] =
            [self.output, self.stride, self.padding, self.dilation].map(|p| p.map(|v| v as u32));
        let (groups, threads) = (self.groups as u32, threads as u32);
        ConvMeta { n, c, h, w, o, kh, kw, oh, ow, stride_h, stride_w, pad_h, pad_w, dil_h, dil_w, groups, threads }
    }
}

impl GpuContext {
    /// Runs `entry` with `threads` invocations for an output of `count`
    /// values; `bias` only for the forward pass.
    #[allow(clippy::too_many_arguments)]
    fn conv(
        &self,
        entry: &'static str,
        g: &ConvGeometry,
        a: &GpuBuffer,
        b: &GpuBuffer,
        bias: Option<&GpuBuffer>,
        count: usize,
        threads: usize,
    ) -> Result<GpuBuffer> {
        let out = self.alloc(count)?;
        if count > 0 {
            let has_bias = bias.is_some();
            let pipeline = self.pipeline_variant(entry, Variant::Bias(has_bias), || {
                format!("const HAS_BIAS: bool = {has_bias};\n{}{}", ConvMeta::wgsl(), include_str!("conv.wgsl"))
            });
            let desc = self.meta(g.meta(threads).words())?;
            let mut bindings = vec![&desc, a.raw(), b.raw(), out.raw()];
            if entry == "conv2d_forward" || entry == "depthwise_forward" {
                bindings.push(bias.unwrap_or(b).raw());
            }
            self.dispatch(&pipeline, &bindings, threads as u32);
        }
        Ok(out)
    }

    /// [N, O, OH, OW] from x [N, C, H, W], w [O, C/G, KH, KW] and an optional bias [O].
    pub fn conv2d(&self, g: &ConvGeometry, x: &GpuBuffer, w: &GpuBuffer, bias: Option<&GpuBuffer>) -> Result<GpuBuffer> {
        let [n, _, _, _] = g.input;
        let [oh, ow] = g.output;
        let count = n * g.weight[0] * oh * ow;
        if g.is_depthwise() {
            // One invocation per 16 output columns of a channel.
            return self.conv("depthwise_forward", g, x, w, bias, count, n * g.groups * oh * ow.div_ceil(16));
        }
        // One invocation per 4 output columns x 4 output channels of a group.
        let threads = n * g.groups * (g.weight[0] / g.groups).div_ceil(4) * oh * ow.div_ceil(4);
        self.conv("conv2d_forward", g, x, w, bias, count, threads)
    }

    pub fn conv2d_input_grad(&self, g: &ConvGeometry, gy: &GpuBuffer, w: &GpuBuffer) -> Result<GpuBuffer> {
        let [n, c, h, w_] = g.input;
        let count = n * c * h * w_;
        // Its stride-1 form only: with a stride, the 16 columns' divisions
        // made a shader that lost the device on Chromium's SwiftShader.
        if g.is_depthwise() && g.stride == [1, 1] {
            return self.conv("depthwise_input_grad", g, gy, w, None, count, n * c * h * w_.div_ceil(16));
        }
        // One invocation per 4 input columns x 4 input channels of a group.
        let threads = n * g.groups * (c / g.groups).div_ceil(4) * h * w_.div_ceil(4);
        self.conv("conv2d_input_grad", g, gy, w, None, count, threads)
    }

    pub fn conv2d_weight_grad(&self, g: &ConvGeometry, x: &GpuBuffer, gy: &GpuBuffer) -> Result<GpuBuffer> {
        // Per-example partial gradients [N, count], then their sum over N.
        let count: usize = g.weight.iter().product();
        let n = g.input[0];
        let [o, cg, kh, kw] = g.weight;
        // One invocation per example x 4 taps x 4 output channels of a group.
        let threads = n * g.groups * (o / g.groups).div_ceil(4) * (cg * kh * kw).div_ceil(4);
        let partial = self.conv("conv2d_weight_grad", g, x, gy, None, count * n, threads)?;
        if n <= 1 || count == 0 {
            return Ok(partial);
        }
        let kept = View { shape: &[count], strides: &[1], offset: 0 };
        self.reduce(ReduceKernel::Sum, &partial, kept, View { shape: &[n], strides: &[count], offset: 0 }, 1.0)
    }
}
