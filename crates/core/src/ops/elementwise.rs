//! Unary, binary (NumPy broadcasting), comparison and select primitives.

use nnlab_gpu::{BinaryKernel, UnaryKernel};

use super::{Data, common_device, gpu_view};
use crate::layout::broadcast_shape;
use crate::{BinaryOp, CmpOp, Error, Op, Result, Storage, Tensor, UnaryOp, cpu};

fn unary_kernel(op: UnaryOp) -> (UnaryKernel, f32) {
    match op {
        UnaryOp::Neg => (UnaryKernel::Neg, 0.0),
        UnaryOp::Exp => (UnaryKernel::Exp, 0.0),
        UnaryOp::Log => (UnaryKernel::Log, 0.0),
        UnaryOp::Sqrt => (UnaryKernel::Sqrt, 0.0),
        UnaryOp::Recip => (UnaryKernel::Recip, 0.0),
        UnaryOp::Abs => (UnaryKernel::Abs, 0.0),
        UnaryOp::Tanh => (UnaryKernel::Tanh, 0.0),
        UnaryOp::Sigmoid => (UnaryKernel::Sigmoid, 0.0),
        UnaryOp::Relu => (UnaryKernel::Relu, 0.0),
        UnaryOp::GeluErf => (UnaryKernel::GeluErf, 0.0),
        UnaryOp::GeluTanh => (UnaryKernel::GeluTanh, 0.0),
        UnaryOp::Sin => (UnaryKernel::Sin, 0.0),
        UnaryOp::Cos => (UnaryKernel::Cos, 0.0),
        UnaryOp::Erf => (UnaryKernel::Erf, 0.0),
        UnaryOp::Powf(p) => (UnaryKernel::Powf, p),
        UnaryOp::Scale(s) => (UnaryKernel::Scale, s),
        UnaryOp::AddScalar(s) => (UnaryKernel::AddScalar, s),
    }
}

fn binary_kernel(op: BinaryOp) -> BinaryKernel {
    match op {
        BinaryOp::Add => BinaryKernel::Add,
        BinaryOp::Sub => BinaryKernel::Sub,
        BinaryOp::Mul => BinaryKernel::Mul,
        BinaryOp::Div => BinaryKernel::Div,
        BinaryOp::Max => BinaryKernel::Max,
        BinaryOp::Min => BinaryKernel::Min,
    }
}

fn cmp_kernel(op: CmpOp) -> BinaryKernel {
    match op {
        CmpOp::Eq => BinaryKernel::Eq,
        CmpOp::Ne => BinaryKernel::Ne,
        CmpOp::Lt => BinaryKernel::Lt,
        CmpOp::Le => BinaryKernel::Le,
        CmpOp::Gt => BinaryKernel::Gt,
        CmpOp::Ge => BinaryKernel::Ge,
    }
}

/// What a two-operand op computes on the CPU.
#[derive(Clone, Copy)]
enum CpuBinary {
    Arithmetic(BinaryOp),
    Compare(CmpOp),
}

impl Tensor {
    pub fn unary(&self, op: UnaryOp) -> Result<Tensor> {
        let storage = match self.data() {
            Data::Cpu(d) => Storage::Cpu(cpu::unary(op, d, self.layout())),
            Data::Gpu(ctx, b) => {
                let (k, p) = unary_kernel(op);
                Storage::Gpu(ctx.unary(k, b, gpu_view(self.layout()), p)?)
            }
        };
        Ok(Tensor::from_storage(storage, self.shape(), Some(Op::Unary(self.clone(), op))))
    }

    /// `g * f'(self)` for the unary op f: its whole backward rule in one
    /// kernel. `g` has this tensor's shape; the result carries no gradient
    /// (backward passes run without recording).
    pub fn unary_backward(&self, g: &Tensor, op: UnaryOp) -> Result<Tensor> {
        common_device("unary backward", &[self, g])?;
        if self.shape() != g.shape() {
            return Err(Error::ShapeMismatch { op: "unary backward", lhs: self.shape().to_vec(), rhs: g.shape().to_vec() });
        }
        let storage = match (self.data(), g.data()) {
            (Data::Cpu(x), Data::Cpu(gd)) => Storage::Cpu(cpu::unary_backward(op, x, self.layout(), gd, g.layout())),
            (Data::Gpu(ctx, x), Data::Gpu(_, gb)) => {
                let (k, p) = unary_kernel(op);
                Storage::Gpu(ctx.unary_backward(k, x, gpu_view(self.layout()), gb, gpu_view(g.layout()), p)?)
            }
            _ => unreachable!("devices checked above"),
        };
        Ok(Tensor::from_storage(storage, self.shape(), None))
    }

