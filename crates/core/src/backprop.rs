//! Reverse-mode autograd: a topological sort of the recorded graph, then one
//! backward rule per `Op` variant in a single exhaustive match. Backward runs
//! without recording (no higher-order gradients).

use std::cell::Cell;
use std::collections::{HashMap, HashSet};

use crate::{BinaryOp, CellKind, Op, ReduceOp, Result, Tensor, TensorId};

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
}

pub(crate) fn grad_enabled() -> bool {
    GRAD_ENABLED.with(Cell::get)
}

/// Restores the previous gradient-tracking state when dropped.
pub struct NoGradGuard(bool);

/// Stops recording ops until the guard drops (inference, optimizer updates).
pub fn no_grad() -> NoGradGuard {
    NoGradGuard(GRAD_ENABLED.with(|g| g.replace(false)))
}

impl Drop for NoGradGuard {
    fn drop(&mut self) {
        GRAD_ENABLED.with(|g| g.set(self.0));
    }
}

/// Gradients keyed by tensor id.
#[derive(Default)]
pub struct GradStore(HashMap<TensorId, Tensor>);

/// Gradients of slices (`narrow`) of a tensor, held back until every consumer
/// of the tensor has given its part: slices that tile an axis (Q, K and V cut
/// from one projection, the time steps of a sequence) then become one concat
/// instead of a zero-padded copy and an add per slice.
#[derive(Default)]
struct SliceGrads(HashMap<TensorId, Vec<(usize, usize, Tensor)>>);

impl SliceGrads {
    fn push(&mut self, x: &Tensor, axis: usize, start: usize, g: Tensor) {
        self.0.entry(x.id()).or_default().push((axis, start, g));
    }

    /// Moves the slices given for `x` into its gradient.
    fn settle(&mut self, x: &Tensor, grads: &mut GradStore) -> Result<()> {
        let Some(mut parts) = self.0.remove(&x.id()) else { return Ok(()) };
        parts.sort_by_key(|p| (p.0, p.1));
        let axis = parts[0].0;
        let mut end = 0;
        let tiles = parts.iter().all(|(a, start, g)| {
            let fits = *a == axis && *start == end;
            end += g.shape()[axis];
            fits
        }) && end == x.shape()[axis];
        if tiles && parts.len() > 1 {
            let gs: Vec<Tensor> = parts.into_iter().map(|p| p.2).collect();
            return grads.accumulate(x, Tensor::concat(&gs, axis)?);
        }
        for (axis, start, g) in parts {
            grads.accumulate(x, narrow_grad(x, axis, start, &g)?)?;
        }
        Ok(())
    }
}

/// The gradient of `x` through `x.narrow(axis, start, ..)` with gradient g: g
/// zero-padded back to x's shape.
fn narrow_grad(x: &Tensor, axis: usize, start: usize, g: &Tensor) -> Result<Tensor> {
    let mut pads = vec![(0, 0); x.rank()];
    pads[axis] = (start, x.shape()[axis] - start - g.shape()[axis]);
    g.pad(&pads)
}

impl GradStore {
    pub fn get(&self, t: &Tensor) -> Option<&Tensor> {
        self.0.get(&t.id())
    }
    /// Replaces the gradient of `t` (clipping, noise).
    pub fn insert(&mut self, t: &Tensor, g: Tensor) {
        self.0.insert(t.id(), g);
    }
    pub fn remove(&mut self, t: &Tensor) -> Option<Tensor> {
        self.0.remove(&t.id())
    }
    fn accumulate(&mut self, t: &Tensor, g: Tensor) -> Result<()> {
        let g = match self.0.remove(&t.id()) {
            Some(prev) => prev.add(&g)?,
            None => g,
        };
        self.0.insert(t.id(), g);
        Ok(())
    }
}

/// Nodes reachable from `root` through tensors that require gradients, with
/// every node after all the nodes that consume it.
fn topo_order(root: &Tensor) -> Vec<Tensor> {
    let mut order = Vec::new();
    let mut seen = HashSet::new();
    // Iterative DFS: deep graphs (long RNN unrolls) must not overflow the stack.
    let mut stack = vec![(root.clone(), false)];
    while let Some((t, expanded)) = stack.pop() {
        if expanded {
            order.push(t);
            continue;
        }
        if !seen.insert(t.id()) {
            continue;
        }
        stack.push((t.clone(), true));
        if let Some(op) = t.op() {
            for input in op.inputs() {
                if input.requires_grad() && !seen.contains(&input.id()) {
                    stack.push((input.clone(), false));
                }
            }
        }
    }
    order.reverse();
    order
}

