//! A diagonal linear state-space layer (S4D; Gu et al. 2022, "On the
//! Parameterization and Initialization of Diagonal State Space Models"), one
//! SSM per channel with `state / 2` complex modes: A_n = -exp(log_A_real) +
//! i A_imag with the S4D-Lin initialisation (-1/2 + i pi n, a diagonal
//! approximation of HiPPO), B = 1, complex C, skip D, per-channel step
//! exp(log_dt) log-uniform in [0.001, 0.1], zero-order-hold discretisation.
//!
//! Convolution mode (training): y = K * u + D u with the kernel
//! K_l = 2 Re(sum_n C_n (exp(dt A_n) - 1) / A_n exp(dt A_n l)), computed for the
//! sequence length and applied causally (a Toeplitz matmul on the CPU, a
//! depthwise convolution on the GPU). Recurrent mode
//! (inference): x_t = exp(dt A) x_{t-1} + (exp(dt A) - 1) / A u_t,
//! y_t = 2 Re(C x_t) + D u_t, constant memory per step: token by token when
//! generating, and over a whole sequence (`Inference::Recurrent`) as one
//! scan (`Tensor::ssm_scan`: one dispatch on a GPU). Complex numbers are
//! (real, imaginary) tensor pairs.

use std::cell::Cell;

use nnlab_core::{Conv2dParams, Device, Error, Result, Tensor};

use crate::{Carry, Inference, Module, Param, ProbeKind, Probes};

pub struct S4d {
    pub channels: usize,
    pub modes: usize,
    pub log_dt: Param,
    /// [channels, modes, 2]: real and imaginary parts.
    pub c: Param,
    pub log_a_real: Param,
    pub a_imag: Param,
    pub d: Param,
    /// Whether `forward` runs the recurrent mode (`Inference::Recurrent`).
    recurrent: Cell<bool>,
}

/// A complex tensor as its real and imaginary parts.
#[derive(Clone)]
pub struct Complex {
    pub re: Tensor,
    pub im: Tensor,
}

impl Complex {
    fn mul(&self, o: &Complex) -> Result<Complex> {
        Ok(Complex { re: self.re.mul(&o.re)?.sub(&self.im.mul(&o.im)?)?, im: self.re.mul(&o.im)?.add(&self.im.mul(&o.re)?)? })
    }
    fn div(&self, o: &Complex) -> Result<Complex> {
        let den = o.re.square()?.add(&o.im.square()?)?;
        let re = self.re.mul(&o.re)?.add(&self.im.mul(&o.im)?)?.div(&den)?;
        let im = self.im.mul(&o.re)?.sub(&self.re.mul(&o.im)?)?.div(&den)?;
        Ok(Complex { re, im })
    }
    fn exp(&self) -> Result<Complex> {
        let mag = self.re.exp()?;
        Ok(Complex { re: mag.mul(&self.im.cos()?)?, im: mag.mul(&self.im.sin()?)? })
    }
    fn add(&self, o: &Complex) -> Result<Complex> {
        Ok(Complex { re: self.re.add(&o.re)?, im: self.im.add(&o.im)? })
    }
}

/// Discretised parameters, each [channels, modes]: dt A, Ā = exp(dt A),
/// B̄ = (Ā - 1) / A (zero-order hold with B = 1), and C.
struct Discrete {
    dta: Complex,
    a_bar: Complex,
    b_bar: Complex,
    c: Complex,
}

impl S4d {
    pub fn new(channels: usize, state: usize, seed: u64, stream: u32, device: &Device) -> Result<S4d> {
        if channels == 0 || state < 2 || !state.is_multiple_of(2) {
            return Err(Error::InvalidArgument { op: "S4D", reason: format!("needs >= 1 channel and an even state size >= 2 (got {channels}, {state})") });
        }
        let modes = state / 2;
        let s = stream.wrapping_mul(8);
        let (lo, hi) = (0.001f32.ln(), 0.1f32.ln());
        let a_imag: Vec<f32> = (0..channels * modes).map(|i| std::f32::consts::PI * (i % modes) as f32).collect();
        Ok(S4d {
            channels,
            modes,
            log_dt: Param::new(Tensor::rand_uniform(&[channels], lo, hi, seed, s, device)?),
            c: Param::new(Tensor::randn(&[channels, modes, 2], 0.0, std::f32::consts::FRAC_1_SQRT_2, seed, s + 1, device)?),
            log_a_real: Param::new(Tensor::full(0.5f32.ln(), &[channels, modes], device)?),
            a_imag: Param::new(Tensor::from_vec(a_imag, &[channels, modes], device)?),
            d: Param::new(Tensor::randn(&[channels], 0.0, 1.0, seed, s + 2, device)?),
            recurrent: Cell::new(false),
        })
    }

