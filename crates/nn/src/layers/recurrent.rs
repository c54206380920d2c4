//! RNN (tanh or ReLU), GRU and LSTM as torch.nn defines them: multi-layer,
//! optionally bidirectional and batch-first, PyTorch's gate order (GRU: r, z, n;
//! LSTM: i, f, g, o), parameter names (`weight_ih_l0`, `bias_hh_l1_reverse`, ...)
//! and init U(-1/sqrt(hidden), 1/sqrt(hidden)); torch's `bias`, `dropout`
//! (between stacked layers, in training), LSTM `proj_size` (`weight_hr_l0`),
//! initial states h0 and c0 and final states h_n and c_n. Unrolled over time
//! from primitives.

use nnlab_core::{Device, Error, Result, Tensor};

use crate::layers::Dropout;
use crate::{Module, Param};

/// torch.nn.RNN/GRU/LSTM's arguments besides the sizes and directions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RecurrentOptions {
    pub bias: bool,
    /// Dropout on every layer's output but the last, in training.
    pub dropout: f32,
    /// LSTM only: each hidden state projected to this width (0: none).
    pub proj_size: usize,
}

impl Default for RecurrentOptions {
    fn default() -> Self {
        RecurrentOptions { bias: true, dropout: 0.0, proj_size: 0 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecurrentKind {
    RnnTanh,
    RnnRelu,
    Gru,
    Lstm,
}

impl RecurrentKind {
    fn gates(self) -> usize {
        match self {
            RecurrentKind::RnnTanh | RecurrentKind::RnnRelu => 1,
            RecurrentKind::Gru => 3,
            RecurrentKind::Lstm => 4,
        }
    }
}

/// Weights of one layer in one direction.
struct Cell {
    w_ih: Param,
    w_hh: Param,
    b_ih: Option<Param>,
    b_hh: Option<Param>,
    /// LSTM with proj_size: [proj, hidden].
    w_hr: Option<Param>,
}

pub struct Recurrent {
    pub kind: RecurrentKind,
    pub input_size: usize,
    pub hidden: usize,
    pub layers: usize,
    pub bidirectional: bool,
    pub batch_first: bool,
    /// `forward` returns only the last step's output (as `LastStep` after it would).
    pub last_step_only: bool,
    pub proj_size: usize,
    /// Between layers (none for a single layer or p = 0).
    dropout: Option<Dropout>,
    /// cells[layer * directions + direction]
    cells: Vec<Cell>,
}

/// All hidden states of the last layer, and the final state of every layer and
/// direction ([layers * directions, N, hidden]); `c_n` for LSTMs.
pub struct RecurrentOutput {
    pub output: Tensor,
    pub h_n: Tensor,
    pub c_n: Option<Tensor>,
}

impl Recurrent {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        kind: RecurrentKind,
        input_size: usize,
        hidden: usize,
        layers: usize,
        bidirectional: bool,
        batch_first: bool,
        seed: u64,
        stream: u32,
        device: &Device,
    ) -> Result<Recurrent> {
        Recurrent::with(kind, input_size, hidden, layers, bidirectional, batch_first, RecurrentOptions::default(), seed, stream, device)
    }

    #[allow(clippy::too_many_arguments)]
    pub fn with(
        kind: RecurrentKind,
        input_size: usize,
        hidden: usize,
        layers: usize,
        bidirectional: bool,
        batch_first: bool,
        options: RecurrentOptions,
        seed: u64,
        stream: u32,
        device: &Device,
    ) -> Result<Recurrent> {
        if input_size == 0 || hidden == 0 || layers == 0 {
            return Err(Error::InvalidArgument { op: "recurrent layer", reason: "input size, hidden size and layers must be >= 1".into() });
        }
        let proj = options.proj_size;
        if proj > 0 && (kind != RecurrentKind::Lstm || proj >= hidden) {
            return Err(Error::InvalidArgument {
                op: "recurrent layer",
                reason: format!("proj_size {proj} needs an LSTM with a larger hidden size (got {hidden})"),
            });
        }
        if !(0.0..1.0).contains(&options.dropout) {
            return Err(Error::InvalidArgument { op: "recurrent layer", reason: format!("dropout must be in [0, 1), got {}", options.dropout) });
        }
        let dirs = if bidirectional { 2 } else { 1 };
        let g = kind.gates() * hidden;
        let bound = 1.0 / (hidden as f32).sqrt();
        let mut draw = 0u32;
        let mut uniform = |shape: &[usize]| -> Result<Param> {
            draw += 1;
            Ok(Param::new(Tensor::rand_uniform(shape, -bound, bound, seed, stream.wrapping_mul(64).wrapping_add(draw), device)?))
        };
        // Each step's state has the projection's width when there is one.
        let state = if proj > 0 { proj } else { hidden };
        let mut cells = Vec::with_capacity(layers * dirs);
        for layer in 0..layers {
            let inputs = if layer == 0 { input_size } else { state * dirs };
            for _ in 0..dirs {
                let (w_ih, w_hh) = (uniform(&[g, inputs])?, uniform(&[g, state])?);
                let (b_ih, b_hh) = if options.bias { (Some(uniform(&[g])?), Some(uniform(&[g])?)) } else { (None, None) };
                let w_hr = (proj > 0).then(|| uniform(&[proj, hidden])).transpose()?;
                cells.push(Cell { w_ih, w_hh, b_ih, b_hh, w_hr });
            }
        }
        let dropout = (options.dropout > 0.0 && layers > 1).then(|| Dropout::new(options.dropout, seed ^ 0xd0d0 ^ u64::from(stream))).transpose()?;
        Ok(Recurrent { kind, input_size, hidden, layers, bidirectional, batch_first, last_step_only: false, proj_size: proj, dropout, cells })
    }

    /// The width of each step's hidden state (the projection's, if any).
    fn state_width(&self) -> usize {
        if self.proj_size > 0 { self.proj_size } else { self.hidden }
    }

    /// This layer with `forward` returning only the last step's output.
    pub fn last_step_only(mut self) -> Recurrent {
        self.last_step_only = true;
        self
    }

    fn directions(&self) -> usize {
        if self.bidirectional { 2 } else { 1 }
    }

    /// One time step: new (h, c) from the input projection `gx` ([N, G*H]),
    /// which for RNNs and LSTMs already holds both biases (`first`: h is the
    /// zero initial state, whose projection they skip).
    fn step(&self, cell: &Cell, gx: &Tensor, h: &Tensor, c: Option<&Tensor>, first: bool) -> Result<(Tensor, Option<Tensor>)> {
        let hs = self.hidden;
        let chunk = |t: &Tensor, k: usize| t.narrow(1, k * hs, hs);
        let gates = || if first { Ok(gx.clone()) } else { gx.add(&h.matmul(&cell.w_hh.get().t()?)?) };
        match self.kind {
            RecurrentKind::RnnTanh => Ok((gates()?.tanh()?, None)),
            RecurrentKind::RnnRelu => Ok((gates()?.relu()?, None)),
            RecurrentKind::Gru => {
                let gh = h.matmul(&cell.w_hh.get().t()?)?;
                let gh = match &cell.b_hh {
                    Some(b) => gh.add(&b.get())?,
                    None => gh,
                };
                let r = chunk(gx, 0)?.add(&chunk(&gh, 0)?)?.sigmoid()?;
                let z = chunk(gx, 1)?.add(&chunk(&gh, 1)?)?.sigmoid()?;
                let n = chunk(gx, 2)?.add(&r.mul(&chunk(&gh, 2)?)?)?.tanh()?;
                // h' = (1 - z) * n + z * h = n + z * (h - n)
                Ok((n.add(&z.mul(&h.sub(&n)?)?)?, None))
            }
            RecurrentKind::Lstm => {
                // One fused primitive: c' = f c + i g, h' = o tanh(c').
                let hc = Tensor::lstm_cell(&gates()?, c.expect("an LSTM carries a cell state"))?;
                let half = |k: usize| hc.narrow(0, k, 1)?.reshape(&[h.shape()[0], hs]);
                let h = match &cell.w_hr {
                    Some(w) => half(0)?.matmul(&w.get().t()?)?,
                    None => half(0)?,
                };
                Ok((h, Some(half(1)?)))
            }
        }
    }

    /// Runs the whole stack from zero initial states. `x` is [N, T, in]
    /// (batch-first) or [T, N, in].
    pub fn run(&self, x: &Tensor) -> Result<RecurrentOutput> {
        self.run_from(x, None, None)
    }

    /// Runs the whole stack from initial states `h0` ([layers * directions, N,
    /// state width]) and, for an LSTM, `c0` ([layers * directions, N,
    /// hidden]); zeros where not given. Gradients flow into both.
    pub fn run_from(&self, x: &Tensor, h0: Option<&Tensor>, c0: Option<&Tensor>) -> Result<RecurrentOutput> {
        let (steps, h_n, c_n) = self.run_steps(x, h0, c0)?;
        let batch = steps[0].shape()[0];
        let width = self.state_width() * self.directions();
        let stacked: Vec<Tensor> = steps.iter().map(|h| h.reshape(&[1, batch, width])).collect::<Result<_>>()?;
        let output = Tensor::concat(&stacked, 0)?;
        let output = if self.batch_first { output.transpose(0, 1)?.contiguous()? } else { output };
        let stack = |states: &[Tensor]| -> Result<Tensor> {
            let s: Vec<Tensor> = states.iter().map(|t| t.unsqueeze(0)).collect::<Result<_>>()?;
            Tensor::concat(&s, 0)
        };
        let c_n = if c_n.is_empty() { None } else { Some(stack(&c_n)?) };
        Ok(RecurrentOutput { output, h_n: stack(&h_n)?, c_n })
    }

    /// The last layer's output at the last time step ([N, D*H]), what
    /// `run(x).output` holds at t = T-1, without stacking every step (which
    /// would cost a copy per step forward and a gradient per step backward).
    pub fn last_output(&self, x: &Tensor) -> Result<Tensor> {
        let (mut steps, _, _) = self.run_steps(x, None, None)?;
        Ok(steps.pop().expect("a non-empty sequence"))
    }

    /// The last layer's output per time step ([N, D*H] each, in time order)
    /// and the final h (and c) of every layer and direction.
    fn run_steps(&self, x: &Tensor, h0: Option<&Tensor>, c0: Option<&Tensor>) -> Result<(Vec<Tensor>, Vec<Tensor>, Vec<Tensor>)> {
        if x.rank() != 3 || x.shape()[2] != self.input_size {
            let expect = if self.batch_first { "[N, T, features]" } else { "[T, N, features]" };
            return Err(Error::InvalidArgument {
                op: "recurrent layer",
                reason: format!("expected {expect} with {} features, got {:?}", self.input_size, x.shape()),
            });
        }
        let time_axis = if self.batch_first { 1 } else { 0 };
        let (steps, batch) = (x.shape()[time_axis], x.shape()[1 - time_axis]);
        if steps == 0 {
            return Err(Error::InvalidArgument { op: "recurrent layer", reason: "the sequence is empty".into() });
        }
        let device = x.device();
        let cells = self.layers * self.directions();
        for (state, width, name) in [(h0, self.state_width(), "h0"), (c0, self.hidden, "c0")] {
            if let Some(s) = state
                && s.shape() != [cells, batch, width]
            {
                return Err(Error::InvalidArgument {
                    op: "recurrent layer",
                    reason: format!("{name} must be [{cells}, {batch}, {width}], got {:?}", s.shape()),
                });
            }
        }
        if c0.is_some() && self.kind != RecurrentKind::Lstm {
            return Err(Error::InvalidArgument { op: "recurrent layer", reason: "only an LSTM has a cell state c0".into() });
        }
        let initial = |state: Option<&Tensor>, k: usize, width: usize| match state {
            Some(s) => s.narrow(0, k, 1)?.reshape(&[batch, width]),
            None => Tensor::zeros(&[batch, width], &device),
        };
        // The current layer's input sequence, and its time axis.
        let (mut seq, mut seq_time_axis) = (x.clone(), time_axis);
        let mut outputs: Vec<Tensor> = Vec::new();
        let (mut h_n, mut c_n) = (Vec::new(), Vec::new());
        for layer in 0..self.layers {
            let features = seq.shape()[2];
            let mut per_direction = Vec::new();
            for dir in 0..self.directions() {
                let k = layer * self.directions() + dir;
                let cell = &self.cells[k];
                let mut h = initial(h0, k, self.state_width())?;
                let mut c = (self.kind == RecurrentKind::Lstm).then(|| initial(c0, k, self.hidden)).transpose()?;
                let mut outs = vec![None; steps];
                let order: Vec<usize> = if dir == 0 { (0..steps).collect() } else { (0..steps).rev().collect() };
                // RNNs and LSTMs add both biases to one sum: add them together once.
                // (A GRU applies b_hh inside its reset gate.)
                let bias = match (&cell.b_ih, &cell.b_hh) {
                    (Some(b_ih), _) if self.kind == RecurrentKind::Gru => Some(b_ih.get()),
                    (Some(b_ih), Some(b_hh)) => Some(b_ih.get().add(&b_hh.get())?),
                    _ => None,
                };
                // The input projections of all steps as one product (and, backward,
                // one weight gradient rather than one per step).
                let gate_width = cell.w_ih.get().shape()[0];
                let flat = seq.reshape(&[batch * steps, features])?;
                let rows = match &bias {
                    Some(b) => flat.matmul_bias(&cell.w_ih.get().t()?, b)?,
                    None => flat.matmul(&cell.w_ih.get().t()?)?,
                };
                let projections = rows.reshape(&[seq.shape()[0], seq.shape()[1], gate_width])?;
                for (i, &t) in order.iter().enumerate() {
                    let gx = projections.narrow(seq_time_axis, t, 1)?.reshape(&[batch, gate_width])?;
                    // From a zero state the first step skips the state's product.
                    let (nh, nc) = self.step(cell, &gx, &h, c.as_ref(), i == 0 && h0.is_none())?;
                    outs[t] = Some(nh.clone());
                    h = nh;
                    c = nc;
                }
                h_n.push(h);
                c_n.extend(c);
                per_direction.push(outs.into_iter().map(|o| o.expect("every step ran")).collect::<Vec<_>>());
            }
            outputs = (0..steps)
                .map(|t| {
                    if per_direction.len() == 1 {
                        Ok(per_direction[0][t].clone())
                    } else {
                        Tensor::concat(&[per_direction[0][t].clone(), per_direction[1][t].clone()], 1)
                    }
                })
                .collect::<Result<_>>()?;
            if layer + 1 < self.layers {
                // The next layer's input, time-major [T, N, D*H].
                let stacked: Vec<Tensor> = outputs.iter().map(|o| o.reshape(&[1, batch, o.shape()[1]])).collect::<Result<_>>()?;
                seq = Tensor::concat(&stacked, 0)?;
                if let Some(d) = &self.dropout {
                    seq = d.forward(&seq)?;
                }
                seq_time_axis = 0;
            }
        }
        Ok((outputs, h_n, c_n))
    }
}

impl Module for Recurrent {
    /// All hidden states of the last layer ([N, T, D*H] batch-first), or
    /// with `last_step_only` the last of them ([N, D*H]).
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if self.last_step_only {
            return self.last_output(x);
        }
        Ok(self.run(x)?.output)
    }

    fn set_training(&self, training: bool) {
        if let Some(d) = &self.dropout {
            d.set_training(training);
        }
    }

    fn parameters(&self) -> Vec<(String, Param)> {
        let mut out = Vec::new();
        for layer in 0..self.layers {
            for dir in 0..self.directions() {
                let cell = &self.cells[layer * self.directions() + dir];
                let sfx = if dir == 1 { "_reverse" } else { "" };
                let named = [
                    ("weight_ih", Some(&cell.w_ih)),
                    ("weight_hh", Some(&cell.w_hh)),
                    ("bias_ih", cell.b_ih.as_ref()),
                    ("bias_hh", cell.b_hh.as_ref()),
                    ("weight_hr", cell.w_hr.as_ref()),
                ];
                for (name, p) in named {
                    out.extend(p.map(|p| (format!("{name}_l{layer}{sfx}"), p.clone())));
                }
            }
        }
        out
    }
}