impl Tensor {
    /// Gradients of the sum of `self` with respect to every tensor it depends on
    /// that requires gradients.
    pub fn backward(&self) -> Result<GradStore> {
        let _guard = crate::no_grad();
        let mut grads = GradStore::default();
        if !self.requires_grad() {
            return Ok(grads);
        }
        grads.0.insert(self.id(), Tensor::ones(self.shape(), &self.device())?);
        let mut slices = SliceGrads::default();
        for node in topo_order(self) {
            // Every consumer of node came before it: its slices are all in.
            slices.settle(&node, &mut grads)?;
            let Some(op) = node.op() else { continue };
            let Some(g) = grads.0.get(&node.id()).cloned() else { continue };
            if let Op::Narrow { x, axis, start } = op {
                if x.requires_grad() {
                    slices.push(x, *axis, *start, g);
                }
                continue;
            }
            for (input, grad) in backward_rule(op, &node, &g)? {
                if input.requires_grad() {
                    grads.accumulate(input, grad)?;
                }
            }
        }
        Ok(grads)
    }
}

/// The gradients of alpha * (a @ b) for the inputs that take one.
fn matmul_grads<'a>(a: &'a Tensor, b: &'a Tensor, g: &Tensor, alpha: f32) -> Result<Vec<(&'a Tensor, Tensor)>> {
    let mut grads = Vec::new();
    grad_for(&mut grads, a, || g.matmul_scaled(&b.t()?, alpha)?.sum_to(a.shape()))?;
    grad_for(&mut grads, b, || {
        if b.rank() == 2 && a.rank() > 2 && b.numel() > 0 {
            // A matrix shared by the batch: one [K, B*M] @ [B*M, N] product
            // instead of B products and a sum over them.
            let (k, n) = (b.shape()[0], b.shape()[1]);
            let (a, g) = (a.reshape(&[a.numel() / k, k])?, g.reshape(&[g.numel() / n, n])?);
            if transposed(b) {
                // b is a weight's transpose (x @ W^T): computing (g^T a)^T
                // leaves W's own gradient contiguous, so the optimizer needs no copy.
                g.t()?.matmul_scaled(&a, alpha)?.t()
            } else {
                a.t()?.matmul_scaled(&g, alpha)
            }
        } else if b.rank() == 2 && transposed(b) {
            g.t()?.matmul_scaled(a, alpha)?.t()
        } else {
            a.t()?.matmul_scaled(g, alpha)?.sum_to(b.shape())
        }
    })?;
    Ok(grads)
}

/// A matrix stored column by column: a transposed view.
fn transposed(m: &Tensor) -> bool {
    let (r, st) = (m.rank(), &m.layout().strides);
    st[r - 2] == 1 && st[r - 1] != 1 && m.shape()[r - 1] > 1
}

/// Adds `x`'s gradient to `grads` only when `x` takes one: data (images,
/// sequences, constants) needs none, and computing it would cost whole kernels.
fn grad_for<'a>(grads: &mut Vec<(&'a Tensor, Tensor)>, x: &'a Tensor, grad: impl FnOnce() -> Result<Tensor>) -> Result<()> {
    if x.requires_grad() {
        grads.push((x, grad()?));
    }
    Ok(())
}

fn zero(like: &Tensor) -> Result<Tensor> {
    Tensor::scalar(0.0, &like.device())
}

