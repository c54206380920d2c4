//! A recurrent layer's time loop as one primitive: the steps of an RNN, GRU
//! or LSTM from the input projections of every step, the recurrent weights
//! and an initial state. On a GPU it is one dispatch forward and one backward
//! (gpu/kernels/recurrence.rs) where `GpuContext::recurrence_fits` says so, instead
//! of a product and a cell per step each way.

use nnlab_gpu::{CellKind, RecurrenceInputs};

use super::{Data, common_device};
use crate::cpu::{sigmoid, tanh};
use crate::{Error, Op, Result, Storage, Tensor};

/// The sizes of a recurrence: steps T, rows N, hidden units H.
#[derive(Clone, Copy)]
struct Sizes {
    t: usize,
    n: usize,
    h: usize,
}

fn check(kind: CellKind, gx: &Tensor, w_hh: &Tensor, b_hh: Option<&Tensor>, state0: &Tensor) -> Result<Sizes> {
    let mut all = vec![gx, w_hh, state0];
    all.extend(b_hh);
    common_device("recurrence", &all)?;
    let (gs, ws) = (gx.shape(), w_hh.shape());
    let mismatch = |rhs: &[usize]| Error::ShapeMismatch { op: "recurrence", lhs: gs.to_vec(), rhs: rhs.to_vec() };
    if ws.len() != 2 || ws[0] != kind.gates() * ws[1] {
        return Err(mismatch(ws));
    }
    let h = ws[1];
    if gs.len() != 3 || gs[2] != kind.gates() * h {
        return Err(mismatch(ws));
    }
    let (t, n) = (gs[0], gs[1]);
    if state0.shape() != [kind.states(), n, h] {
        return Err(mismatch(state0.shape()));
    }
    if let Some(b) = b_hh
        && b.shape() != [kind.gates() * h]
    {
        return Err(mismatch(b.shape()));
    }
    Ok(Sizes { t, n, h })
}

/// The GPU kernel's inputs, from contiguous tensors (gx: its last axis).
fn gpu_inputs<'a>(
    kind: CellKind,
    s: &Sizes,
    gx: &'a Tensor,
    w: &'a Tensor,
    b: Option<&'a Tensor>,
    s0: &'a Tensor,
    reverse: bool,
) -> Option<RecurrenceInputs<'a>> {
    let buf = |t: &'a Tensor| match t.data() {
        Data::Gpu(_, b) => Some((b, t.layout().offset)),
        Data::Cpu(_) => None,
    };
    let st = &gx.layout().strides;
    Some(RecurrenceInputs {
        kind,
        steps: s.t,
        rows: s.n,
        hidden: s.h,
        gx: buf(gx)?,
        gx_strides: [st[0], st[1]],
        w_hh: buf(w)?,
        b_hh: match b {
            Some(b) => Some(buf(b)?),
            None => None,
        },
        state0: buf(s0)?,
        reverse,
    })
}

/// gx with its gates contiguous (its steps and rows may have any strides).
fn gates_contiguous(gx: &Tensor) -> Result<Tensor> {
    if gx.layout().strides[2] == 1 || gx.shape()[2] <= 1 { Ok(gx.clone()) } else { gx.contiguous() }
}

/// The recurrent projection of one state: b + W h, for every gate row.
fn project(w: &[f32], b: Option<&[f32]>, h: &[f32], out: &mut [f32]) {
    for (k, o) in out.iter_mut().enumerate() {
        let mut acc = b.map_or(0.0, |b| b[k]);
        for (wj, hj) in w[k * h.len()..(k + 1) * h.len()].iter().zip(h) {
            acc += wj * hj;
        }
        *o = acc;
    }
}

