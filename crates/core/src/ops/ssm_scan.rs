//! A diagonal linear state-space model's recurrence over whole sequences as
//! one primitive (S4D's recurrent mode): on a GPU one dispatch forward and one
//! backward (gpu/kernels/ssm_scan.wgsl) instead of a handful per step.

use nnlab_gpu::SsmSizes;

use super::common_device;
use crate::backprop::grad_enabled;
use crate::{Error, Op, Result, Storage, Tensor};

/// The sizes of a scan over u [N, T, C] with modes' planes [C, M].
fn sizes(a: [&Tensor; 2], w: [&Tensor; 2], u: &Tensor) -> Result<SsmSizes> {
    common_device("ssm_scan", &[a[0], a[1], w[0], w[1], u])?;
    let us = u.shape();
    let plane = a[0].shape();
    let mismatch = |rhs: &[usize]| Error::ShapeMismatch { op: "ssm_scan", lhs: us.to_vec(), rhs: rhs.to_vec() };
    if us.len() != 3 || plane.len() != 2 || plane[0] != us[2] {
        return Err(mismatch(plane));
    }
    if let Some(t) = [a[1], w[0], w[1]].into_iter().find(|t| t.shape() != plane) {
        return Err(mismatch(t.shape()));
    }
    Ok(SsmSizes { rows: us[0], steps: us[1], channels: us[2], modes: plane[1] })
}

/// A complex number as (real, imaginary).
type C32 = (f32, f32);

/// The CPU forward: outputs [N, T, C] and states [N, C, M, T, 2], as
/// ssm_scan.wgsl computes them.
fn cpu_forward(a: [&[f32]; 2], w: [&[f32]; 2], u: &[f32], s: SsmSizes) -> (Vec<f32>, Vec<C32>) {
    let SsmSizes { rows, steps, channels, modes } = s;
    let mut y = vec![0.0; rows * steps * channels];
    let mut z = vec![(0.0, 0.0); rows * channels * modes * steps];
    for n in 0..rows {
        for c in 0..channels {
            for k in 0..modes {
                let p = c * modes + k;
                let ((ar, ai), (wr, wi)) = ((a[0][p], a[1][p]), (w[0][p], w[1][p]));
                let (mut zr, mut zi) = (0.0f32, 0.0f32);
                let states = ((n * channels + c) * modes + k) * steps;
                for t in 0..steps {
                    let at = (n * steps + t) * channels + c;
                    (zr, zi) = (ar * zr - ai * zi + u[at], ar * zi + ai * zr);
                    y[at] += 2.0 * (wr * zr - wi * zi);
                    z[states + t] = (zr, zi);
                }
            }
        }
    }
    (y, z)
}

/// The CPU backward from the forward's states: (u's gradient [N, T, C], the
/// gradients of a's and w's planes, each [C, M]), summed over sequences.
fn cpu_backward(a: [&[f32]; 2], w: [&[f32]; 2], z: &[C32], g: &[f32], s: SsmSizes) -> (Vec<f32>, [Vec<f32>; 4]) {
    let SsmSizes { rows, steps, channels, modes } = s;
    let mut du = vec![0.0; rows * steps * channels];
    let mut planes = [(); 4].map(|_| vec![0.0; channels * modes]);
    for n in 0..rows {
        for c in 0..channels {
            for k in 0..modes {
                let p = c * modes + k;
                let ((ar, ai), (wr, wi)) = ((a[0][p], a[1][p]), (w[0][p], w[1][p]));
                let (mut lr, mut li) = (0.0f32, 0.0f32);
                let (mut da, mut dw) = ((0.0f32, 0.0f32), (0.0f32, 0.0f32));
                let states = ((n * channels + c) * modes + k) * steps;
                for t in (0..steps).rev() {
                    let at = (n * steps + t) * channels + c;
                    let gt = 2.0 * g[at];
                    (lr, li) = (gt * wr + ar * lr + ai * li, -gt * wi + ar * li - ai * lr);
                    du[at] += lr;
                    let (zr, zi) = z[states + t];
                    dw = (dw.0 + gt * zr, dw.1 - gt * zi);
                    if t > 0 {
                        let (pr, pi) = z[states + t - 1];
                        da = (da.0 + lr * pr + li * pi, da.1 + li * pr - lr * pi);
                    }
                }
                for (plane, value) in planes.iter_mut().zip([da.0, da.1, dw.0, dw.1]) {
                    plane[p] += value;
                }
            }
        }
    }
    (du, planes)
}