/// The gradient contributions of one node to its inputs.
fn backward_rule<'a>(op: &'a Op, out: &Tensor, g: &Tensor) -> Result<Vec<(&'a Tensor, Tensor)>> {
    Ok(match op {
        Op::Unary(x, u) => vec![(x, x.unary_backward(g, *u)?)],
        Op::Binary(a, b, bop) => {
            let mut grads = Vec::new();
            grad_for(&mut grads, a, || {
                match bop {
                    BinaryOp::Add | BinaryOp::Sub => Ok(g.clone()),
                    BinaryOp::Mul => g.mul(b),
                    BinaryOp::Div => g.div(b),
                    BinaryOp::Max => g.mul(&a.ge(b)?),
                    BinaryOp::Min => g.mul(&a.le(b)?),
                }?
                .sum_to(a.shape())
            })?;
            grad_for(&mut grads, b, || {
                match bop {
                    BinaryOp::Add => Ok(g.clone()),
                    BinaryOp::Sub => g.neg(),
                    BinaryOp::Mul => g.mul(a),
                    BinaryOp::Div => g.mul(a)?.div(&b.square()?)?.neg(),
                    BinaryOp::Max => g.mul(&a.lt(b)?),
                    BinaryOp::Min => g.mul(&a.gt(b)?),
                }?
                .sum_to(b.shape())
            })?;
            grads
        }
        Op::Where(mask, t, f) => {
            let z = zero(g)?;
            vec![(t, mask.where_(g, &z)?.sum_to(t.shape())?), (f, mask.where_(&z, g)?.sum_to(f.shape())?)]
        }
        Op::Reduce { x, op, axes } => {
            let gx = match op {
                ReduceOp::Sum => g.broadcast_to(x.shape())?,
                ReduceOp::Mean => {
                    let n: usize = axes.iter().map(|&a| x.shape()[a]).product();
                    g.mul_scalar(1.0 / n as f32)?.broadcast_to(x.shape())?
                }
                // Ties share the gradient equally (as torch.amax / amin).
                ReduceOp::Max | ReduceOp::Min => {
                    let hit = x.eq(&out.broadcast_to(x.shape())?)?;
                    let axes: Vec<isize> = axes.iter().map(|&a| a as isize).collect();
                    let count = hit.sum(&axes, true)?;
                    hit.mul(&g.div(&count)?)?
                }
                ReduceOp::ArgMax => unreachable!("argmax is never recorded"),
            };
            vec![(x, gx)]
        }
        Op::Matmul(a, b, alpha) => matmul_grads(a, b, g, *alpha)?,
        Op::MatmulBias(a, b, bias) => {
            let mut grads = matmul_grads(a, b, g, 1.0)?;
            grad_for(&mut grads, bias, || g.sum_to(bias.shape()))?;
            grads
        }
        Op::Rows { x, op, affine: None } => vec![(x, Tensor::rows_backward(x, g, *op)?)],
        Op::Rows { x, op, affine: Some((w, b)) } => {
            let (gx, gw) = Tensor::layer_norm_affine_backward(x, g, w, *op)?;
            let mut grads = vec![(x, gx)];
            grad_for(&mut grads, w, || gw.sum_to(w.shape()))?;
            grad_for(&mut grads, b, || g.sum_to(b.shape()))?;
            grads
        }
        Op::Conv2d { x, w, b, p } => {
            let xs = [x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]];
            let ws = [w.shape()[0], w.shape()[1], w.shape()[2], w.shape()[3]];
            let mut grads = Vec::new();
            grad_for(&mut grads, x, || Tensor::conv2d_input_grad(g, w, xs, *p))?;
            grad_for(&mut grads, w, || Tensor::conv2d_weight_grad(x, g, ws, *p))?;
            if let Some(b) = b {
                grad_for(&mut grads, b, || g.sum(&[0, 2, 3], false))?;
            }
            grads
        }
        Op::MaxPool2d { x, p } => vec![(x, Tensor::pool2d_backward(x, g, *p, false)?)],
        Op::AvgPool2d { x, p } => vec![(x, Tensor::pool2d_backward(x, g, *p, true)?)],
        Op::IndexSelect { x, axis, index } => vec![(x, Tensor::zeros(x.shape(), &x.device())?.scatter_add(*axis, index, g)?)],
        Op::ScatterAdd { base, axis, index, src } => vec![(base, g.clone()), (src, g.index_select(*axis, index)?)],
        Op::Concat { xs, axis } => {
            let mut start = 0;
            let mut out = Vec::with_capacity(xs.len());
            for x in xs {
                let len = x.shape()[*axis];
                out.push((x, g.narrow(*axis, start, len)?));
                start += len;
            }
            out
        }
        Op::Narrow { x, axis, start } => vec![(x, narrow_grad(x, *axis, *start, g)?)],
        Op::Reshape(x) => vec![(x, g.reshape(x.shape())?)],
        Op::Permute(x, dims) => {
            let mut inverse = vec![0; dims.len()];
            for (i, &d) in dims.iter().enumerate() {
                inverse[d] = i;
            }
            vec![(x, g.permute(&inverse)?)]
        }
        Op::Expand(x) => vec![(x, g.sum_to(x.shape())?)],
        Op::Pad { x, pads } => {
            let mut gx = g.clone();
            for (axis, &(before, _)) in pads.iter().enumerate() {
                gx = gx.narrow(axis, before, x.shape()[axis])?;
            }
            vec![(x, gx)]
        }
        // d/dx_i sum_j>=i g_j = total - (prefix up to i) + g_i
        Op::Cumsum { x, axis } => {
            let total = g.sum(&[*axis as isize], true)?;
            vec![(x, total.sub(&g.cumsum(*axis as isize)?)?.add(g)?)]
        }
        Op::Contiguous(x) => vec![(x, g.clone())],
        Op::CrossEntropy { logits, labels } => vec![(logits, Tensor::cross_entropy_backward(logits, labels, g)?)],
        Op::LstmCell { gates, c } => {
            // One fused kernel: [N, 5H] = gradient of the gates, then of the cell state.
            let both = Tensor::lstm_cell_backward(gates, c, g)?;
            let h4 = gates.shape()[1];
            vec![(gates, both.narrow(1, 0, h4)?), (c, both.narrow(1, h4, h4 / 4)?)]
        }
        Op::AttentionScan { s, v, state } => {
            let (ds, dv) = Tensor::attention_scan_grads(s, v, state, out, g)?;
            vec![(s, ds), (v, dv)]
        }
        Op::SsmScan { a, w, u, states } => {
            let ([da_re, da_im], [dw_re, dw_im], du) = Tensor::ssm_scan_grads([&a[0], &a[1]], [&w[0], &w[1]], u, states.as_ref(), g)?;
            vec![(&a[0], da_re), (&a[1], da_im), (&w[0], dw_re), (&w[1], dw_im), (u, du)]
        }
        Op::Recurrence { kind, gx, w_hh, b_hh, state0, reverse, saved } => {
            recurrence_grads(*kind, [gx, w_hh, state0], b_hh.as_ref(), *reverse, [out, g], saved.as_ref())?
        }
    })
}