    pub fn neg(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Neg)
    }
    pub fn exp(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Exp)
    }
    pub fn log(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Log)
    }
    pub fn sqrt(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Sqrt)
    }
    pub fn recip(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Recip)
    }
    pub fn abs(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Abs)
    }
    pub fn tanh(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Tanh)
    }
    pub fn sigmoid(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Sigmoid)
    }
    pub fn relu(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Relu)
    }
    pub fn gelu(&self) -> Result<Tensor> {
        self.unary(UnaryOp::GeluErf)
    }
    pub fn gelu_tanh(&self) -> Result<Tensor> {
        self.unary(UnaryOp::GeluTanh)
    }
    pub fn sin(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Sin)
    }
    pub fn cos(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Cos)
    }
    pub fn erf(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Erf)
    }
    pub fn powf(&self, p: f32) -> Result<Tensor> {
        self.unary(UnaryOp::Powf(p))
    }
    pub fn mul_scalar(&self, s: f32) -> Result<Tensor> {
        self.unary(UnaryOp::Scale(s))
    }
    pub fn add_scalar(&self, s: f32) -> Result<Tensor> {
        self.unary(UnaryOp::AddScalar(s))
    }
    pub fn square(&self) -> Result<Tensor> {
        self.mul(self)
    }

    /// `f` / `kernel` over both operands broadcast to their common shape.
    fn broadcast_zip(&self, other: &Tensor, name: &'static str, f: CpuBinary, kernel: BinaryKernel, op: Option<Op>) -> Result<Tensor> {
        common_device(name, &[self, other])?;
        let shape = broadcast_shape(name, self.shape(), other.shape())?;
        let (la, lb) = (self.layout().broadcast_to(&shape)?, other.layout().broadcast_to(&shape)?);
        let storage = match (self.data(), other.data()) {
            (Data::Cpu(a), Data::Cpu(b)) => Storage::Cpu(match f {
                CpuBinary::Arithmetic(op) => cpu::binary(op, a, &la, b, &lb),
                CpuBinary::Compare(op) => cpu::cmp(op, a, &la, b, &lb),
            }),
            (Data::Gpu(ctx, a), Data::Gpu(_, b)) => Storage::Gpu(ctx.binary(kernel, a, gpu_view(&la), b, gpu_view(&lb))?),
            _ => unreachable!("devices checked above"),
        };
        Ok(Tensor::from_storage(storage, &shape, op))
    }

    pub fn binary(&self, other: &Tensor, op: BinaryOp) -> Result<Tensor> {
        self.broadcast_zip(other, "binary op", CpuBinary::Arithmetic(op), binary_kernel(op), Some(Op::Binary(self.clone(), other.clone(), op)))
    }

    pub fn add(&self, o: &Tensor) -> Result<Tensor> {
        self.binary(o, BinaryOp::Add)
    }
    pub fn sub(&self, o: &Tensor) -> Result<Tensor> {
        self.binary(o, BinaryOp::Sub)
    }
    pub fn mul(&self, o: &Tensor) -> Result<Tensor> {
        self.binary(o, BinaryOp::Mul)
    }
    pub fn div(&self, o: &Tensor) -> Result<Tensor> {
        self.binary(o, BinaryOp::Div)
    }
    pub fn maximum(&self, o: &Tensor) -> Result<Tensor> {
        self.binary(o, BinaryOp::Max)
    }
    pub fn minimum(&self, o: &Tensor) -> Result<Tensor> {
        self.binary(o, BinaryOp::Min)
    }

    /// A 0/1 mask; comparisons carry no gradient.
    pub fn cmp(&self, other: &Tensor, op: CmpOp) -> Result<Tensor> {
        self.broadcast_zip(other, "comparison", CpuBinary::Compare(op), cmp_kernel(op), None)
    }

    pub fn eq(&self, o: &Tensor) -> Result<Tensor> {
        self.cmp(o, CmpOp::Eq)
    }
    pub fn ne(&self, o: &Tensor) -> Result<Tensor> {
        self.cmp(o, CmpOp::Ne)
    }
    pub fn lt(&self, o: &Tensor) -> Result<Tensor> {
        self.cmp(o, CmpOp::Lt)
    }
    pub fn le(&self, o: &Tensor) -> Result<Tensor> {
        self.cmp(o, CmpOp::Le)
    }
    pub fn gt(&self, o: &Tensor) -> Result<Tensor> {
        self.cmp(o, CmpOp::Gt)
    }
    pub fn ge(&self, o: &Tensor) -> Result<Tensor> {
        self.cmp(o, CmpOp::Ge)
    }

    /// `self != 0 ? on_true : on_false`, broadcasting all three.
    pub fn where_(&self, on_true: &Tensor, on_false: &Tensor) -> Result<Tensor> {
        common_device("where", &[self, on_true, on_false])?;
        let shape = broadcast_shape("where", &broadcast_shape("where", self.shape(), on_true.shape())?, on_false.shape())?;
        let (lm, lt, lf) = (self.layout().broadcast_to(&shape)?, on_true.layout().broadcast_to(&shape)?, on_false.layout().broadcast_to(&shape)?);
        let storage = match (self.data(), on_true.data(), on_false.data()) {
            (Data::Cpu(m), Data::Cpu(t), Data::Cpu(f)) => Storage::Cpu(cpu::select(m, &lm, t, &lt, f, &lf)),
            (Data::Gpu(ctx, m), Data::Gpu(_, t), Data::Gpu(_, f)) => Storage::Gpu(ctx.select(m, gpu_view(&lm), t, gpu_view(&lt), f, gpu_view(&lf))?),
            _ => unreachable!("devices checked above"),
        };
        Ok(Tensor::from_storage(storage, &shape, Some(Op::Where(self.clone(), on_true.clone(), on_false.clone()))))
    }
}
