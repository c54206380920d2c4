//! Per-row normalisations over the last axis (softmax, log-softmax, layer
//! norm), one kernel forward and one backward (see rows.wgsl).

use crate::context::{GpuBuffer, GpuContext, Result, Variant};
use crate::kernels::{kernel_meta, op_codes};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RowKernel {
    Softmax,
    LogSoftmax,
    /// (x - mean) / sqrt(variance + eps), without the affine part.
    LayerNorm {
        eps: f32,
    },
}

op_codes!(RowCode, "ROW" {
    Softmax => "SOFTMAX",
    LogSoftmax => "LOG_SOFTMAX",
    LayerNorm => "LAYER_NORM",
});

impl RowKernel {
    fn code(self) -> u32 {
        let code = match self {
            RowKernel::Softmax => RowCode::Softmax,
            RowKernel::LogSoftmax => RowCode::LogSoftmax,
            RowKernel::LayerNorm { .. } => RowCode::LayerNorm,
        };
        code as u32
    }
}

kernel_meta!(
    /// rows.wgsl's meta: the rows and columns, the element offsets of x and
    /// (backward) the upstream gradient, layer norm's eps, and the offsets of
    /// the affine weight and bias.
    pub(crate) RowsMeta { rows: u32, cols: u32, x_at: u32, grad_at: u32, eps: f32, weight_at: u32, bias_at: u32 }
);

impl GpuContext {
    /// Forward: `op` over each row of contiguous [rows, cols] at element
    /// offset `x_at`, then, for a layer norm with a `weight`, `* weight +
    /// bias` per column. Backward (with `grad`, the upstream gradient of the
    /// output and its offset): the gradient of x and, with a `weight` (the
    /// bias is not needed), g * normalised x, whose column sums are the
    /// weight's gradient. Buffers with element offsets; results are [rows, cols].
    #[allow(clippy::too_many_arguments)]
    pub fn rows(
        &self,
        op: RowKernel,
        x: &GpuBuffer,
        x_at: usize,
        rows: usize,
        cols: usize,
        grad: Option<(&GpuBuffer, usize)>,
        weight: Option<(&GpuBuffer, usize)>,
        bias: Option<(&GpuBuffer, usize)>,
    ) -> Result<(GpuBuffer, Option<GpuBuffer>)> {
        let out = self.alloc(rows * cols)?;
        let param_grads = match (grad, weight) {
            (Some(_), Some(_)) => Some(self.alloc(rows * cols)?),
            _ => None,
        };
        if rows * cols == 0 {
            return Ok((out, param_grads));
        }
        let eps = if let RowKernel::LayerNorm { eps } = op { eps } else { 0.0 };
        let u = |v: usize| v as u32;
        let at = |b: Option<(&GpuBuffer, usize)>| u(b.map_or(0, |b| b.1));
        let meta = RowsMeta { rows: u(rows), cols: u(cols), x_at: u(x_at), grad_at: at(grad), eps, weight_at: at(weight), bias_at: at(bias) };
        let desc = self.meta(meta.words())?;
        let entry = if grad.is_some() { "rows_backward" } else { "rows_forward" };
        let code = op.code();
        let with_affine = weight.is_some();
        let pipeline = self.pipeline_variant(entry, Variant::Rows { op: code, affine: with_affine }, || {
            let source = format!("{}const OP: u32 = {code}u;\n{}{}", RowCode::wgsl_constants(), RowsMeta::wgsl(), include_str!("rows.wgsl"));
            let parts: [(&str, &str, &str); 4] = [
                ("{{AFFINE_BINDINGS}}", "", "@group(0) @binding(4) var<storage, read> weight: array<f32>;\n@group(0) @binding(5) var<storage, read> bias: array<f32>;\n@group(0) @binding(6) var<storage, read_write> weight_grad: array<f32>;"),
                ("{{FORWARD_OUT}}", "select(normalised(v, st), v - st.shift - log_scale, OP == ROW_LOG_SOFTMAX)", "normalised(v, st) * weight[params.weight_at + k] + bias[params.bias_at + k]"),
                ("{{GRAD_IN}}", "grad[gb + k]", "grad[gb + k] * weight[params.weight_at + k]"),
                ("{{GRAD_PARAMS}}", "", "weight_grad[r * c + k] = grad[gb + k] * y;"),
            ];
            parts.iter().fold(source, |s, (slot, plain, affine)| s.replace(slot, if with_affine { affine } else { plain }))
        });
        // The forward pass has no binding 3 (grad): wgpu's automatic layout
        // holds only what an entry point uses, so bindings go by number.
        let mut bindings = vec![(0, &desc), (1, x.raw()), (2, out.raw())];
        bindings.extend(grad.map(|g| (3, g.0.raw())));
        bindings.extend(weight.map(|w| (4, w.0.raw())));
        if grad.is_none() {
            bindings.extend(bias.map(|b| (5, b.0.raw())));
        }
        bindings.extend(param_grads.as_ref().map(|p| (6, p.raw())));
        self.dispatch_numbered(&pipeline, &bindings, self.groups_for(rows as u32));
        Ok((out, param_grads))
    }
}