/// The gradients of a recurrence (one backward kernel for the gates and the
/// initial state), then the recurrent weights' as one product over every
/// step: sum over t of the gate gradient at t times the state before t,
/// which the states hold as one slice.
fn recurrence_grads<'a>(
    kind: CellKind,
    [gx, w_hh, state0]: [&'a Tensor; 3],
    b_hh: Option<&'a Tensor>,
    reverse: bool,
    [states, g]: [&Tensor; 2],
    saved: Option<&Tensor>,
) -> Result<Vec<(&'a Tensor, Tensor)>> {
    let (t, n, h) = (gx.shape()[0], gx.shape()[1], w_hh.shape()[1]);
    let gh = kind.gates() * h;
    let flat = Tensor::recurrence_backward(kind, gx, w_hh, b_hh, state0, reverse, [states, g], saved)?;
    let width = kind.gradient_width(h);
    let gates = flat.narrow(0, 0, t * n * width)?.reshape(&[t * n, width])?;
    // A GRU's recurrent projection has its own gradient, after the input's.
    let recurrent = gates.narrow(1, width - gh, gh)?;
    let mut grads = Vec::new();
    grad_for(&mut grads, gx, || gates.narrow(1, 0, gh)?.reshape(&[t, n, gh]))?;
    grad_for(&mut grads, state0, || flat.narrow(0, t * n * width, kind.states() * n * h)?.reshape(&[kind.states(), n, h]))?;
    grad_for(&mut grads, w_hh, || {
        // The states before the steps, in time order: slots 0..T of h, or 1..=T reversed.
        let before = states.narrow(0, 0, 1)?.narrow(1, reverse as usize, t)?;
        recurrent.t()?.matmul(&before.reshape(&[t * n, h])?)
    })?;
    if let Some(b) = b_hh {
        grad_for(&mut grads, b, || recurrent.sum(&[0], false))?;
    }
    Ok(grads)
}
