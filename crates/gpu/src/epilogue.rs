//! Matmul epilogue fusion for step plans: a sum `x + y` whose operand `x` is
//! a matmul's output (a residual add, the accumulation of two gradients of
//! one tensor) is folded into that matmul, which then adds `y` to every
//! element as it writes the product, straight into the sum's output. The
//! sum's dispatch disappears, and so do the write and the read of `x`.
//!
//! It runs on what elementwise fusion (`fusion.rs`) leaves, so a sum that a
//! longer elementwise chain absorbed stays there. The rules keep a replay's
//! numbers those of the eager step, which ran unfused:
//! - both operands are read in place (element i of the sum is element i of
//!   the product and of y), and the product is the latest write of x;
//! - nothing between the matmul and the sum writes y (the matmul now reads
//!   it earlier) or touches the sum's output (the matmul now writes it
//!   earlier);
//! - nothing after the sum reads x before writing it, and no handle outside
//!   the plan can see it (it is no longer written);
//! - the sum's output is none of the matmul's operands (a kernel cannot read
//!   what it writes).

// wgpu::Buffer hashes by identity, which its interior state never changes.
#![allow(clippy::mutable_key_type)]

use std::collections::HashSet;

use crate::BinaryKernel;
use crate::context::GpuContext;
use crate::fusion::Expr;
use crate::plan::{Dispatch, dead_after};

/// Folds sums into the matmuls that produce one of their operands (see the
/// module doc). `idle` as for `fusion::fuse`.
pub(crate) fn fold_addends(ctx: &GpuContext, dispatches: Vec<Dispatch>, idle: &HashSet<wgpu::Buffer>) -> Vec<Dispatch> {
    let mut slots: Vec<Option<Dispatch>> = dispatches.into_iter().map(Some).collect();
    for c in 0..slots.len() {
        let Some((p, addend)) = matmul_to_extend(&slots, c, idle) else { continue };
        let sum = slots[c].take().and_then(|d| d.elementwise).expect("an elementwise sum");
        extend(ctx, slots[p].as_mut().expect("a live matmul"), sum.out, addend);
    }
    slots.into_iter().flatten().collect()
}

/// When the dispatch in slot `c` is a sum that the matmul in slot p can
/// compute: (p, the other operand).
fn matmul_to_extend(slots: &[Option<Dispatch>], c: usize, idle: &HashSet<wgpu::Buffer>) -> Option<(usize, wgpu::Buffer)> {
    let sum = slots[c].as_ref()?.elementwise.as_ref()?;
    let Expr::Binary(op, lhs, rhs) = &sum.expr else { return None };
    let (Expr::Input(i), Expr::Input(j)) = (&**lhs, &**rhs) else { return None };
    if *op != BinaryKernel::Add as u32 || !sum.reads_in_place(*i) || !sum.reads_in_place(*j) {
        return None;
    }
    let numel: usize = sum.shape.iter().product();
    let live = |k: usize| slots[k].as_ref();
    for (x, y) in [(*i, *j), (*j, *i)] {
        let (x, y) = (&sum.inputs[x].buffer, &sum.inputs[y].buffer);
        if x == y {
            continue;
        }
        let Some(p) = (0..c).rev().find(|&k| live(k).is_some_and(|d| d.touches(x))) else { continue };
        let Some(product) = live(p).and_then(|d| d.matmul.as_ref()) else { continue };
        if &product.out != x || product.kernel.addend || product.len != numel {
            continue;
        }
        if (p + 1..c).any(|k| live(k).is_some_and(|d| d.writes(y) || d.touches(&sum.out))) {
            continue;
        }
        if !dead_after(slots, c, x, idle) {
            continue;
        }
        let operands = [&product.meta, &product.a, &product.b].into_iter().chain(product.bias.as_ref());
        if operands.into_iter().any(|b| b == &sum.out) || y == &sum.out {
            continue;
        }
        return Some((p, y.clone()));
    }
    None
}

/// Gives the matmul dispatch `d` the addend `addend` and the output `out`.
fn extend(ctx: &GpuContext, d: &mut Dispatch, out: wgpu::Buffer, addend: wgpu::Buffer) {
    let call = d.matmul.as_mut().expect("a matmul dispatch");
    call.kernel.addend = true;
    call.out = out;
    let pipeline = ctx.matmul_pipeline(call.kernel);
    let mut numbered: Vec<(u32, &wgpu::Buffer)> = vec![(0, &call.meta), (1, &call.a), (2, &call.b), (3, &call.out)];
    numbered.extend(call.bias.iter().map(|b| (4, b)));
    numbered.push((5, &addend));
    d.accesses = numbered.iter().map(|&(binding, b)| (b.clone(), binding == 3)).collect();
    let entries = numbered.iter().map(|&(binding, b)| (binding, b.clone())).collect();
    d.pipeline = pipeline;
    d.rebind(ctx, entries);
}
