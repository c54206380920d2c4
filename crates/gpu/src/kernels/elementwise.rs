//! Strided elementwise kernels: unary (with one scalar parameter), the unary
//! ops' backward rules, binary with broadcasting (operands arrive as broadcast
//! views), and select.
//!
//! The output is contiguous; each operand is read through its own view
//! (`params.views[j]`, all of the output's shape).

use crate::context::{GpuBuffer, GpuContext, Result, Variant, View};
use crate::fusion::{Elementwise, Expr, Input};
use crate::kernels::strided::{self, StridedView};
use crate::kernels::{kernel_meta, op_codes};

const OPS: &str = include_str!("elementwise_ops.wgsl");

op_codes!(UnaryKernel, "UNARY" {
    Copy => "COPY",
    Neg => "NEG",
    Exp => "EXP",
    Log => "LOG",
    Sqrt => "SQRT",
    Recip => "RECIP",
    Abs => "ABS",
    Tanh => "TANH",
    Sigmoid => "SIGMOID",
    Relu => "RELU",
    GeluErf => "GELU_ERF",
    GeluTanh => "GELU_TANH",
    Sin => "SIN",
    Cos => "COS",
    /// x^p
    Powf => "POWF",
    /// x * p
    Scale => "SCALE",
    /// x + p
    AddScalar => "ADD_SCALAR",
    Erf => "ERF",
});

op_codes!(BinaryKernel, "BINARY" {
    Add => "ADD",
    Sub => "SUB",
    Mul => "MUL",
    Div => "DIV",
    Max => "MAX",
    Min => "MIN",
    Eq => "EQ",
    Ne => "NE",
    Lt => "LT",
    Le => "LE",
    Gt => "GT",
    Ge => "GE",
});

/// elementwise_ops.wgsl (`unary_op`, `unary_derivative`, `binary_op`) with
/// the op-code constants it switches on.
pub(crate) fn ops_wgsl() -> String {
    format!("{}{}{}", UnaryKernel::wgsl_constants(), BinaryKernel::wgsl_constants(), OPS)
}

kernel_meta!(
    /// The elementwise kernels' meta: the number of outputs, the op code and
    /// its scalar parameter, whether every view is one contiguous run (the
    /// op and that flag are also compiled into the pipeline), one view per operand.
    pub(crate) ElementwiseMeta { len: u32, op: u32, param: f32, contiguous: u32 } and views: [StridedView]
);

impl ElementwiseMeta {
    /// The meta words for `op` over views that all have the output's shape,
    /// after merging the axes that every view (and the contiguous output)
    /// walks contiguously: a broadcast bias add over [B, T, C] becomes
    /// [B*T, C], a contiguous map becomes one axis. Fewer axes, fewer integer divisions.
    pub(crate) fn of(views: &[View], op: u32, param: f32) -> Result<(ElementwiseMeta, Vec<u32>)> {
        let shape = views[0].shape;
        let (merged, strides) = merge_axes(shape, views);
        let contiguous = merged.len() <= 1 && strides.iter().all(|s| s.iter().all(|&st| st == 1));
        let meta = ElementwiseMeta { len: shape.iter().product::<usize>() as u32, op, param, contiguous: contiguous as u32 };
        let views =
            views.iter().zip(&strides).map(|(v, s)| StridedView::of(&View { shape: &merged, strides: s, offset: v.offset })).collect::<Result<Vec<_>>>()?;
        Ok((meta, meta.words_with(&views)))
    }
}

/// Drops axes of size 1 and merges axis d into d + 1 wherever every view has
/// stride[d] == stride[d + 1] * shape[d + 1].
fn merge_axes(shape: &[usize], views: &[View]) -> (Vec<usize>, Vec<Vec<usize>>) {
    let mut merged: Vec<usize> = Vec::new();
    let mut strides: Vec<Vec<usize>> = vec![Vec::new(); views.len()];
    for (d, &dim) in shape.iter().enumerate() {
        if dim == 1 {
            continue;
        }
        let joins = !merged.is_empty() && views.iter().zip(&strides).all(|(v, s)| s[s.len() - 1] == v.strides[d] * dim);
        if joins {
            *merged.last_mut().expect("not empty") *= dim;
            for (v, s) in views.iter().zip(strides.iter_mut()) {
                *s.last_mut().expect("not empty") = v.strides[d];
            }
        } else {
            merged.push(dim);
            for (v, s) in views.iter().zip(strides.iter_mut()) {
                s.push(v.strides[d]);
            }
        }
    }
    (merged, strides)
}

