//! Attention of one query over every prefix as one primitive, computed token
//! by token with a constant state (Aaren's recurrent mode; Feng et al. 2024):
//! on a GPU one dispatch for the whole sequence forward and one backward
//! (gpu/kernels/attention_scan.wgsl) instead of a handful per token.

use super::common_device;
use crate::{Error, Op, Result, Storage, Tensor};

/// (N, T, D) of scores [N, T] and values [N, T, D].
fn sizes(s: &Tensor, v: &Tensor) -> Result<(usize, usize, usize)> {
    common_device("attention_scan", &[s, v])?;
    let (ss, vs) = (s.shape(), v.shape());
    if ss.len() != 2 || vs.len() != 3 || vs[..2] != ss[..] {
        return Err(Error::ShapeMismatch { op: "attention_scan", lhs: ss.to_vec(), rhs: vs.to_vec() });
    }
    Ok((vs[0], vs[1], vs[2]))
}

/// The CPU forward: outputs [N, T, D] and state [2, N, T] (running maximum,
/// normaliser), as attention_scan.wgsl computes them.
fn cpu_forward(s: &[f32], v: &[f32], (n, t, d): (usize, usize, usize)) -> (Vec<f32>, Vec<f32>) {
    let (mut out, mut state) = (vec![0.0; n * t * d], vec![0.0; 2 * n * t]);
    let mut w = vec![0.0; d];
    for row in 0..n {
        let (mut m, mut u) = (f32::NEG_INFINITY, 0.0);
        for k in 0..t {
            let sk = s[row * t + k];
            let m1 = m.max(sk);
            // The first step has no state to decay (exp(-inf) = 0).
            let decay = if k == 0 { 0.0 } else { (m - m1).exp() };
            let fresh = (sk - m1).exp();
            u = u * decay + fresh;
            let at = (row * t + k) * d;
            for f in 0..d {
                w[f] = w[f] * decay + fresh * v[at + f];
                out[at + f] = w[f] / u;
            }
            m = m1;
            state[row * t + k] = m;
            state[n * t + row * t + k] = u;
        }
    }
    (out, state)
}

/// The CPU backward: (scores' gradient [N, T], values' gradient [N, T, D]).
fn cpu_backward(s: &[f32], v: &[f32], state: &[f32], r: &[f32], g: &[f32], (n, t, d): (usize, usize, usize)) -> (Vec<f32>, Vec<f32>) {
    let (mut ds, mut dv) = (vec![0.0; n * t], vec![0.0; n * t * d]);
    let (mut big_g, mut big_h) = (vec![0.0; d], vec![0.0; d]);
    for row in 0..n {
        big_g.fill(0.0);
        big_h.fill(0.0);
        for k in (0..t).rev() {
            let (m, u) = (state[row * t + k], state[n * t + row * t + k]);
            if k + 1 < t {
                let shrink = (m - state[row * t + k + 1]).exp();
                big_g.iter_mut().chain(big_h.iter_mut()).for_each(|x| *x *= shrink);
            }
            let e = (s[row * t + k] - m).exp();
            let at = (row * t + k) * d;
            let mut sum = 0.0;
            for f in 0..d {
                big_g[f] += g[at + f] / u;
                big_h[f] += g[at + f] * r[at + f] / u;
                dv[at + f] = e * big_g[f];
                sum += e * (v[at + f] * big_g[f] - big_h[f]);
            }
            ds[row * t + k] = sum;
        }
    }
    (ds, dv)
}

impl Tensor {
    /// Attention of one query over every prefix: from scores s [N, T] and
    /// values v [N, T, D], r [N, T, D] with r[n, k] = sum over j <= k of
    /// softmax(s[n, ..=k])_j v[n, j], computed step by step from a running
    /// maximum m, normaliser u and weighted sum w (Aaren's state), so no
    /// exponential overflows whatever the scores.
    pub fn attention_scan(s: &Tensor, v: &Tensor) -> Result<Tensor> {
        let dims @ (n, t, d) = sizes(s, v)?;
        let (out, state) = match (s.gpu_dense()?, v.gpu_dense()?) {
            (Some((ctx, sb)), Some((_, vb))) => {
                let (out, state) = ctx.attention_scan(&sb, &vb, n, t, d)?;
                (Storage::Gpu(out), Storage::Gpu(state))
            }
            _ => {
                let (out, state) = cpu_forward(&s.cpu_contiguous("attention_scan")?, &v.cpu_contiguous("attention_scan")?, dims);
                (Storage::Cpu(out), Storage::Cpu(state))
            }
        };
        let state = Tensor::from_storage(state, &[2, n, t], None);
        Ok(Tensor::from_storage(out, &[n, t, d], Some(Op::AttentionScan { s: s.clone(), v: v.clone(), state })))
    }