    fn discrete(&self) -> Result<Discrete> {
        let (h, n) = (self.channels, self.modes);
        let dt = self.log_dt.get().exp()?.reshape(&[h, 1])?;
        let a = Complex { re: self.log_a_real.get().exp()?.neg()?, im: self.a_imag.get() };
        let dta = Complex { re: a.re.mul(&dt)?, im: a.im.mul(&dt)? };
        let a_bar = dta.exp()?;
        let b_bar = Complex { re: a_bar.re.add_scalar(-1.0)?, im: a_bar.im.clone() }.div(&a)?;
        let c_all = self.c.get();
        let c = Complex { re: c_all.narrow(2, 0, 1)?.reshape(&[h, n])?, im: c_all.narrow(2, 1, 1)?.reshape(&[h, n])? };
        Ok(Discrete { dta, a_bar, b_bar, c })
    }

    /// The convolution kernel [channels, length].
    pub fn kernel(&self, length: usize) -> Result<Tensor> {
        let (h, n) = (self.channels, self.modes);
        let d = self.discrete()?;
        let l = Tensor::arange(length, &self.log_dt.get().device())?.reshape(&[1, 1, length])?;
        let col = |t: &Tensor| t.reshape(&[h, n, 1]);
        // exp(dt A l) for every mode and position: [h, n, L]
        let powers = Complex { re: col(&d.dta.re)?.mul(&l)?, im: col(&d.dta.im)?.mul(&l)? }.exp()?;
        let cb = d.c.mul(&d.b_bar)?;
        let terms = Complex { re: col(&cb.re)?, im: col(&cb.im)? }.mul(&powers)?;
        terms.re.sum(&[1], false)?.mul_scalar(2.0)
    }

    fn check(&self, x: &Tensor) -> Result<(usize, usize)> {
        if x.rank() != 3 || x.shape()[2] != self.channels {
            return Err(Error::InvalidArgument { op: "S4D", reason: format!("expected [N, T, {}], got {:?}", self.channels, x.shape()) });
        }
        Ok((x.shape()[0], x.shape()[1]))
    }

    /// Convolution mode over u [N, T, channels].
    pub fn forward_conv(&self, u: &Tensor) -> Result<Tensor> {
        let (n, t) = self.check(u)?;
        let k = self.kernel(t)?; // [h, T]
        let y = match u.device() {
            Device::Cpu => self.toeplitz(&k, u, t)?,
            gpu => self.causal_conv(&k, u, n, t, &gpu)?,
        };
        y.add(&u.mul(&self.d.get())?)
    }

    /// y[n, i, c] = sum_{j <= i} K[c, i - j] u[n, j, c] as one batched matmul
    /// by the causal Toeplitz matrices [h, T, T] (the faster form on the CPU).
    fn toeplitz(&self, k: &Tensor, u: &Tensor, t: usize) -> Result<Tensor> {
        let h = self.channels;
        let device = u.device();
        let mut index = Vec::with_capacity(h * t * t);
        let mut mask = Vec::with_capacity(t * t);
        for c in 0..h {
            for i in 0..t {
                for j in 0..t {
                    index.push((c * t + i.saturating_sub(j)) as f32);
                    if c == 0 {
                        mask.push((j <= i) as u8 as f32);
                    }
                }
            }
        }
        let toeplitz = k.reshape(&[h * t])?.index_select(0, &Tensor::from_vec(index, &[h * t * t], &device)?)?.reshape(&[h, t, t])?.mul(&Tensor::from_vec(
            mask,
            &[1, t, t],
            &device,
        )?)?;
        toeplitz.matmul(&u.permute(&[2, 1, 0])?)?.permute(&[2, 1, 0]) // [N, T, h]
    }

