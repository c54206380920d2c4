//! Elementwise-chain fusion for step plans. While a step is recorded, every
//! elementwise dispatch (unary, unary backward, binary, select) also records
//! what it computes: an expression over strided views of its inputs. When the
//! recording ends, a producer whose output only one later elementwise
//! dispatch reads, through an identity view, and nothing reads afterwards, is
//! folded into that consumer: the consumer evaluates the producer's
//! expression itself, and the producer's dispatch and its write disappear.
//! Chains collapse link by link into one generated kernel.
//!
//! The recorded step ran eagerly (unfused), so the fused plan's replays are
//! checked against the same numbers.

// wgpu::Buffer hashes by identity, which its interior state never changes.
#![allow(clippy::mutable_key_type)]

use std::collections::HashSet;

use crate::context::{GpuContext, Result, View};
use crate::kernels::elementwise::ElementwiseMeta;
use crate::kernels::{MAX_INPUTS, input_bindings, strided};
use crate::plan::{Dispatch, dead_after};

/// What an elementwise dispatch computes, per output element.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    /// The element of input view `j` at this output position.
    Input(usize),
    /// `unary_op(op, x, param)` (codes of `UnaryKernel`).
    Unary(u32, f32, Box<Expr>),
    /// `g * unary_derivative(op, x, param)`.
    UnaryBackward(u32, f32, Box<Expr>, Box<Expr>),
    /// `binary_op(op, a, b)` (codes of `BinaryKernel`).
    Binary(u32, Box<Expr>, Box<Expr>),
    /// `mask != 0 ? on_true : on_false`.
    Select(Box<Expr>, Box<Expr>, Box<Expr>),
}

impl Expr {
    /// The expression with `Input(j)` replaced by `map(j)`.
    fn substitute(&self, map: &dyn Fn(usize) -> Expr) -> Expr {
        let sub = |e: &Expr| Box::new(e.substitute(map));
        match self {
            Expr::Input(j) => map(*j),
            Expr::Unary(op, p, x) => Expr::Unary(*op, *p, sub(x)),
            Expr::UnaryBackward(op, p, x, g) => Expr::UnaryBackward(*op, *p, sub(x), sub(g)),
            Expr::Binary(op, a, b) => Expr::Binary(*op, sub(a), sub(b)),
            Expr::Select(m, t, f) => Expr::Select(sub(m), sub(t), sub(f)),
        }
    }

    /// WGSL for the expression, input view j being the local `v{j}`.
    fn wgsl(&self) -> String {
        let param = |p: &f32| format!("bitcast<f32>({}u)", p.to_bits());
        match self {
            Expr::Input(j) => format!("v{j}"),
            Expr::Unary(op, p, x) => format!("unary_op({op}u, {}, {})", x.wgsl(), param(p)),
            Expr::UnaryBackward(op, p, x, g) => format!("({} * unary_derivative({op}u, {}, {}))", g.wgsl(), x.wgsl(), param(p)),
            Expr::Binary(op, a, b) => format!("binary_op({op}u, {}, {})", a.wgsl(), b.wgsl()),
            Expr::Select(m, t, f) => format!("select({}, {}, {} != 0.0)", f.wgsl(), t.wgsl(), m.wgsl()),
        }
    }
}

/// One input view of an elementwise dispatch: strides (for the dispatch's
/// shape) and offset into a buffer, in elements.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Input {
    pub buffer: wgpu::Buffer,
    pub strides: Vec<usize>,
    pub offset: usize,
}

/// An elementwise dispatch as an expression: `out[i] = expr` for every
/// row-major position i of `shape`; `out` is contiguous.
#[derive(Debug, Clone)]
pub(crate) struct Elementwise {
    pub expr: Expr,
    pub shape: Vec<usize>,
    pub inputs: Vec<Input>,
    pub out: wgpu::Buffer,
}

impl Elementwise {
    /// Whether input `j` reads the element at the output's own position.
    pub(crate) fn reads_in_place(&self, j: usize) -> bool {
        let input = &self.inputs[j];
        let mut expected = 1;
        for (&dim, &stride) in self.shape.iter().zip(&input.strides).rev() {
            if dim > 1 && stride != expected {
                return false;
            }
            expected *= dim;
        }
        input.offset == 0
    }

    /// `self` computing `producer`'s expression in place of every input that
    /// reads `producer.out`. Identical input views are shared.
    fn absorb(&self, producer: &Elementwise) -> Elementwise {
        let mut inputs: Vec<Input> = Vec::new();
        let mut slot = |input: &Input| match inputs.iter().position(|i| i == input) {
            Some(j) => j,
            None => {
                inputs.push(input.clone());
                inputs.len() - 1
            }
        };
        let theirs: Vec<usize> = producer.inputs.iter().map(&mut slot).collect();
        let ours: Vec<Option<usize>> = self.inputs.iter().map(|i| (i.buffer != producer.out).then(|| slot(i))).collect();
        let inner = producer.expr.substitute(&|j| Expr::Input(theirs[j]));
        let expr = self.expr.substitute(&|j| ours[j].map_or_else(|| inner.clone(), Expr::Input));
        Elementwise { expr, shape: self.shape.clone(), inputs, out: self.out.clone() }
    }

