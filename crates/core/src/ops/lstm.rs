//! The LSTM cell as one primitive: a recurrent step would otherwise be a
//! dozen elementwise ops forward and several dozen backward, each its own GPU
//! dispatch. Gates are in PyTorch's order (input, forget, cell, output).

use super::{Data, common_device};
use crate::cpu::{sigmoid, tanh};
use crate::{Error, Op, Result, Storage, Tensor};

/// The four gate blocks (i, f, g, o), each of length h, of one row of gates
/// [N, 4H]. The CPU loops index them and the rows of c and the output, all
/// re-sliced to h, so they run without bounds checks and vectorise.
fn blocks(row: &[f32], h: usize) -> [&[f32]; 4] {
    let (i, rest) = row.split_at(h);
    let (f, rest) = rest.split_at(h);
    let (g, o) = rest.split_at(h);
    [i, f, g, &o[..h]]
}

fn check(gates: &Tensor, c: &Tensor) -> Result<(usize, usize)> {
    common_device("lstm_cell", &[gates, c])?;
    let (gs, cs) = (gates.shape(), c.shape());
    if gs.len() != 2 || cs.len() != 2 || gs[0] != cs[0] || gs[1] != 4 * cs[1] {
        return Err(Error::ShapeMismatch { op: "lstm_cell", lhs: gs.to_vec(), rhs: cs.to_vec() });
    }
    Ok((cs[0], cs[1]))
}

impl Tensor {
    /// [2, N, H]: h' = o * tanh(c'), then c' = f * c + i * g, from gates
    /// [N, 4H] (pre-activation i, f, g, o) and the cell state c [N, H]. Each
    /// half is contiguous, so taking h' or c' out of it copies nothing.
    pub fn lstm_cell(gates: &Tensor, c: &Tensor) -> Result<Tensor> {
        let (n, h) = check(gates, c)?;
        let op = Some(Op::LstmCell { gates: gates.clone(), c: c.clone() });
        let (gates, c) = (gates.contiguous()?, c.contiguous()?);
        let storage = match (gates.data(), c.data()) {
            (Data::Gpu(ctx, gb), Data::Gpu(_, cb)) => Storage::Gpu(ctx.lstm_cell(gb, gates.layout().offset, cb, c.layout().offset, n, h, None)?),
            _ => {
                let (gv, cv) = (gates.cpu_contiguous("lstm_cell")?, c.cpu_contiguous("lstm_cell")?);
                let mut out = vec![0.0; n * 2 * h];
                let (out_h, out_c) = out.split_at_mut(n * h);
                // chunks_exact needs a non-zero size; with h = 0 every slice is empty.
                let w = h.max(1);
                let rows = gv.chunks_exact(4 * w).zip(cv.chunks_exact(w)).zip(out_h.chunks_exact_mut(w).zip(out_c.chunks_exact_mut(w)));
                for ((row, cp), (hr, cr)) in rows {
                    let [gi, gf, gg, go] = blocks(row, h);
                    let (cp, hr, cr) = (&cp[..h], &mut hr[..h], &mut cr[..h]);
                    for j in 0..h {
                        let c1 = sigmoid(gf[j]) * cp[j] + sigmoid(gi[j]) * tanh(gg[j]);
                        hr[j] = sigmoid(go[j]) * tanh(c1);
                        cr[j] = c1;
                    }
                }
                Storage::Cpu(out)
            }
        };
        Ok(Tensor::from_storage(storage, &[2, n, h], op))
    }