    /// The gradients (of s, of v) of `attention_scan`'s outputs `r` for their
    /// upstream gradient `g`, with the `state` its forward kept.
    pub(crate) fn attention_scan_grads(s: &Tensor, v: &Tensor, state: &Tensor, r: &Tensor, g: &Tensor) -> Result<(Tensor, Tensor)> {
        let dims @ (n, t, d) = sizes(s, v)?;
        if let Some((ctx, sb)) = s.gpu_dense()? {
            let dense = |x: &Tensor| x.gpu_operand("attention_scan backward");
            let [vb, mb, rb, gb] = [dense(v)?, dense(state)?, dense(r)?, dense(g)?];
            let both = Tensor::from_storage(Storage::Gpu(ctx.attention_scan_backward(&sb, &vb, &mb, &rb, &gb, n, t, d)?), &[2, n, t, d], None);
            let dv = both.narrow(0, 0, 1)?.reshape(&[n, t, d])?;
            let ds = both.narrow(0, 1, 1)?.reshape(&[n, t, d])?.sum(&[2], false)?;
            return Ok((ds, dv));
        }
        let values = |x: &Tensor| x.cpu_contiguous("attention_scan backward");
        let (ds, dv) = cpu_backward(&values(s)?, &values(v)?, &values(state)?, &values(r)?, &values(g)?, dims);
        Ok((Tensor::from_storage(Storage::Cpu(ds), &[n, t], None), Tensor::from_storage(Storage::Cpu(dv), &[n, t, d], None)))
    }
}

#[cfg(test)]
mod tests {
    use crate::ops::cpu_values as values;
    use crate::{Device, Tensor};

    fn input(shape: &[usize], low: f32, high: f32, seed: u64) -> Tensor {
        Tensor::rand_uniform(shape, low, high, seed, 0, &Device::Cpu).unwrap().requires_grad_()
    }

    /// The scan against the definition in f64, each prefix's softmax
    /// computed on its own (O(T^2)): outputs, and the gradients of a weighted
    /// sum of them, da_kj / ds_j = a_kj (delta - a_kj') summed by hand. Scores
    /// span 40: an unshifted or once-shifted formula loses the small weights
    /// (f32 autograd of the parallel mode's prefix sums misses by 0.1 here).
    #[test]
    fn the_scan_equals_prefix_softmax_attention_and_so_do_its_gradients() {
        let (n, t, d) = (3, 9, 5);
        let s = input(&[n, t], -20.0, 20.0, 1);
        let v = input(&[n, t, d], -1.0, 1.0, 2);
        let weights = Tensor::rand_uniform(&[n, t, d], -1.0, 1.0, 3, 0, &Device::Cpu).unwrap();
        let scan = Tensor::attention_scan(&s, &v).unwrap();
        let grads = scan.mul(&weights).unwrap().backward().unwrap();
        let (sv, vv, g) = (values(&s), values(&v), values(&weights));
        let (mut out, mut ds, mut dv) = (vec![0.0f64; n * t * d], vec![0.0f64; n * t], vec![0.0f64; n * t * d]);
        for row in 0..n {
            for k in 0..t {
                let scores: Vec<f64> = (0..=k).map(|j| sv[row * t + j] as f64).collect();
                let top = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let total: f64 = scores.iter().map(|x| (x - top).exp()).sum();
                let a: Vec<f64> = scores.iter().map(|x| (x - top).exp() / total).collect();
                let at = |j: usize, f: usize| (row * t + j) * d + f;
                for f in 0..d {
                    out[at(k, f)] = (0..=k).map(|j| a[j] * vv[at(j, f)] as f64).sum();
                }
                let g_dot_r: f64 = (0..d).map(|f| g[at(k, f)] as f64 * out[at(k, f)]).sum();
                for j in 0..=k {
                    let g_dot_v: f64 = (0..d).map(|f| g[at(k, f)] as f64 * vv[at(j, f)] as f64).sum();
                    ds[row * t + j] += a[j] * (g_dot_v - g_dot_r);
                    for f in 0..d {
                        dv[at(j, f)] += a[j] * g[at(k, f)] as f64;
                    }
                }
            }
        }
        let pairs = [
            ("outputs", values(&scan), out),
            ("scores' gradient", values(grads.get(&s).unwrap()), ds),
            ("values' gradient", values(grads.get(&v).unwrap()), dv),
        ];
        for (name, got, want) in pairs {
            assert_eq!(got.len(), want.len(), "{name}");
            for (i, (a, e)) in got.iter().zip(&want).enumerate() {
                assert!((*a as f64 - e).abs() <= 1e-5 + 1e-5 * e.abs(), "{name}[{i}]: {a} vs {e}");
            }
        }
    }

    #[test]
    fn shapes_that_do_not_fit_are_errors() {
        let v = input(&[2, 3, 4], -1.0, 1.0, 1);
        assert!(Tensor::attention_scan(&input(&[2, 3], -1.0, 1.0, 2), &v).is_ok());
        assert!(Tensor::attention_scan(&input(&[2, 4], -1.0, 1.0, 2), &v).is_err());
        assert!(Tensor::attention_scan(&input(&[2, 3, 1], -1.0, 1.0, 2), &v).is_err());
    }
}