impl Tensor {
    /// A diagonal linear state-space model run over sequences u [N, T, C]:
    /// for each channel c and mode k, z[t] = a z[t-1] + u[t] from z[-1] = 0
    /// and y[t] = 2 Re(sum over k of w z[t]), with the complex decays a and
    /// readouts w given as real and imaginary planes [C, M]. Returns y
    /// [N, T, C]. (S4D's recurrence with a = exp(dt A), w = C B̄.)
    pub fn ssm_scan(a: [&Tensor; 2], w: [&Tensor; 2], u: &Tensor) -> Result<Tensor> {
        let s = sizes(a, w, u)?;
        let shape = [s.rows, s.steps, s.channels];
        let tracked = grad_enabled() && a.iter().chain(&w).chain([&u]).any(|t| t.requires_grad());
        let (y, states) = match u.gpu_dense()? {
            Some((ctx, ub)) => {
                let [ar, ai, wr, wi] = [a[0], a[1], w[0], w[1]].map(|t| t.gpu_operand("ssm_scan"));
                let (y, z) = ctx.ssm_scan([&ar?, &ai?], [&wr?, &wi?], &ub, s, tracked)?;
                let states = z.map(|z| Tensor::from_storage(Storage::Gpu(z), &[s.rows, s.channels, s.modes, s.steps, 2], None));
                (Storage::Gpu(y), states)
            }
            None => {
                let [ar, ai, wr, wi] = [a[0], a[1], w[0], w[1]].map(|t| t.cpu_contiguous("ssm_scan"));
                (Storage::Cpu(cpu_forward([&ar?, &ai?], [&wr?, &wi?], &u.cpu_contiguous("ssm_scan")?, s).0), None)
            }
        };
        let op = Op::SsmScan { a: [a[0].clone(), a[1].clone()], w: [w[0].clone(), w[1].clone()], u: u.clone(), states };
        Ok(Tensor::from_storage(y, &shape, Some(op)))
    }

    /// The gradients (of a's planes, of w's planes, of u) of `ssm_scan`'s
    /// outputs for their upstream gradient `g`, from the `states` a GPU
    /// forward kept (the CPU computes them again).
    pub(crate) fn ssm_scan_grads(
        a: [&Tensor; 2],
        w: [&Tensor; 2],
        u: &Tensor,
        states: Option<&Tensor>,
        g: &Tensor,
    ) -> Result<([Tensor; 2], [Tensor; 2], Tensor)> {
        let s = sizes(a, w, u)?;
        let (plane, per_row) = ([s.channels, s.modes], s.rows * s.channels * s.modes);
        if let Some((ctx, gb)) = g.gpu_dense()? {
            let states = states.ok_or(Error::InvalidArgument { op: "ssm_scan backward", reason: "a GPU needs the states its forward kept".into() })?;
            let [ar, ai, wr, wi] = [a[0], a[1], w[0], w[1]].map(|t| t.gpu_operand("ssm_scan"));
            let flat = Tensor::from_storage(
                Storage::Gpu(ctx.ssm_scan_backward([&ar?, &ai?], [&wr?, &wi?], &states.gpu_operand("ssm_scan backward")?, &gb, s)?),
                &[s.rows * s.channels * (s.steps + 4 * s.modes)],
                None,
            );
            let du = flat.narrow(0, 0, s.rows * s.steps * s.channels)?.reshape(&[s.rows, s.steps, s.channels])?;
            let sums = flat.narrow(0, s.rows * s.steps * s.channels, 4 * per_row)?.reshape(&[4, s.rows, s.channels, s.modes])?.sum(&[1], false)?;
            let part = |k: usize| sums.narrow(0, k, 1)?.reshape(&plane);
            return Ok(([part(0)?, part(1)?], [part(2)?, part(3)?], du));
        }
        let [ar, ai, wr, wi] = [a[0], a[1], w[0], w[1]].map(|t| t.cpu_contiguous("ssm_scan backward"));
        let ([ar, ai, wr, wi], uv) = ([ar?, ai?, wr?, wi?], u.cpu_contiguous("ssm_scan backward")?);
        let (_, z) = cpu_forward([&ar, &ai], [&wr, &wi], &uv, s);
        let (du, [dar, dai, dwr, dwi]) = cpu_backward([&ar, &ai], [&wr, &wi], &z, &g.cpu_contiguous("ssm_scan backward")?, s);
        let cpu = |v: Vec<f32>, shape: &[usize]| Tensor::from_storage(Storage::Cpu(v), shape, None);
        Ok(([cpu(dar, &plane), cpu(dai, &plane)], [cpu(dwr, &plane), cpu(dwi, &plane)], cpu(du, &[s.rows, s.steps, s.channels])))
    }
}

#[cfg(test)]
mod tests {
    use crate::ops::cpu_values as values;
    use crate::{Device, Tensor};

    fn input(shape: &[usize], low: f32, high: f32, seed: u64) -> Tensor {
        Tensor::rand_uniform(shape, low, high, seed, 0, &Device::Cpu).unwrap().requires_grad_()
    }

    fn mul((a, b): (f64, f64), (c, d): (f64, f64)) -> (f64, f64) {
        (a * c - b * d, a * d + b * c)
    }

