//! Strided elementwise kernels: unary (with one scalar parameter), binary with
//! broadcasting (operands arrive as broadcast views), and select.
//!
//! Meta words: [numel, op, param bits, 0] ++ out shape (6) ++ per operand
//! (strides (6) ++ offset), operands at words 10, 17 and 24. Output is contiguous.

use crate::context::{pack_shape, pack_strides, GpuBuffer, GpuContext, Result, View};

const STRIDED: &str = include_str!("strided.wgsl");
const OPS: &str = include_str!("elementwise_ops.wgsl");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum UnaryKernel {
    Copy = 0, Neg, Exp, Log, Sqrt, Recip, Abs, Tanh, Sigmoid, Relu, GeluErf, GeluTanh, Sin, Cos,
    /// x^p
    Powf, 
    /// x * p
    Scale,
    /// x + p
    AddScalar,
    Erf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum BinaryKernel { Add = 0, Sub, Mul, Div, Max, Min, Eq, Ne, Lt, Le, Gt, Ge }

fn header(shape: &[usize], op: u32, param: f32) -> Result<Vec<u32>> {
    let mut words = vec![shape.iter().product::<usize>() as u32, op, param.to_bits(), 0];
    pack_shape(&mut words, shape)?;
    Ok(words)
}

fn source(body: &'static str) -> String {
    format!("{STRIDED}\n{OPS}\n{body}")
}

impl GpuContext {
    fn elementwise(&self, key: &'static str, body: &'static str, words: Vec<u32>, inputs: &[&GpuBuffer]) -> Result<GpuBuffer> {
        let n = words[0] as usize;
        let out = self.alloc(n)?;
        if n == 0 {
            return Ok(out);
        }
        let pipeline = self.pipeline(key, || source(body));
        let meta = self.meta(&words);
        let mut bindings: Vec<&wgpu::Buffer> = vec![&meta];
        bindings.extend(inputs.iter().map(|b| b.raw()));
        bindings.push(out.raw());
        self.dispatch(&pipeline, &bindings, n as u32);
        Ok(out)
    }

    /// `op(x, param)` over a strided view; the result is contiguous.
    pub fn unary(&self, op: UnaryKernel, x: &GpuBuffer, view: View, param: f32) -> Result<GpuBuffer> {
        let mut words = header(view.shape, op as u32, param)?;
        pack_strides(&mut words, &view);
        self.elementwise("unary_main", include_str!("unary.wgsl"), words, &[x])
    }

    /// `op(a, b)`; both views must already have the output's shape (broadcast views).
    pub fn binary(&self, op: BinaryKernel, a: &GpuBuffer, av: View, b: &GpuBuffer, bv: View) -> Result<GpuBuffer> {
        let mut words = header(av.shape, op as u32, 0.0)?;
        pack_strides(&mut words, &av);
        pack_strides(&mut words, &bv);
        self.elementwise("binary_main", include_str!("binary.wgsl"), words, &[a, b])
    }

    /// `mask != 0 ? on_true : on_false`, all three views of the output's shape.
    pub fn select(&self, mask: &GpuBuffer, mv: View, t: &GpuBuffer, tv: View, f: &GpuBuffer, fv: View) -> Result<GpuBuffer> {
        let mut words = header(mv.shape, 0, 0.0)?;
        pack_strides(&mut words, &mv);
        pack_strides(&mut words, &tv);
        pack_strides(&mut words, &fv);
        self.elementwise("select_main", include_str!("select.wgsl"), words, &[mask, t, f])
    }
}