/// The activated gates of unit j from its input projection x and recurrent
/// projection p (as recurrence.wgsl's `gates`).
fn gates(kind: CellKind, x: &[f32], p: &[f32], j: usize, h: usize) -> [f32; 4] {
    match kind {
        CellKind::Lstm => [sigmoid(x[j] + p[j]), sigmoid(x[h + j] + p[h + j]), tanh(x[2 * h + j] + p[2 * h + j]), sigmoid(x[3 * h + j] + p[3 * h + j])],
        CellKind::Gru => {
            let r = sigmoid(x[j] + p[j]);
            [r, sigmoid(x[h + j] + p[h + j]), tanh(x[2 * h + j] + r * p[2 * h + j]), 0.0]
        }
        CellKind::RnnRelu => [(x[j] + p[j]).max(0.0), 0.0, 0.0, 0.0],
        CellKind::RnnTanh => [tanh(x[j] + p[j]), 0.0, 0.0, 0.0],
    }
}

/// The time index of the forward's p-th step.
fn time(p: usize, steps: usize, reverse: bool) -> usize {
    if reverse { steps - 1 - p } else { p }
}

/// Where the states [S, T + 1, N, H] keep each state: slot t + 1 the state
/// after time t and slot 0 the initial one, or reversed, slot t the state
/// after time t and slot T the initial one (recurrence.wgsl's `state_at`).
struct Slots {
    s: Sizes,
    reverse: bool,
}

impl Slots {
    /// The first element of row r's state in plane p (h, c) and slot j.
    fn at(&self, p: usize, j: usize, r: usize) -> usize {
        ((p * (self.s.t + 1) + j) * self.s.n + r) * self.s.h
    }

    fn after(&self, t: usize) -> usize {
        t + 1 - self.reverse as usize
    }

    fn before(&self, t: usize) -> usize {
        t + self.reverse as usize
    }

    fn initial(&self) -> usize {
        if self.reverse { self.s.t } else { 0 }
    }
}

impl Tensor {
    /// The states [S, T + 1, N, H] a recurrence goes through (h, then an
    /// LSTM's c; S = `kind.states()`) in time order: slot t + 1 holds the
    /// state after time t and slot 0 the initial state, or, when `reverse`
    /// (the steps run from the last), slot t the state after time t and slot
    /// T the initial one, so the states before the steps are one slice too.
    /// From the input projections gx [T, N, G*H] (biases the cell adds
    /// outside the reset gate included), the recurrent weights w_hh [G*H, H],
    /// a bias b_hh [G*H] added to the recurrent projection, and the initial
    /// state [S, N, H].
    pub fn recurrence(kind: CellKind, gx: &Tensor, w_hh: &Tensor, b_hh: Option<&Tensor>, state0: &Tensor, reverse: bool) -> Result<Tensor> {
        let s = check(kind, gx, w_hh, b_hh, state0)?;
        let shape = [kind.states(), s.t + 1, s.n, s.h];
        let (gxc, w, s0) = (gates_contiguous(gx)?, w_hh.contiguous()?, state0.contiguous()?);
        let b = b_hh.map(Tensor::contiguous).transpose()?;
        let (storage, saved) = match gxc.data() {
            Data::Gpu(ctx, _) => {
                if !ctx.recurrence_fits(kind, s.h, s.n) {
                    return Err(Error::Unsupported { op: "recurrence of this size", backend: "webgpu" });
                }
                let inputs = gpu_inputs(kind, &s, &gxc, &w, b.as_ref(), &s0, reverse).ok_or(Error::DeviceMismatch { op: "recurrence" })?;
                let (states, saved) = ctx.recurrence_forward(&inputs)?;
                (Storage::Gpu(states), Some(Tensor::from_storage(Storage::Gpu(saved), &[s.t, s.n, kind.gates() * s.h], None)))
            }
            Data::Cpu(_) => (Storage::Cpu(cpu_forward(kind, &s, &gxc, &w, b.as_ref(), &s0, reverse)?), None),
        };
        let op = Op::Recurrence { kind, gx: gx.clone(), w_hh: w_hh.clone(), b_hh: b_hh.cloned(), state0: state0.clone(), reverse, saved };
        Ok(Tensor::from_storage(storage, &shape, Some(op)))
    }

