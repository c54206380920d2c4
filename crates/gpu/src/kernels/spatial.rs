//! Convolution (forward and both gradients), pooling (forward and backward),
//! prefix sums, fill, concatenation (strided parts, up to six per dispatch)
//! and padding. Inputs are contiguous unless a launcher takes views.

use crate::context::{GpuBuffer, GpuContext, MAX_RANK, Result, View, pack_shape, pack_strides};
use crate::kernels::reduce::ReduceKernel;
use crate::kernels::{MAX_INPUTS, input_bindings};

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

/// Geometry of 2D pooling.
#[derive(Debug, Clone, Copy)]
pub struct PoolGeometry {
    pub input: [usize; 4],
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub padding: [usize; 2],
    pub output: [usize; 2],
    pub average: bool,
}

/// concat.wgsl for `k` parts.
fn concat_source(k: usize) -> String {
    let reads = (0..k).map(|j| format!("case {j}u: {{ v = in{j}[src]; }}")).collect::<Vec<_>>().join("\n        ");
    format!("{}\n{}", strided(), include_str!("concat.wgsl").replace("{{BINDINGS}}", &input_bindings(k)).replace("{{READS}}", &reads))
}

fn strided() -> &'static str {
    include_str!("strided.wgsl")
}

impl ConvGeometry {
    fn words(&self, count: usize) -> Vec<u32> {
        let [n, c, h, w] = self.input;
        let [o, _, kh, kw] = self.weight;
        [
            n,
            c,
            h,
            w,
            o,
            kh,
            kw,
            self.output[0],
            self.output[1],
            self.stride[0],
            self.stride[1],
            self.padding[0],
            self.padding[1],
            self.dilation[0],
            self.dilation[1],
            self.groups,
            count,
        ]
        .iter()
        .map(|&v| v as u32)
        .collect()
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
            let pipeline = self.pipeline_variant(entry, has_bias as u32, || format!("const HAS_BIAS: bool = {has_bias};\n{}", include_str!("conv.wgsl")));
            let desc = self.meta(&g.words(threads))?;
            let mut bindings = vec![&desc, a.raw(), b.raw(), out.raw()];
            if entry == "conv2d_forward" {
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
        // One invocation per 4 output columns x 4 output channels of a group.
        let threads = n * g.groups * (g.weight[0] / g.groups).div_ceil(4) * oh * ow.div_ceil(4);
        self.conv("conv2d_forward", g, x, w, bias, count, threads)
    }

    pub fn conv2d_input_grad(&self, g: &ConvGeometry, gy: &GpuBuffer, w: &GpuBuffer) -> Result<GpuBuffer> {
        let [n, c, h, w_] = g.input;
        let count = n * c * h * w_;
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

    fn pool_words(g: &PoolGeometry, count: usize) -> Vec<u32> {
        let [n, c, h, w] = g.input;
        [n, c, h, w, g.kernel[0], g.kernel[1], g.stride[0], g.stride[1], g.padding[0], g.padding[1], g.output[0], g.output[1], count, g.average as usize]
            .iter()
            .map(|&v| v as u32)
            .collect()
    }

    pub fn pool2d(&self, g: &PoolGeometry, x: &GpuBuffer) -> Result<GpuBuffer> {
        let count = g.input[0] * g.input[1] * g.output[0] * g.output[1];
        let out = self.alloc(count)?;
        if count > 0 {
            let pipeline = self.pipeline("pool_forward", || format!("{}\n{}", strided(), include_str!("pool.wgsl")));
            let desc = self.meta(&Self::pool_words(g, count))?;
            self.dispatch(&pipeline, &[&desc, x.raw(), out.raw()], count as u32);
        }
        Ok(out)
    }

    pub fn pool2d_backward(&self, g: &PoolGeometry, x: &GpuBuffer, gy: &GpuBuffer) -> Result<GpuBuffer> {
        let count: usize = g.input.iter().product();
        let out = self.alloc(count)?;
        let windows = g.input[0] * g.input[1] * g.output[0] * g.output[1];
        // Windows that tile the input: one invocation per window, not per input element.
        let (entry, threads) =
            if g.kernel == g.stride && g.padding == [0, 0] && windows > 0 { ("pool_backward_tiles", windows) } else { ("pool_backward", count) };
        if count > 0 {
            let pipeline = self.pipeline(entry, || format!("{}\n{}", strided(), include_str!("pool.wgsl")));
            let desc = self.meta(&Self::pool_words(g, threads))?;
            self.dispatch(&pipeline, &[&desc, x.raw(), out.raw(), gy.raw()], threads as u32);
        }
        Ok(out)
    }

    /// Inclusive prefix sum along the middle axis of contiguous [outer, dim, inner].
    pub fn cumsum(&self, x: &GpuBuffer, outer: usize, dim: usize, inner: usize) -> Result<GpuBuffer> {
        let out = self.alloc(outer * dim * inner)?;
        if outer * dim * inner > 0 {
            let pipeline = self.pipeline("cumsum_main", || include_str!("scan.wgsl").to_string());
            let desc = self.meta(&[outer as u32, dim as u32, inner as u32])?;
            self.dispatch(&pipeline, &[&desc, x.raw(), out.raw()], (outer * inner) as u32);
        }
        Ok(out)
    }

    fn index_desc(outer: usize, dim: usize, inner: usize, count: usize, total: usize) -> Vec<u32> {
        [outer, dim, inner, count, total].iter().map(|&v| v as u32).collect()
    }

    /// out[o, j, i] = x[o, index[j], i] over contiguous [outer, dim, inner];
    /// an index out of range gives NaN.
    pub fn index_select(&self, x: &GpuBuffer, index: &GpuBuffer, count: usize, outer: usize, dim: usize, inner: usize) -> Result<GpuBuffer> {
        let total = outer * count * inner;
        let out = self.alloc(total)?;
        if total > 0 {
            let pipeline = self.pipeline("index_select_main", || format!("{}\n{}", strided(), include_str!("index.wgsl")));
            let desc = self.meta(&Self::index_desc(outer, dim, inner, count, total))?;
            self.dispatch(&pipeline, &[&desc, x.raw(), index.raw(), out.raw()], total as u32);
        }
        Ok(out)
    }

    /// base with src[o, j, i] added at [o, index[j], i]; src is [outer, count, inner].
    #[allow(clippy::too_many_arguments)]
    pub fn scatter_add(&self, base: &GpuBuffer, index: &GpuBuffer, count: usize, src: &GpuBuffer, outer: usize, dim: usize, inner: usize) -> Result<GpuBuffer> {
        let total = outer * dim * inner;
        let out = self.alloc(total)?;
        if total > 0 {
            let pipeline = self.pipeline("scatter_add_main", || format!("{}\n{}", strided(), include_str!("index.wgsl")));
            let desc = self.meta(&Self::index_desc(outer, dim, inner, count, total))?;
            self.dispatch(&pipeline, &[&desc, base.raw(), index.raw(), out.raw(), src.raw()], total as u32);
        }
        Ok(out)
    }

    /// A new buffer of `len` copies of `value`.
    pub fn fill(&self, len: usize, value: f32) -> Result<GpuBuffer> {
        let out = self.alloc(len)?;
        if len > 0 {
            let pipeline = self.pipeline("fill_main", || include_str!("fill.wgsl").to_string());
            let desc = self.meta(&[len as u32, value.to_bits()])?;
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
                let pipeline = self.pipeline_variant("concat_main", k as u32, || concat_source(k));
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
