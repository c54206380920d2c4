//! RNN (tanh or ReLU), GRU and LSTM as torch.nn defines them: multi-layer,
//! optionally bidirectional and batch-first, PyTorch's gate order (GRU: r, z, n;
//! LSTM: i, f, g, o), parameter names (`weight_ih_l0`, `bias_hh_l1_reverse`, ...)
//! and init U(-1/sqrt(hidden), 1/sqrt(hidden)); torch's `bias`, `dropout`
//! (between stacked layers, in training), LSTM `proj_size` (`weight_hr_l0`),
//! initial states h0 and c0 and final states h_n and c_n. On a GPU each
//! layer and direction runs as one recurrence (`Tensor::recurrence`: one
//! dispatch forward, one backward) where the adapter's limits allow it;
//! elsewhere it is unrolled over time from primitives.

use nnlab_core::{CellKind, Device, Error, Result, Tensor};

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

/// The layer's cell: the one its recurrences apply.
pub type RecurrentKind = CellKind;

/// A layer's output: each step's [N, D*H], or (where the layer ran as
/// recurrences) per direction all steps [T, N, H] (time-major) and the last
/// step [N, H], each a view of the recurrence's states, so that using only
/// the last step costs one zero-padded gradient, not two.
enum Outputs {
    Steps(Vec<Tensor>),
    Whole { all: Vec<Tensor>, last: Vec<Tensor> },
}

impl Outputs {
    /// The last time step's output, [N, D*H].
    fn last(self) -> Result<Tensor> {
        match self {
            Outputs::Steps(mut steps) => Ok(steps.pop().expect("a non-empty sequence")),
            Outputs::Whole { mut last, .. } if last.len() == 1 => Ok(last.pop().expect("one direction")),
            Outputs::Whole { last, .. } => Tensor::concat(&last, 1),
        }
    }

    /// Every step's output, [T, N, D*H].
    fn stacked(self) -> Result<Tensor> {
        match self {
            Outputs::Whole { mut all, .. } if all.len() == 1 => Ok(all.pop().expect("one direction")),
            Outputs::Whole { all, .. } => Tensor::concat(&all, 2),
            Outputs::Steps(steps) => {
                let stacked: Vec<Tensor> = steps.iter().map(|o| o.unsqueeze(0)).collect::<Result<_>>()?;
                Tensor::concat(&stacked, 0)
            }
        }
    }
}