    /// The backward pass of `recurrence` for its `states` [S, T + 1, N, H] and
    /// their upstream gradient `grad`: a flat tensor holding [T, N, W] gate
    /// gradients (W = `kind.gradient_width(H)`: a GRU's input projection's
    /// r, z, n, then its recurrent projection's; the other cells' are one),
    /// then [S, N, H], the initial state's gradient. `saved`: what a GPU
    /// forward kept of each step (`Op::Recurrence`), which a GPU needs; the
    /// CPU computes it again. Not differentiable itself.
    #[allow(clippy::too_many_arguments)]
    pub fn recurrence_backward(
        kind: CellKind,
        gx: &Tensor,
        w_hh: &Tensor,
        b_hh: Option<&Tensor>,
        state0: &Tensor,
        reverse: bool,
        [states, grad]: [&Tensor; 2],
        saved: Option<&Tensor>,
    ) -> Result<Tensor> {
        let s = check(kind, gx, w_hh, b_hh, state0)?;
        let shape = [kind.states(), s.t + 1, s.n, s.h];
        common_device("recurrence_backward", &[gx, states, grad])?;
        for t in [states, grad] {
            if t.shape() != shape {
                return Err(Error::ShapeMismatch { op: "recurrence_backward", lhs: shape.to_vec(), rhs: t.shape().to_vec() });
            }
        }
        let (gx, w, s0) = (gates_contiguous(gx)?, w_hh.contiguous()?, state0.contiguous()?);
        let (b, states, grad) = (b_hh.map(Tensor::contiguous).transpose()?, states.contiguous()?, grad.contiguous()?);
        let len = s.t * s.n * kind.gradient_width(s.h) + kind.states() * s.n * s.h;
        let storage = match (gx.data(), states.data(), grad.data()) {
            (Data::Gpu(ctx, _), Data::Gpu(_, sb), Data::Gpu(_, gb)) => {
                if !ctx.recurrence_fits(kind, s.h, s.n) {
                    return Err(Error::Unsupported { op: "recurrence of this size", backend: "webgpu" });
                }
                let saved = match saved.map(|t| (t.shape() == [s.t, s.n, kind.gates() * s.h]).then(|| t.contiguous()).transpose()) {
                    Some(Ok(Some(t))) => t,
                    Some(Err(e)) => return Err(e),
                    _ => {
                        return Err(Error::InvalidArgument {
                            op: "recurrence_backward",
                            reason: "a GPU needs the pre-activations its forward pass saved".into(),
                        });
                    }
                };
                let Data::Gpu(_, pb) = saved.data() else { return Err(Error::DeviceMismatch { op: "recurrence_backward" }) };
                let inputs = gpu_inputs(kind, &s, &gx, &w, b.as_ref(), &s0, reverse).ok_or(Error::DeviceMismatch { op: "recurrence_backward" })?;
                let at = |t: &Tensor| t.layout().offset;
                Storage::Gpu(ctx.recurrence_backward(&inputs, [(sb, at(&states)), (pb, at(&saved)), (gb, at(&grad))])?)
            }
            _ => Storage::Cpu(cpu_backward(kind, &s, [&gx, &w, &states, &grad], b.as_ref(), reverse)?),
        };
        Ok(Tensor::from_storage(storage, &[len], None))
    }
}

