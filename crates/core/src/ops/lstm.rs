//! The LSTM cell as one primitive: a recurrent step would otherwise be a
//! dozen elementwise ops forward and several dozen backward, each its own GPU
//! dispatch. Gates are in PyTorch's order (input, forget, cell, output).

use super::{Data, common_device};
use crate::cpu::tanh;
use crate::{Error, Op, Result, Storage, Tensor};

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// The activated gates (i, f, g, o) of unit j of row r of gates [N, 4H].
fn activated(gv: &[f32], r: usize, j: usize, h: usize) -> (f32, f32, f32, f32) {
    let at = |k: usize| gv[r * 4 * h + k * h + j];
    (sigmoid(at(0)), sigmoid(at(1)), tanh(at(2)), sigmoid(at(3)))
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
                for r in 0..n {
                    for j in 0..h {
                        let (i, f, g, o) = activated(&gv, r, j, h);
                        let c1 = f * cv[r * h + j] + i * g;
                        out[r * h + j] = o * tanh(c1);
                        out[n * h + r * h + j] = c1;
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
                for r in 0..n {
                    for j in 0..h {
                        let (i, f, g, o) = activated(&gv, r, j, h);
                        let cp = cv[r * h + j];
                        let c1 = f * cp + i * g;
                        let t = tanh(c1);
                        let (dh, dc_out) = (dv[r * h + j], dv[n * h + r * h + j]);
                        let dc = dc_out + dh * o * (1.0 - t * t);
                        let row = &mut out[r * 5 * h..(r + 1) * 5 * h];
                        row[j] = dc * g * i * (1.0 - i);
                        row[h + j] = dc * cp * f * (1.0 - f);
                        row[2 * h + j] = dc * i * (1.0 - g * g);
                        row[3 * h + j] = dh * t * o * (1.0 - o);
                        row[4 * h + j] = dc * f;
                    }
                }
                Storage::Cpu(out)
            }
        };
        Ok(Tensor::from_storage(storage, &[n, 5 * h], None))
    }
}