    /// The backward pass of `lstm_cell` for the upstream gradient `grad`
    /// [2, N, H] (of h', then c'): [N, 5H], the gradient of the gates, then of c.
    /// Not differentiable itself.
    pub fn lstm_cell_backward(gates: &Tensor, c: &Tensor, grad: &Tensor) -> Result<Tensor> {
        let (n, h) = check(gates, c)?;
        common_device("lstm_cell_backward", &[gates, grad])?;
        if grad.shape() != [2, n, h] {
            return Err(Error::ShapeMismatch { op: "lstm_cell_backward", lhs: vec![2, n, h], rhs: grad.shape().to_vec() });
        }
        let (gates, c, grad) = (gates.contiguous()?, c.contiguous()?, grad.contiguous()?);
        let storage = match (gates.data(), c.data(), grad.data()) {
            (Data::Gpu(ctx, gb), Data::Gpu(_, cb), Data::Gpu(_, db)) => {
                Storage::Gpu(ctx.lstm_cell(gb, gates.layout().offset, cb, c.layout().offset, n, h, Some((db, grad.layout().offset)))?)
            }
            _ => {
                let (gv, cv, dv) = (gates.cpu_contiguous("lstm_cell")?, c.cpu_contiguous("lstm_cell")?, grad.cpu_contiguous("lstm_cell")?);
                let mut out = vec![0.0; n * 5 * h];
                let (dh_all, dc_all) = dv.split_at(n * h);
                let w = h.max(1);
                let rows = gv.chunks_exact(4 * w).zip(cv.chunks_exact(w)).zip(dh_all.chunks_exact(w).zip(dc_all.chunks_exact(w)));
                for (((row, cp), (dh, dc_out)), grads) in rows.zip(out.chunks_exact_mut(5 * w)) {
                    let [gi, gf, gg, go] = blocks(row, h);
                    let (cp, dh, dc_out) = (&cp[..h], &dh[..h], &dc_out[..h]);
                    let (di, rest) = grads.split_at_mut(h);
                    let (df, rest) = rest.split_at_mut(h);
                    let (dg, rest) = rest.split_at_mut(h);
                    let (d_o, dcp) = rest.split_at_mut(h);
                    let dcp = &mut dcp[..h];
                    for j in 0..h {
                        let (i, f, g, o) = (sigmoid(gi[j]), sigmoid(gf[j]), tanh(gg[j]), sigmoid(go[j]));
                        let c1 = f * cp[j] + i * g;
                        let t = tanh(c1);
                        let dc = dc_out[j] + dh[j] * o * (1.0 - t * t);
                        di[j] = dc * g * i * (1.0 - i);
                        df[j] = dc * cp[j] * f * (1.0 - f);
                        dg[j] = dc * i * (1.0 - g * g);
                        d_o[j] = dh[j] * t * o * (1.0 - o);
                        dcp[j] = dc * f;
                    }
                }
                Storage::Cpu(out)
            }
        };
        Ok(Tensor::from_storage(storage, &[n, 5 * h], None))
    }
}

#[cfg(test)]
mod tests {
    use crate::ops::cpu_values as values;
    use crate::{Device, Tensor};

    fn tensor(data: Vec<f32>, shape: &[usize]) -> Tensor {
        Tensor::from_vec(data, shape, &Device::Cpu).unwrap()
    }

    #[test]
    fn a_cell_of_no_units_is_empty() {
        let (gates, c) = (tensor(vec![], &[3, 0]), tensor(vec![], &[3, 0]));
        assert_eq!(Tensor::lstm_cell(&gates, &c).unwrap().shape(), [2, 3, 0]);
        let grad = tensor(vec![], &[2, 3, 0]);
        assert_eq!(Tensor::lstm_cell_backward(&gates, &c, &grad).unwrap().shape(), [3, 0]);
    }

    /// Every unit of every row against the cell's formulas in f64, so a gate
    /// block read from the wrong offset fails here, not only in parity runs.
    #[test]
    fn each_unit_follows_the_cell_formulas() {
        let (n, h) = (2, 3);
        let gv: Vec<f32> = (0..n * 4 * h).map(|k| ((k * 7) % 13) as f32 * 0.4 - 2.5).collect();
        let cv: Vec<f32> = (0..n * h).map(|k| k as f32 * 0.3 - 0.8).collect();
        let dv: Vec<f32> = (0..2 * n * h).map(|k| ((k * 5) % 7) as f32 * 0.2 - 0.6).collect();
        let (gates, c) = (tensor(gv.clone(), &[n, 4 * h]), tensor(cv.clone(), &[n, h]));
        let forward = values(&Tensor::lstm_cell(&gates, &c).unwrap());
        let backward = values(&Tensor::lstm_cell_backward(&gates, &c, &tensor(dv.clone(), &[2, n, h])).unwrap());
        let sig = |x: f32| 1.0 / (1.0 + (-(x as f64)).exp());
        for r in 0..n {
            for j in 0..h {
                let at = |k: usize| gv[r * 4 * h + k * h + j];
                let (i, f, g, o) = (sig(at(0)), sig(at(1)), (at(2) as f64).tanh(), sig(at(3)));
                let cp = cv[r * h + j] as f64;
                let c1 = f * cp + i * g;
                let t = c1.tanh();
                let (dh, dc_out) = (dv[r * h + j] as f64, dv[n * h + r * h + j] as f64);
                let dc = dc_out + dh * o * (1.0 - t * t);
                let want = [(forward[r * h + j], o * t), (forward[n * h + r * h + j], c1)];
                let grads = [dc * g * i * (1.0 - i), dc * cp * f * (1.0 - f), dc * i * (1.0 - g * g), dh * t * o * (1.0 - o), dc * f];
                let got = grads.iter().enumerate().map(|(k, &w)| (backward[r * 5 * h + k * h + j], w));
                for (got, want) in want.into_iter().chain(got) {
                    assert!((got as f64 - want).abs() < 1e-6, "row {r} unit {j}: {got} vs {want}");
                }
            }
        }
    }
}
