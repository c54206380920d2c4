//! Conv1d and Conv2d as torch.nn defines them: weight [out, in / groups, k...],
//! bias [out], default init U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for both.

use nnlab_core::{Conv2dParams, Device, Error, PadMode, Result, Tensor};

use crate::init::{self, Init};
use crate::{Module, Param};

/// Zero padding: explicit per spatial axis, or "same" (stride 1 only; an odd
/// total pads one more at the end, as PyTorch does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Padding {
    Explicit([usize; 2]),
    Same,
}

pub struct Conv2d {
    pub weight: Param,
    pub bias: Option<Param>,
    pub stride: [usize; 2],
    pub padding: Padding,
    /// How the padding is filled (torch's padding_mode; zeros by default).
    pub padding_mode: PadMode,
    pub dilation: [usize; 2],
    pub groups: usize,
}

impl Conv2d {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        inputs: usize,
        outputs: usize,
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: Padding,
        dilation: [usize; 2],
        groups: usize,
        bias: bool,
        seed: u64,
        stream: u32,
        device: &Device,
    ) -> Result<Conv2d> {
        let bad = |reason: String| Err(Error::InvalidArgument { op: "Conv2d", reason });
        if groups == 0 || !inputs.is_multiple_of(groups) || !outputs.is_multiple_of(groups) {
            return bad(format!("{inputs} input and {outputs} output channels are not divisible by groups = {groups}"));
        }
        if kernel.contains(&0) || stride.contains(&0) || dilation.contains(&0) {
            return bad("kernel, stride and dilation must be >= 1".into());
        }
        if padding == Padding::Same && stride != [1, 1] {
            return bad("padding \"same\" needs stride 1".into());
        }
        let fan_in = inputs / groups * kernel[0] * kernel[1];
        let shape = [outputs, inputs / groups, kernel[0], kernel[1]];
        let weight = Param::new(init::weight(Init::TorchDefault, &shape, fan_in, outputs, seed, stream, device)?);
        let bias = if bias {
            let b = 1.0 / (fan_in as f32).sqrt();
            Some(Param::new(Tensor::rand_uniform(&[outputs], -b, b, seed, stream + 1_000_000, device)?))
        } else {
            None
        };
        Ok(Conv2d { weight, bias, stride, padding, padding_mode: PadMode::Constant(0.0), dilation, groups })
    }

    pub fn kernel(&self) -> [usize; 2] {
        let w = self.weight.get();
        [w.shape()[2], w.shape()[3]]
    }
}

/// Shared forward of both convolutions on [N, C, H, W] with a [O, C/g, KH, KW] weight.
/// "Same" padding along one axis: the (before, after) that keep the length at
/// stride 1, the odd one after (as torch splits it).
pub fn same_padding(kernel: usize, dilation: usize) -> (usize, usize) {
    let total = dilation.saturating_mul(kernel.saturating_sub(1));
    (total / 2, total - total / 2)
}

/// The convolution's geometry besides its weight.
struct Geometry {
    stride: [usize; 2],
    padding: Padding,
    padding_mode: PadMode,
    dilation: [usize; 2],
    groups: usize,
}

fn convolve(x: &Tensor, w: &Tensor, bias: Option<&Param>, g: Geometry) -> Result<Tensor> {
    let k = [w.shape()[2], w.shape()[3]];
    let zeros = g.padding_mode == PadMode::Constant(0.0);
    let (x, padding) = match g.padding {
        // Zeros are the convolution kernel's own padding.
        Padding::Explicit(p) if zeros => (x.clone(), p),
        Padding::Explicit(p) => (x.pad_mode(&[(0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])], g.padding_mode)?, [0, 0]),
        Padding::Same => {
            let pads = [(0, 0), (0, 0), same_padding(k[0], g.dilation[0]), same_padding(k[1], g.dilation[1])];
            (x.pad_mode(&pads, g.padding_mode)?, [0, 0])
        }
    };
    x.conv2d_bias(w, bias.map(|b| b.get()).as_ref(), Conv2dParams { stride: g.stride, padding, dilation: g.dilation, groups: g.groups })
}

fn conv_parameters(weight: &Param, bias: &Option<Param>) -> Vec<(String, Param)> {
    let mut out = vec![("weight".to_string(), weight.clone())];
    out.extend(bias.iter().map(|b| ("bias".to_string(), b.clone())));
    out
}

impl Module for Conv2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let g = Geometry { stride: self.stride, padding: self.padding, padding_mode: self.padding_mode, dilation: self.dilation, groups: self.groups };
        convolve(x, &self.weight.get(), self.bias.as_ref(), g)
    }

    fn parameters(&self) -> Vec<(String, Param)> {
        conv_parameters(&self.weight, &self.bias)
    }
}

/// Conv1d on [N, C, L], computed as a convolution over [N, C, 1, L]; the weight
/// keeps PyTorch's [out, in / groups, k] layout.
pub struct Conv1d {
    pub weight: Param,
    pub bias: Option<Param>,
    pub stride: usize,
    pub padding: Padding,
    pub padding_mode: PadMode,
    pub dilation: usize,
    pub groups: usize,
}

impl Conv1d {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        inputs: usize,
        outputs: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
        dilation: usize,
        groups: usize,
        bias: bool,
        seed: u64,
        stream: u32,
        device: &Device,
    ) -> Result<Conv1d> {
        let c = Conv2d::new(inputs, outputs, [1, kernel], [1, stride], Padding::Explicit([0, padding]), [1, dilation], groups, bias, seed, stream, device)?;
        let w = c.weight.get();
        let weight = Param::new(w.reshape(&[outputs, inputs / groups, kernel])?);
        Ok(Conv1d { weight, bias: c.bias, stride, padding: Padding::Explicit([0, padding]), padding_mode: PadMode::Constant(0.0), dilation, groups })
    }

    /// "same" padding (stride 1).
    pub fn same(mut self) -> Result<Conv1d> {
        if self.stride != 1 {
            return Err(Error::InvalidArgument { op: "Conv1d", reason: "padding \"same\" needs stride 1".into() });
        }
        self.padding = Padding::Same;
        Ok(self)
    }
}

impl Module for Conv1d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if x.rank() != 3 {
            return Err(Error::InvalidArgument { op: "Conv1d", reason: format!("expected [N, C, L], got {:?}", x.shape()) });
        }
        let w = self.weight.get();
        let (s, k) = (x.shape(), w.shape());
        let w4 = w.reshape(&[k[0], k[1], 1, k[2]])?;
        let g =
            Geometry { stride: [1, self.stride], padding: self.padding, padding_mode: self.padding_mode, dilation: [1, self.dilation], groups: self.groups };
        let y = convolve(&x.reshape(&[s[0], s[1], 1, s[2]])?, &w4, self.bias.as_ref(), g)?;
        let ys = y.shape().to_vec();
        y.reshape(&[ys[0], ys[1], ys[3]])
    }

    fn parameters(&self) -> Vec<(String, Param)> {
        conv_parameters(&self.weight, &self.bias)
    }
}