    /// The generated kernel: one binding per input view, then the output.
    fn source(&self, contiguous: bool) -> String {
        let loads = (0..self.inputs.len()).map(|j| format!("    let v{j} = in{j}[elem_offset(i, {j}u)];\n")).collect::<String>();
        format!(
            "const CONTIGUOUS: bool = {contiguous};\n{}{}\n{}\n{}\n\n@compute @workgroup_size(64)\nfn fused_elementwise(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {{\n    let i = linear_index(gid, nwg);\n    if (i >= params.len) {{ return; }}\n{loads}    out[i] = {};\n}}\n",
            ElementwiseMeta::wgsl(),
            strided::source(),
            crate::kernels::elementwise::ops_wgsl(),
            input_bindings(self.inputs.len()),
            self.expr.wgsl()
        )
    }
}

/// Folds elementwise producers into their single consumers (see the module
/// doc). `idle` holds the buffers no handle outside the plan refers to: a
/// value the step leaves in any other buffer may be read after it.
pub(crate) fn fuse(ctx: &GpuContext, dispatches: Vec<Dispatch>, idle: &HashSet<wgpu::Buffer>) -> Result<Vec<Dispatch>> {
    let mut slots: Vec<Option<Dispatch>> = dispatches.into_iter().map(Some).collect();
    let mut fused = vec![false; slots.len()];
    for c in 0..slots.len() {
        while let Some(p) = producer_to_absorb(&slots, c, idle) {
            let producer = slots[p].take().expect("a live producer").elementwise.expect("elementwise");
            let consumer = slots[c].as_mut().expect("a live consumer");
            let merged = consumer.elementwise.as_ref().expect("elementwise").absorb(&producer);
            consumer.accesses = merged.inputs.iter().map(|i| (i.buffer.clone(), false)).chain([(merged.out.clone(), true)]).collect();
            consumer.elementwise = Some(merged);
            fused[c] = true;
        }
    }
    let mut out = Vec::with_capacity(slots.len());
    for (slot, fused) in slots.into_iter().zip(fused) {
        let Some(mut d) = slot else { continue };
        if fused {
            compile(ctx, &mut d)?;
        }
        out.push(d);
    }
    Ok(out)
}

/// The elementwise dispatch before `c` that `c` can compute itself, if any.
fn producer_to_absorb(slots: &[Option<Dispatch>], c: usize, idle: &HashSet<wgpu::Buffer>) -> Option<usize> {
    let consumer = slots[c].as_ref()?.elementwise.as_ref()?;
    let live = |k: usize| slots[k].as_ref();
    for input in &consumer.inputs {
        let x = &input.buffer;
        // Every view of x must read in place: the producer's element i is the consumer's.
        if consumer.inputs.iter().enumerate().any(|(j, i)| &i.buffer == x && !consumer.reads_in_place(j)) {
            continue;
        }
        let Some(p) = (0..c).rev().find(|&k| live(k).is_some_and(|d| d.touches(x))) else { continue };
        let Some(producer) = live(p).and_then(|d| d.elementwise.as_ref()) else { continue };
        if &producer.out != x || producer.shape != consumer.shape {
            continue;
        }
        // The producer's inputs must still hold their values at c.
        if (p + 1..c).any(|k| live(k).is_some_and(|d| producer.inputs.iter().any(|i| d.writes(&i.buffer)))) {
            continue;
        }
        // And nothing after c may read x before it is written again, or at all
        // if it is not, unless no handle outside the plan can see it.
        if !dead_after(slots, c, x, idle) {
            continue;
        }
        // A kernel cannot read the buffer it writes (and WebGPU cannot bind it twice so).
        if producer.inputs.iter().any(|i| i.buffer == consumer.out) {
            continue;
        }
        let inputs: HashSet<_> = consumer.inputs.iter().filter(|i| &i.buffer != x).chain(&producer.inputs).map(|i| (&i.buffer, &i.strides, i.offset)).collect();
        if inputs.len() > MAX_INPUTS {
            continue;
        }
        return Some(p);
    }
    None
}

/// Gives a fused dispatch its generated pipeline, meta words and bind group.
fn compile(ctx: &GpuContext, d: &mut Dispatch) -> Result<()> {
    let e = d.elementwise.as_ref().expect("a fused dispatch is elementwise");
    let views: Vec<View> = e.inputs.iter().map(|i| View { shape: &e.shape, strides: &i.strides, offset: i.offset }).collect();
    let (meta, words) = ElementwiseMeta::of(&views, 0, 0.0)?;
    let (numel, contiguous) = (meta.len, meta.contiguous == 1);
    let meta = ctx.meta(&words)?;
    let mut entries = vec![(0, meta)];
    entries.extend(e.inputs.iter().enumerate().map(|(j, i)| (j as u32 + 1, i.buffer.clone())));
    entries.push((e.inputs.len() as u32 + 1, e.out.clone()));
    d.pipeline = ctx.generated_pipeline("fused_elementwise", e.source(contiguous));
    d.rebind(ctx, entries);
    d.name = "fused_elementwise";
    d.groups = ctx.groups_for(numel);
    Ok(())
}