/// The kernel `body` compiled for one op code and addressing mode.
fn source(body: &'static str, op: u32, contiguous: bool) -> String {
    format!("const OP: u32 = {op}u;\nconst CONTIGUOUS: bool = {contiguous};\n{}{}\n{}\n{body}", ElementwiseMeta::wgsl(), strided::source(), ops_wgsl())
}

impl GpuContext {
    /// Runs `body` compiled for `op` over `inputs` seen through `views`; `expr`
    /// says what it computes (for plan fusion).
    #[allow(clippy::too_many_arguments)]
    fn elementwise(&self, key: &'static str, body: &'static str, expr: Expr, op: u32, param: f32, views: &[View], inputs: &[&GpuBuffer]) -> Result<GpuBuffer> {
        let (meta, words) = ElementwiseMeta::of(views, op, param)?;
        let n = meta.len as usize;
        let out = self.alloc(n)?;
        if n == 0 {
            return Ok(out);
        }
        let contiguous = meta.contiguous == 1;
        let pipeline = self.pipeline_variant(key, Variant::Elementwise { op, contiguous }, || source(body, op, contiguous));
        let desc = self.meta(&words)?;
        let mut bindings: Vec<&wgpu::Buffer> = vec![&desc];
        bindings.extend(inputs.iter().map(|b| b.raw()));
        bindings.push(out.raw());
        self.dispatch(&pipeline, &bindings, n as u32);
        if let Some(rec) = self.recording().borrow_mut().as_mut() {
            let inputs = inputs.iter().zip(views).map(|(b, v)| Input { buffer: b.raw().clone(), strides: v.strides.to_vec(), offset: v.offset }).collect();
            rec.describe_last(Elementwise { expr, shape: views[0].shape.to_vec(), inputs, out: out.raw().clone() });
        }
        Ok(out)
    }

    /// `op(x, param)` over a strided view; the result is contiguous.
    pub fn unary(&self, op: UnaryKernel, x: &GpuBuffer, view: View, param: f32) -> Result<GpuBuffer> {
        let expr = Expr::Unary(op as u32, param, Box::new(Expr::Input(0)));
        self.elementwise("unary_main", include_str!("unary.wgsl"), expr, op as u32, param, &[view], &[x])
    }

    /// `g * op'(x)`, the backward rule of a unary op; both views have the output's shape.
    pub fn unary_backward(&self, op: UnaryKernel, x: &GpuBuffer, xv: View, g: &GpuBuffer, gv: View, param: f32) -> Result<GpuBuffer> {
        let expr = Expr::UnaryBackward(op as u32, param, Box::new(Expr::Input(0)), Box::new(Expr::Input(1)));
        self.elementwise("unary_backward_main", include_str!("unary_backward.wgsl"), expr, op as u32, param, &[xv, gv], &[x, g])
    }

    /// `op(a, b)`; both views must already have the output's shape (broadcast views).
    pub fn binary(&self, op: BinaryKernel, a: &GpuBuffer, av: View, b: &GpuBuffer, bv: View) -> Result<GpuBuffer> {
        let expr = Expr::Binary(op as u32, Box::new(Expr::Input(0)), Box::new(Expr::Input(1)));
        self.elementwise("binary_main", include_str!("binary.wgsl"), expr, op as u32, 0.0, &[av, bv], &[a, b])
    }

    /// `mask != 0 ? on_true : on_false`, all three views of the output's shape.
    pub fn select(&self, mask: &GpuBuffer, mv: View, t: &GpuBuffer, tv: View, f: &GpuBuffer, fv: View) -> Result<GpuBuffer> {
        let expr = Expr::Select(Box::new(Expr::Input(0)), Box::new(Expr::Input(1)), Box::new(Expr::Input(2)));
        self.elementwise("select_main", include_str!("select.wgsl"), expr, 0, 0.0, &[mv, tv, fv], &[mask, t, f])
    }
}