    /// The same as a depthwise convolution of the input padded with T - 1
    /// zeros in front, by the kernel reversed in time: on a GPU one kernel
    /// launch each way, where the Toeplitz form gathers (and its gradient
    /// scatters) h T^2 elements.
    fn causal_conv(&self, k: &Tensor, u: &Tensor, n: usize, t: usize, device: &Device) -> Result<Tensor> {
        let h = self.channels;
        let reversed = Tensor::from_vec((0..t).rev().map(|i| i as f32).collect(), &[t], device)?;
        let w = k.index_select(1, &reversed)?.reshape(&[h, 1, 1, t])?;
        let x = u.permute(&[0, 2, 1])?.reshape(&[n, h, 1, t])?.pad(&[(0, 0), (0, 0), (0, 0), (t - 1, 0)])?;
        x.conv2d(&w, Conv2dParams { groups: h, ..Conv2dParams::default() })?.reshape(&[n, h, t])?.permute(&[0, 2, 1])
    }

    /// Recurrent mode over u [N, T, channels]: the steps' recurrence from a
    /// zero state as one scan of the modes' z_t = Ā z_{t-1} + u_t, whose
    /// readout C B̄ z_t is C x_t (x_t = B̄ z_t), plus D u.
    pub fn forward_recurrent(&self, u: &Tensor) -> Result<Tensor> {
        self.check(u)?;
        let d = self.discrete()?;
        let w = d.c.mul(&d.b_bar)?;
        Tensor::ssm_scan([&d.a_bar.re, &d.a_bar.im], [&w.re, &w.im], u)?.add(&u.mul(&self.d.get())?)
    }

    pub fn initial_state(&self, batch: usize, device: &Device) -> Result<Complex> {
        let z = Tensor::zeros(&[batch, self.channels, self.modes], device)?;
        Ok(Complex { re: z.clone(), im: z })
    }

    /// Recurrent mode: one step u_t [N, channels] -> (y_t [N, channels], next state).
    pub fn step(&self, u: &Tensor, state: &Complex) -> Result<(Tensor, Complex)> {
        let (batch, h) = (u.shape().first().copied().unwrap_or(0), self.channels);
        if u.shape() != [batch, h] {
            return Err(Error::InvalidArgument { op: "S4D", reason: format!("expected [N, {h}], got {:?}", u.shape()) });
        }
        let d = self.discrete()?;
        let ut = u.reshape(&[batch, h, 1])?;
        let input = Complex { re: d.b_bar.re.mul(&ut)?, im: d.b_bar.im.mul(&ut)? };
        let next = d.a_bar.mul(state)?.add(&input)?;
        let y = d.c.mul(&next)?.re.sum(&[2], false)?.mul_scalar(2.0)?.add(&u.mul(&self.d.get())?)?;
        Ok((y, next))
    }
}

impl Module for S4d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if self.recurrent.get() { self.forward_recurrent(x) } else { self.forward_conv(x) }
    }

    fn set_inference(&self, mode: Inference) -> Result<()> {
        self.recurrent.set(mode == Inference::Recurrent);
        Ok(())
    }

    /// One recurrent `step`; the carry holds the modes' real and imaginary parts.
    fn forward_token(&self, x: &Tensor, carry: &mut Carry) -> Result<Tensor> {
        let (n, _) = self.check(x)?;
        let state = match &carry.tensors[..] {
            [re, im] => Complex { re: re.clone(), im: im.clone() },
            _ => self.initial_state(n, &x.device())?,
        };
        let (y, next) = self.step(&x.reshape(&[n, self.channels])?, &state)?;
        carry.tensors = vec![next.re, next.im];
        y.reshape(&[n, 1, self.channels])
    }

    /// The output channels over time are the layer's visible state.
    fn probe(&self, x: &Tensor, probes: &mut Probes) -> Result<Tensor> {
        let y = self.forward_conv(x)?;
        probes.record(ProbeKind::Hidden, &y);
        Ok(y)
    }

    fn parameters(&self) -> Vec<(String, Param)> {
        vec![
            ("log_dt".to_string(), self.log_dt.clone()),
            ("C".to_string(), self.c.clone()),
            ("log_A_real".to_string(), self.log_a_real.clone()),
            ("A_imag".to_string(), self.a_imag.clone()),
            ("D".to_string(), self.d.clone()),
        ]
    }
}