fn cpu_forward(kind: CellKind, s: &Sizes, gx: &Tensor, w: &Tensor, b: Option<&Tensor>, s0: &Tensor, reverse: bool) -> Result<Vec<f32>> {
    let name = "recurrence";
    let (gxv, wv, s0v) = (gx.cpu_contiguous(name)?, w.cpu_contiguous(name)?, s0.cpu_contiguous(name)?);
    let bv = b.map(|b| b.cpu_contiguous(name)).transpose()?;
    let Sizes { t: steps, n, h } = *s;
    let slots = Slots { s: *s, reverse };
    let gh = kind.gates() * h;
    let mut out = vec![0.0; kind.states() * (steps + 1) * n * h];
    let mut p = vec![0.0; gh];
    let lstm = kind == CellKind::Lstm;
    for r in 0..n {
        let mut hs = s0v[r * h..(r + 1) * h].to_vec();
        let mut cs = if lstm { s0v[(n + r) * h..(n + r + 1) * h].to_vec() } else { vec![0.0; h] };
        let (at, c_at) = (slots.at(0, slots.initial(), r), slots.at(1, slots.initial(), r));
        out[at..at + h].copy_from_slice(&hs);
        if lstm {
            out[c_at..c_at + h].copy_from_slice(&cs);
        }
        for i in 0..steps {
            let t = time(i, steps, reverse);
            project(&wv, bv.as_deref(), &hs, &mut p);
            let x = &gxv[(t * n + r) * gh..(t * n + r + 1) * gh];
            let (at, c_at) = (slots.at(0, slots.after(t), r), slots.at(1, slots.after(t), r));
            for j in 0..h {
                let g = gates(kind, x, &p, j, h);
                hs[j] = match kind {
                    CellKind::Lstm => {
                        cs[j] = g[1] * cs[j] + g[0] * g[2];
                        out[c_at + j] = cs[j];
                        g[3] * tanh(cs[j])
                    }
                    CellKind::Gru => g[2] + g[1] * (hs[j] - g[2]),
                    _ => g[0],
                };
                out[at + j] = hs[j];
            }
        }
    }
    Ok(out)
}