/// The final states of every layer and direction (h, and an LSTM's c).
#[derive(Default)]
struct Finals {
    h: Vec<Tensor>,
    c: Vec<Tensor>,
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
        let (outputs, finals) = self.run_steps(x, h0, c0)?;
        let output = outputs.stacked()?;
        let output = if self.batch_first { output.transpose(0, 1)?.contiguous()? } else { output };
        let stack = |states: &[Tensor]| -> Result<Tensor> {
            let s: Vec<Tensor> = states.iter().map(|t| t.unsqueeze(0)).collect::<Result<_>>()?;
            Tensor::concat(&s, 0)
        };
        let c_n = if finals.c.is_empty() { None } else { Some(stack(&finals.c)?) };
        Ok(RecurrentOutput { output, h_n: stack(&finals.h)?, c_n })
    }

    /// The last layer's output at the last time step ([N, D*H]), what
    /// `run(x).output` holds at t = T-1, without stacking every step (which
    /// would cost a copy per step forward and a gradient per step backward).
    pub fn last_output(&self, x: &Tensor) -> Result<Tensor> {
        self.run_steps(x, None, None)?.0.last()
    }

    /// The last layer's output and the final h (and c) of every layer and direction.
    fn run_steps(&self, x: &Tensor, h0: Option<&Tensor>, c0: Option<&Tensor>) -> Result<(Outputs, Finals)> {
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
        // On a GPU each layer and direction is one recurrence where it fits;
        // the CPU keeps the unrolled steps, whose products are its GEMM's.
        let fused = match &device {
            Device::Gpu(ctx) => self.proj_size == 0 && ctx.recurrence_fits(self.kind, self.hidden, batch),
            Device::Cpu => false,
        };
        // The current layer's input sequence, and its time axis.
        let (mut seq, mut seq_time_axis) = (x.clone(), time_axis);
        let mut finals = Finals::default();
        let mut outputs = Outputs::Steps(Vec::new());
        for layer in 0..self.layers {
            if fused && seq_time_axis != 0 {
                // Time-major rows, so the projections are the recurrence's [T, N, G*H].
                (seq, seq_time_axis) = (seq.transpose(0, 1)?.contiguous()?, 0);
            }
            let features = seq.shape()[2];
            let mut per_direction = Vec::new();
            for dir in 0..self.directions() {
                let k = layer * self.directions() + dir;
                let cell = &self.cells[k];
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
                if fused {
                    // From zero states, one buffer of zeros rather than a concat of two.
                    let state0 = match (h0, c0) {
                        (None, None) => Tensor::zeros(&[self.kind.states(), batch, self.hidden], &device)?,
                        _ if self.kind == RecurrentKind::Lstm => {
                            Tensor::concat(&[initial(h0, k, self.hidden)?.unsqueeze(0)?, initial(c0, k, self.hidden)?.unsqueeze(0)?], 0)?
                        }
                        _ => initial(h0, k, self.hidden)?.unsqueeze(0)?,
                    };
                    let (all, last) = self.recurrence(cell, &projections, &state0, dir == 1, &mut finals)?;
                    per_direction.push(Outputs::Whole { all: vec![all], last: vec![last] });
                } else {
                    let h = initial(h0, k, self.state_width())?;
                    let c = (self.kind == RecurrentKind::Lstm).then(|| initial(c0, k, self.hidden)).transpose()?;
                    per_direction.push(Outputs::Steps(self.unrolled(cell, &projections, seq_time_axis, (h, c), dir == 1, h0.is_none(), &mut finals)?));
                }
            }
            outputs = merge(per_direction)?;
            if layer + 1 < self.layers {
                // The next layer's input, time-major [T, N, D*H].
                seq = std::mem::replace(&mut outputs, Outputs::Steps(Vec::new())).stacked()?;
                if let Some(d) = &self.dropout {
                    seq = d.forward(&seq)?;
                }
                seq_time_axis = 0;
            }
        }
        Ok((outputs, finals))
    }

    /// One layer and direction as one recurrence from its projections [T, N,
    /// G*H] and initial states [S, N, H]: its hidden states [T, N, H] and
    /// those of the last time step [N, H].
    fn recurrence(&self, cell: &Cell, projections: &Tensor, state0: &Tensor, reverse: bool, finals: &mut Finals) -> Result<(Tensor, Tensor)> {
        let (steps, batch, hs) = (projections.shape()[0], projections.shape()[1], self.hidden);
        let b_hh = if self.kind == RecurrentKind::Gru { cell.b_hh.as_ref().map(Param::get) } else { None };
        let states = Tensor::recurrence(self.kind, projections, &cell.w_hh.get(), b_hh.as_ref(), state0, reverse)?;
        // Slot j of plane s (h, then c) is row s * (T + 1) + j of this view;
        // slot t + 1 holds time t, or slot t when reversed.
        let rows = states.reshape(&[states.shape()[0] * (steps + 1), batch, hs])?;
        let at = |row: usize| rows.narrow(0, row, 1)?.reshape(&[batch, hs]);
        let first = usize::from(!reverse);
        // The state after the last step: at time T - 1, or at time 0 when reversed.
        let last = if reverse { 0 } else { steps };
        finals.h.push(at(last)?);
        if self.kind == RecurrentKind::Lstm {
            finals.c.push(at(steps + 1 + last)?);
        }
        Ok((rows.narrow(0, first, steps)?, at(first + steps - 1)?))
    }

    /// One layer and direction unrolled over time: each step's output [N, H]
    /// in time order. `zero_start`: h is the zero initial state, whose product
    /// the first step skips.
    #[allow(clippy::too_many_arguments)]
    fn unrolled(
        &self,
        cell: &Cell,
        projections: &Tensor,
        time_axis: usize,
        (mut h, mut c): (Tensor, Option<Tensor>),
        reverse: bool,
        zero_start: bool,
        finals: &mut Finals,
    ) -> Result<Vec<Tensor>> {
        let steps = projections.shape()[time_axis];
        let (batch, gate_width) = (projections.shape()[1 - time_axis], projections.shape()[2]);
        let mut outs = vec![None; steps];
        let order: Vec<usize> = if reverse { (0..steps).rev().collect() } else { (0..steps).collect() };
        for (i, &t) in order.iter().enumerate() {
            let gx = projections.narrow(time_axis, t, 1)?.reshape(&[batch, gate_width])?;
            let (nh, nc) = self.step(cell, &gx, &h, c.as_ref(), i == 0 && zero_start)?;
            outs[t] = Some(nh.clone());
            h = nh;
            c = nc;
        }
        finals.h.push(h);
        finals.c.extend(c);
        Ok(outs.into_iter().map(|o| o.expect("every step ran")).collect())
    }
}

/// One layer's output from its directions': the forward's, or both side by side.
fn merge(mut per_direction: Vec<Outputs>) -> Result<Outputs> {
    if per_direction.len() == 1 {
        return Ok(per_direction.pop().expect("one direction"));
    }
    let (backward, forward) = (per_direction.pop().expect("two directions"), per_direction.pop().expect("two directions"));
    Ok(match (forward, backward) {
        (Outputs::Whole { all: mut a, last: mut l }, Outputs::Whole { all, last }) => {
            a.extend(all);
            l.extend(last);
            Outputs::Whole { all: a, last: l }
        }
        (Outputs::Steps(fwd), Outputs::Steps(bwd)) => Outputs::Steps(fwd.into_iter().zip(bwd).map(|(f, b)| Tensor::concat(&[f, b], 1)).collect::<Result<_>>()?),
        _ => unreachable!("a layer's directions run the same way"),
    })
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