    fn power(x: (f64, f64), j: usize) -> (f64, f64) {
        (0..j).fold((1.0, 0.0), |p, _| mul(p, x))
    }

    /// The scan against its closed form in f64, y[t] = 2 Re(sum over modes
    /// of w sum_{s<=t} a^(t-s) u[s]), and the gradients of a weighted sum of
    /// the outputs from that form (d a^j / da = j a^(j-1), and i times it for
    /// the imaginary part), not from the backward's recursion.
    #[test]
    fn the_scan_equals_its_closed_form_and_so_do_its_gradients() {
        let (n, t, c, m) = (2, 7, 3, 4);
        // Decays inside the unit circle, as exp(dt A) with Re A < 0 is.
        let a = [input(&[c, m], 0.3, 0.7, 1), input(&[c, m], -0.6, 0.6, 2)];
        let w = [input(&[c, m], -1.0, 1.0, 3), input(&[c, m], -1.0, 1.0, 4)];
        let u = input(&[n, t, c], -1.0, 1.0, 5);
        let weights = Tensor::rand_uniform(&[n, t, c], -1.0, 1.0, 6, 0, &Device::Cpu).unwrap();
        let y = Tensor::ssm_scan([&a[0], &a[1]], [&w[0], &w[1]], &u).unwrap();
        let grads = y.mul(&weights).unwrap().backward().unwrap();
        let f64s = |t: &Tensor| values(t).iter().map(|&v| v as f64).collect::<Vec<_>>();
        let ([ar, ai], [wr, wi], uv, g) = ([f64s(&a[0]), f64s(&a[1])], [f64s(&w[0]), f64s(&w[1])], f64s(&u), f64s(&weights));
        let mut want = [(); 6].map(|_| Vec::new());
        want[0] = vec![0.0; n * t * c];
        want[1] = vec![0.0; n * t * c];
        for plane in &mut want[2..] {
            *plane = vec![0.0; c * m];
        }
        let at = |row: usize, step: usize, ch: usize| (row * t + step) * c + ch;
        for row in 0..n {
            for ch in 0..c {
                for k in 0..m {
                    let p = ch * m + k;
                    let (ak, wk) = ((ar[p], ai[p]), (wr[p], wi[p]));
                    for step in 0..t {
                        let gt = g[at(row, step, ch)];
                        let mut z = (0.0, 0.0);
                        for s in 0..=step {
                            let j = step - s;
                            let us = uv[at(row, s, ch)];
                            let aj = power(ak, j);
                            z = (z.0 + aj.0 * us, z.1 + aj.1 * us);
                            let waj = mul(wk, aj);
                            want[1][at(row, s, ch)] += gt * 2.0 * waj.0;
                            if j > 0 {
                                let d = mul(wk, power(ak, j - 1));
                                want[2][p] += gt * 2.0 * j as f64 * d.0 * us;
                                want[3][p] -= gt * 2.0 * j as f64 * d.1 * us;
                            }
                        }
                        want[0][at(row, step, ch)] += 2.0 * mul(wk, z).0;
                        want[4][p] += gt * 2.0 * z.0;
                        want[5][p] -= gt * 2.0 * z.1;
                    }
                }
            }
        }
        let got = [&y, grads.get(&u).unwrap(), grads.get(&a[0]).unwrap(), grads.get(&a[1]).unwrap(), grads.get(&w[0]).unwrap(), grads.get(&w[1]).unwrap()];
        for ((name, got), want) in
            ["outputs", "u's gradient", "Re a's gradient", "Im a's gradient", "Re w's gradient", "Im w's gradient"].iter().zip(got).zip(&want)
        {
            let got = values(got);
            assert_eq!(got.len(), want.len(), "{name}");
            for (i, (x, e)) in got.iter().zip(want).enumerate() {
                assert!((*x as f64 - e).abs() <= 1e-5 + 1e-5 * e.abs(), "{name}[{i}]: {x} vs {e}");
            }
        }
    }

    #[test]
    fn shapes_that_do_not_fit_are_errors() {
        let plane = || input(&[3, 2], -1.0, 1.0, 1);
        let (a, b, c, d) = (plane(), plane(), plane(), plane());
        assert!(Tensor::ssm_scan([&a, &b], [&c, &d], &input(&[2, 4, 3], -1.0, 1.0, 2)).is_ok());
        assert!(Tensor::ssm_scan([&a, &b], [&c, &d], &input(&[2, 4, 2], -1.0, 1.0, 2)).is_err());
        assert!(Tensor::ssm_scan([&a, &input(&[3, 1], -1.0, 1.0, 3)], [&c, &d], &input(&[2, 4, 3], -1.0, 1.0, 2)).is_err());
        assert!(Tensor::ssm_scan([&a, &b], [&c, &d], &input(&[4, 3], -1.0, 1.0, 2)).is_err());
    }
}