/// `inputs`: gx, w_hh, the forward's states and their gradient.
fn cpu_backward(kind: CellKind, s: &Sizes, inputs: [&Tensor; 4], b: Option<&Tensor>, reverse: bool) -> Result<Vec<f32>> {
    let name = "recurrence_backward";
    let [gxv, wv, sv, dv] = inputs.map(|t| t.cpu_contiguous(name));
    let (gxv, wv, sv, dv) = (gxv?, wv?, sv?, dv?);
    let bv = b.map(|b| b.cpu_contiguous(name)).transpose()?;
    let Sizes { t: steps, n, h } = *s;
    let slots = Slots { s: *s, reverse };
    let (gh, gw) = (kind.gates() * h, kind.gradient_width(h));
    let lstm = kind == CellKind::Lstm;
    let mut out = vec![0.0; steps * n * gw + kind.states() * n * h];
    let (mut p, mut dg) = (vec![0.0; gh], vec![0.0; gh]);
    for r in 0..n {
        let (mut dh, mut dc, mut direct) = (vec![0.0; h], vec![0.0; h], vec![0.0; h]);
        for pos in (0..steps).rev() {
            let t = time(pos, steps, reverse);
            // The state before this step, and where the gradients of the one after it are.
            let (before, c_before) = (slots.at(0, slots.before(t), r), slots.at(1, slots.before(t), r));
            let (hp, cp): (&[f32], &[f32]) = (&sv[before..before + h], if lstm { &sv[c_before..c_before + h] } else { &[] });
            let (after, c_after) = (slots.at(0, slots.after(t), r), slots.at(1, slots.after(t), r));
            project(&wv, bv.as_deref(), hp, &mut p);
            let x = &gxv[(t * n + r) * gh..(t * n + r + 1) * gh];
            let d = (t * n + r) * gw;
            for j in 0..h {
                let dht = dv[after + j] + dh[j];
                let g = gates(kind, x, &p, j, h);
                // The gradients of the input and the recurrent projection per gate.
                let (dx, dp) = match kind {
                    CellKind::Lstm => {
                        let c1 = g[1] * cp[j] + g[0] * g[2];
                        let th = tanh(c1);
                        let dct = dv[c_after + j] + dc[j] + dht * g[3] * (1.0 - th * th);
                        dc[j] = dct * g[1];
                        let v = [
                            dct * g[2] * g[0] * (1.0 - g[0]),
                            dct * cp[j] * g[1] * (1.0 - g[1]),
                            dct * g[0] * (1.0 - g[2] * g[2]),
                            dht * th * g[3] * (1.0 - g[3]),
                        ];
                        (v, v)
                    }
                    CellKind::Gru => {
                        let dn = dht * (1.0 - g[1]) * (1.0 - g[2] * g[2]);
                        let dr = dn * p[2 * h + j] * g[0] * (1.0 - g[0]);
                        let dz = dht * (hp[j] - g[2]) * g[1] * (1.0 - g[1]);
                        direct[j] = dht * g[1];
                        ([dr, dz, dn, 0.0], [dr, dz, dn * g[0], 0.0])
                    }
                    CellKind::RnnRelu => {
                        let v = [if g[0] > 0.0 { dht } else { 0.0 }, 0.0, 0.0, 0.0];
                        (v, v)
                    }
                    CellKind::RnnTanh => {
                        let v = [dht * (1.0 - g[0] * g[0]), 0.0, 0.0, 0.0];
                        (v, v)
                    }
                };
                for q in 0..kind.gates() {
                    out[d + q * h + j] = dx[q];
                    dg[q * h + j] = dp[q];
                    if kind == CellKind::Gru {
                        out[d + gh + q * h + j] = dp[q];
                    }
                }
            }
            for j in 0..h {
                let mut acc = direct[j];
                for (m, g) in dg.iter().enumerate() {
                    acc += g * wv[m * h + j];
                }
                dh[j] = acc;
            }
        }
        // The initial state's gradient: through the steps, and its own slot's.
        let base = steps * n * gw;
        let (at, c_at) = (slots.at(0, slots.initial(), r), slots.at(1, slots.initial(), r));
        for j in 0..h {
            out[base + r * h + j] = dh[j] + dv[at + j];
            if lstm {
                out[base + (n + r) * h + j] = dc[j] + dv[c_at + j];
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::CellKind;
    use crate::ops::cpu_values as values;
    use crate::{Device, Result, Tensor};

    fn input(shape: &[usize], seed: u64) -> Tensor {
        Tensor::rand_uniform(shape, -0.9, 0.9, seed, 0, &Device::Cpu).unwrap().requires_grad_()
    }

    /// The same steps from primitives, one product and one cell per step.
    fn unrolled(kind: CellKind, gx: &Tensor, w: &Tensor, b: Option<&Tensor>, s0: &Tensor, reverse: bool) -> Result<Tensor> {
        let (t, n, h) = (gx.shape()[0], gx.shape()[1], w.shape()[1]);
        let chunk = |x: &Tensor, k: usize| x.narrow(1, k * h, h);
        let mut hs = s0.narrow(0, 0, 1)?.reshape(&[n, h])?;
        let mut cs = (kind == CellKind::Lstm).then(|| s0.narrow(0, 1, 1)?.reshape(&[n, h])).transpose()?;
        let (mut h_at, mut c_at) = (vec![None; t], vec![None; t]);
        for i in 0..t {
            let ti = if reverse { t - 1 - i } else { i };
            let x = gx.narrow(0, ti, 1)?.reshape(&[n, kind.gates() * h])?;
            let p = hs.matmul(&w.t()?)?;
            let p = match b {
                Some(b) => p.add(b)?,
                None => p,
            };
            hs = match kind {
                CellKind::RnnTanh => x.add(&p)?.tanh()?,
                CellKind::RnnRelu => x.add(&p)?.relu()?,
                CellKind::Gru => {
                    let r = chunk(&x, 0)?.add(&chunk(&p, 0)?)?.sigmoid()?;
                    let z = chunk(&x, 1)?.add(&chunk(&p, 1)?)?.sigmoid()?;
                    let nn = chunk(&x, 2)?.add(&r.mul(&chunk(&p, 2)?)?)?.tanh()?;
                    nn.add(&z.mul(&hs.sub(&nn)?)?)?
                }
                CellKind::Lstm => {
                    let hc = Tensor::lstm_cell(&x.add(&p)?, cs.as_ref().unwrap())?;
                    cs = Some(hc.narrow(0, 1, 1)?.reshape(&[n, h])?);
                    hc.narrow(0, 0, 1)?.reshape(&[n, h])?
                }
            };
            h_at[ti] = Some(hs.unsqueeze(0)?);
            c_at[ti] = cs.as_ref().map(|c| c.unsqueeze(0)).transpose()?;
        }
        // The initial state first, or last when reversed.
        let stack = |v: Vec<Option<Tensor>>, initial: Tensor| {
            let mut v: Vec<Tensor> = v.into_iter().map(Option::unwrap).collect();
            v.insert(if reverse { t } else { 0 }, initial);
            Tensor::concat(&v, 0)?.unsqueeze(0)
        };
        let plane = |p: usize| s0.narrow(0, p, 1);
        if kind == CellKind::Lstm { Tensor::concat(&[stack(h_at, plane(0)?)?, stack(c_at, plane(1)?)?], 0) } else { stack(h_at, plane(0)?) }
    }

    /// The fused recurrence against the unrolled one: states, and the
    /// gradients of a weighted sum of them with respect to every input.
    #[test]
    fn the_recurrence_equals_its_steps_and_so_do_its_gradients() {
        let kinds = [CellKind::RnnTanh, CellKind::RnnRelu, CellKind::Gru, CellKind::Lstm];
        for (case, kind) in kinds.into_iter().enumerate() {
            for reverse in [false, true] {
                let (t, n, h) = (4, 3, 5);
                let seed = 10 * case as u64 + reverse as u64;
                let gx = input(&[t, n, kind.gates() * h], seed);
                let w = input(&[kind.gates() * h, h], seed + 100);
                let b = input(&[kind.gates() * h], seed + 200);
                let s0 = input(&[kind.states(), n, h], seed + 300);
                let weights = Tensor::rand_uniform(&[kind.states(), t + 1, n, h], -1.0, 1.0, seed + 400, 0, &Device::Cpu).unwrap();
                let fused = Tensor::recurrence(kind, &gx, &w, Some(&b), &s0, reverse).unwrap();
                let reference = unrolled(kind, &gx, &w, Some(&b), &s0, reverse).unwrap();
                let gf = fused.mul(&weights).unwrap().backward().unwrap();
                let gr = reference.mul(&weights).unwrap().backward().unwrap();
                let mut pairs = vec![("states", values(&fused), values(&reference))];
                for (name, x) in [("gx", &gx), ("w_hh", &w), ("b_hh", &b), ("state0", &s0)] {
                    pairs.push((name, values(gf.get(x).unwrap()), values(gr.get(x).unwrap())));
                }
                for (name, got, want) in pairs {
                    assert_eq!(got.len(), want.len(), "{kind:?} {name}");
                    for (i, (a, e)) in got.iter().zip(&want).enumerate() {
                        assert!((a - e).abs() <= 1e-5 + 1e-5 * e.abs(), "{kind:?} reverse {reverse} {name}[{i}]: {a} vs {e}");
                    }
                }
            }
        }
    }

    #[test]
    fn shapes_that_do_not_fit_are_errors() {
        let gx = input(&[2, 3, 8], 1);
        let w = input(&[8, 2], 2);
        let s0 = input(&[2, 3, 2], 3);
        assert!(Tensor::recurrence(CellKind::Lstm, &gx, &w, None, &s0, false).is_ok());
        assert!(Tensor::recurrence(CellKind::Gru, &gx, &w, None, &s0, false).is_err());
        assert!(Tensor::recurrence(CellKind::Lstm, &gx, &w, None, &input(&[1, 3, 2], 4), false).is_err());
        assert!(Tensor::recurrence(CellKind::Lstm, &gx, &w, Some(&input(&[7], 5)), &s0, false).is_err());
    }
}
