//! A recurrent layer's whole time loop in one dispatch per direction (see
//! recurrence.wgsl): a workgroup walks the steps for 4 batch rows, keeping
//! their states in workgroup memory, so a sequence costs one launch, not a
//! product and a cell per step.

use crate::context::{GpuBuffer, GpuContext, GpuError, Result, Variant};
use crate::kernels::{kernel_meta, op_codes};

op_codes!(
    /// The cell a recurrence applies at each step (gate order as in torch.nn).
    CellKind, "CELL" {
        /// h' = tanh(x + W h + b)
        RnnTanh => "TANH",
        /// h' = relu(x + W h + b)
        RnnRelu => "RELU",
        /// Gates r, z, n; the reset gate scales the recurrent part of n, bias included.
        Gru => "GRU",
        /// Gates i, f, g, o and a cell state.
        Lstm => "LSTM",
    }
);

impl CellKind {
    /// Gate blocks of H rows in the input and recurrent projections.
    pub fn gates(self) -> usize {
        match self {
            CellKind::RnnTanh | CellKind::RnnRelu => 1,
            CellKind::Gru => 3,
            CellKind::Lstm => 4,
        }
    }

    /// States carried from step to step: h, and an LSTM's c.
    pub fn states(self) -> usize {
        if self == CellKind::Lstm { 2 } else { 1 }
    }

    /// Columns of the backward's gate gradient: a GRU's input and recurrent
    /// projections take different gradients (the reset gate scales the
    /// latter's n block), the other cells' take the same.
    pub fn gradient_width(self, hidden: usize) -> usize {
        let g = self.gates() * hidden;
        if self == CellKind::Gru { 2 * g } else { g }
    }
}

kernel_meta!(
    /// recurrence.wgsl's meta: batch rows, time steps, whether the steps run
    /// from the last, whether a recurrent bias is bound, and element offsets
    /// and strides (gx's steps and rows; its gates are contiguous).
    pub(crate) RecurrenceMeta {
        rows: u32,
        steps: u32,
        reverse: u32,
        has_bias: u32,
        gx_at: u32,
        gx_t: u32,
        gx_n: u32,
        w_at: u32,
        b_at: u32,
        s0_at: u32,
        states_at: u32,
        saved_at: u32,
        grad_at: u32,
    }
);

/// A buffer and the element offset a tensor starts at in it.
pub type At<'a> = (&'a GpuBuffer, usize);

/// The inputs of a recurrence.
pub struct RecurrenceInputs<'a> {
    pub kind: CellKind,
    pub steps: usize,
    pub rows: usize,
    pub hidden: usize,
    /// [T, N, G*H] with strides (`gx_strides`) over steps and rows.
    pub gx: At<'a>,
    pub gx_strides: [usize; 2],
    /// [G*H, H], contiguous.
    pub w_hh: At<'a>,
    /// [G*H], added to the recurrent projection.
    pub b_hh: Option<At<'a>>,
    /// [S, N, H], contiguous: h0 (and c0).
    pub state0: At<'a>,
    pub reverse: bool,
}

impl GpuContext {
    /// Whether this device runs a recurrence of `rows` rows and `hidden`
    /// units as one workgroup per 4 rows: the backward's states and gate
    /// gradients ((4 + 2G) * H vec4s) in workgroup memory, invocations
    /// holding w_hh between them (`Layout`) within the workgroup size
    /// limits, and the workgroups within a dispatch's.
    pub fn recurrence_fits(&self, kind: CellKind, hidden: usize, rows: usize) -> bool {
        self.layout_within_limits(kind, hidden, rows).is_some()
    }

    fn layout_within_limits(&self, kind: CellKind, hidden: usize, rows: usize) -> Option<Layout> {
        let (l, layout) = (self.limits(), Layout::new(kind, hidden)?);
        let fits = (4 + 2 * kind.gates()) * hidden * 16 <= l.max_compute_workgroup_storage_size as usize
            && layout.wg <= l.max_compute_invocations_per_workgroup as usize
            && layout.wg <= l.max_compute_workgroup_size_x as usize
            && rows >= 1
            && rows.div_ceil(ROWS) <= l.max_compute_workgroups_per_dimension as usize;
        fits.then_some(layout)
    }

    /// The states [S, T + 1, N, H] (h, then an LSTM's c) in time order, the
    /// initial one first (last when `reverse`), and each step's recurrent
    /// pre-activations
    /// [T, N, G*H] (bias included), which the backward pass reads instead of
    /// computing them again.
    pub fn recurrence_forward(&self, x: &RecurrenceInputs) -> Result<(GpuBuffer, GpuBuffer)> {
        let (t, n, h, kind) = (x.steps, x.rows, x.hidden, x.kind);
        let states = self.alloc(kind.states() * (t + 1) * n * h)?;
        let saved = self.alloc(t * n * kind.gates() * h)?;
        if n * h > 0 {
            let meta = self.recurrence_meta(x, [(&states, 0); 3])?;
            let layout = self.recurrence_layout(x)?;
            let pipeline = self.pipeline_variant("recurrence_forward", variant(x), || source(x.kind, x.hidden, layout, Entry::Forward));
            let bias = x.b_hh.map_or(x.w_hh.0, |b| b.0);
            let bindings = [&meta, x.gx.0.raw(), x.w_hh.0.raw(), bias.raw(), x.state0.0.raw(), states.raw(), saved.raw()];
            self.dispatch_groups(&pipeline, &bindings, groups(n));
        }
        Ok((states, saved))
    }

    /// The backward pass from the forward's `states` and `saved`
    /// pre-activations and the states' upstream gradient `grad`: [T, N, W]
    /// gate gradients (W = `CellKind::gradient_width`), then [S, N, H], the
    /// gradient of the initial state.
    pub fn recurrence_backward(&self, x: &RecurrenceInputs, [states, saved, grad]: [At; 3]) -> Result<GpuBuffer> {
        let (t, n, h, kind) = (x.steps, x.rows, x.hidden, x.kind);
        let out = self.alloc(t * n * kind.gradient_width(h) + kind.states() * n * h)?;
        if n * h > 0 {
            let meta = self.recurrence_meta(x, [states, saved, grad])?;
            let layout = self.recurrence_layout(x)?;
            let pipeline = self.pipeline_variant("recurrence_backward", variant(x), || source(x.kind, x.hidden, layout, Entry::Backward));
            // The bias is in the saved pre-activations and the initial state
            // among the states: bindings 3 and 4 go unused.
            let numbered = [(0, &meta), (1, x.gx.0.raw()), (2, x.w_hh.0.raw()), (5, states.0.raw()), (6, grad.0.raw()), (7, out.raw()), (8, saved.0.raw())];
            self.dispatch_numbered(&pipeline, &numbered, groups(n));
        }
        Ok(out)
    }

    fn recurrence_layout(&self, x: &RecurrenceInputs) -> Result<Layout> {
        self.layout_within_limits(x.kind, x.hidden, x.rows)
            .ok_or_else(|| GpuError::Validation(format!("a recurrence of {} units and {} rows does not fit one workgroup per 4 rows here", x.hidden, x.rows)))
    }

    fn recurrence_meta(&self, x: &RecurrenceInputs, [states, saved, grad]: [At; 3]) -> Result<wgpu::Buffer> {
        let meta = RecurrenceMeta {
            rows: x.rows as u32,
            steps: x.steps as u32,
            reverse: x.reverse as u32,
            has_bias: x.b_hh.is_some() as u32,
            gx_at: x.gx.1 as u32,
            gx_t: x.gx_strides[0] as u32,
            gx_n: x.gx_strides[1] as u32,
            w_at: x.w_hh.1 as u32,
            b_at: x.b_hh.map_or(0, |b| b.1) as u32,
            s0_at: x.state0.1 as u32,
            states_at: states.1 as u32,
            saved_at: saved.1 as u32,
            grad_at: grad.1 as u32,
        };
        self.uniform(meta.words())
    }
}

fn variant(x: &RecurrenceInputs) -> Variant {
    Variant::Recurrence { kind: x.kind as u32, hidden: x.hidden }
}

#[derive(Clone, Copy)]
enum Entry {
    Forward,
    Backward,
}

/// An entry point's source: the meta struct, the cell codes, the sizes as
/// constants, recurrence.wgsl, the entry's own file and its product with
/// the recurrent weights written out term by term (`unrolled`).
fn source(kind: CellKind, h: usize, l: Layout, entry: Entry) -> String {
    let constants = [
        ("H", h),
        ("GH", kind.gates() * h),
        ("GW", kind.gradient_width(h)),
        ("KIND", kind as usize),
        ("WG", l.wg),
        ("R", l.rows),
        ("BW", l.width),
        ("UB", l.blocks),
        ("MS", l.parts),
        ("CH", l.part_rows),
    ];
    let constants: String = constants.iter().map(|(name, v)| format!("const {name}: u32 = {v}u;\n")).collect();
    let (body, held) = match entry {
        Entry::Forward => {
            let product = unrolled(h, l.rows, |j| format!("hs[{j}]"), |i| format!("set_pre(k + {}u, a{i});", i * l.wg));
            (format!("{}\nfn project(k: u32) {{\n{product}}}\n", include_str!("recurrence_forward.wgsl")), l.rows * h)
        }
        Entry::Backward => {
            let product = unrolled(l.part_rows, l.width, |m| format!("dg[min(m0 + {m}u, GH - 1u)]"), |c| format!("set_part(part, j0 + {c}u, a{c});"));
            let body = format!(
                "{}\nfn back_project(k: u32) {{\n    let part = k / UB; let j0 = BW * (k % UB); let m0 = CH * part;\n    if (part >= MS) {{ return; }}\n{product}}}\n",
                include_str!("recurrence_backward.wgsl")
            );
            (body, l.width * l.part_rows)
        }
    };
    format!(
        "{}{}{constants}{}{body}\nvar<private> wr: array<f32, {held}>;\n",
        RecurrenceMeta::wgsl_uniform(),
        CellKind::wgsl_constants(),
        include_str!("recurrence.wgsl")
    )
}

/// The body of a product whose `lanes` sums, a0, a1, ..., each add up
/// `terms` products of a weight held in `wr[lane * terms + term]` with a
/// vec4 of workgroup memory (`vector(term)`), then go to `store(lane)`;
/// written out term by term so every index into `wr` is a constant. GPUs
/// emulated on the CPU (SwiftShader, lavapipe) then read the weights as
/// plain loads instead of per-lane gathers (W3's forward recurrence: 19 ->
/// 11 ms on SwiftShader, 16 -> 4 ms on lavapipe), and other GPUs keep what
/// the registers do not hold in thread-interleaved private memory, which
/// reads coalesced. The price is compile time: about a second more per
/// kernel on SwiftShader for W3's 512 terms.
fn unrolled(terms: usize, lanes: usize, vector: impl Fn(usize) -> String, store: impl Fn(usize) -> String) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    for i in 0..lanes {
        let _ = writeln!(s, "    var a{i} = vec4(0.0);");
    }
    for j in 0..terms {
        let _ = write!(s, "    {{ let s = {};", vector(j));
        for i in 0..lanes {
            let _ = write!(s, " a{i} += wr[{}] * s;", i * terms + j);
        }
        s.push_str(" }\n");
    }
    for i in 0..lanes {
        let _ = writeln!(s, "    {}", store(i));
    }
    s
}

/// One workgroup per 4 batch rows.
fn groups(rows: usize) -> (u32, u32, u32) {
    (rows.div_ceil(ROWS) as u32, 1, 1)
}

/// Batch rows a workgroup carries (the components of a vec4).
const ROWS: usize = 4;

/// How a workgroup's invocations share a recurrence of H units and G gate
/// blocks (GH = G * H gate rows) and the weights they hold (each at most
/// `HELD`).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Layout {
    /// Invocations per workgroup.
    wg: usize,
    /// The forward's gate rows per invocation: k, k + WG, ... (at most 8:
    /// the kernels save and load a step's pre-activations for 8 rows).
    rows: usize,
    /// The backward's product with w_hh's transpose: `blocks` blocks of
    /// `width` units times `parts` parts of `part_rows` gate rows, invocation
    /// k taking block k % blocks of part k / blocks.
    width: usize,
    blocks: usize,
    parts: usize,
    part_rows: usize,
}

impl Layout {
    /// One invocation per 8 gate rows, in whole subgroups of 32 (so each
    /// read of the state serves 8 rows; on GPUs emulated on the CPU, where a
    /// workgroup-memory read costs about as much as the products it feeds, 4
    /// rows made W3's recurrence a third slower), or more where an
    /// invocation would hold over `HELD` weights. None when even one gate
    /// row or unit per invocation would.
    fn new(kind: CellKind, hidden: usize) -> Option<Layout> {
        if hidden == 0 {
            return None;
        }
        let gh = kind.gates() * hidden;
        let first = gh.div_ceil(8).next_multiple_of(32);
        (first..=first.max(gh).next_multiple_of(32)).step_by(32).find_map(|wg| Layout::with(kind, hidden, wg))
    }

    /// The widest backward blocks (up to 8 units: each read of the gate
    /// gradients serves 8 products) whose weights fit `HELD`.
    fn with(kind: CellKind, hidden: usize, wg: usize) -> Option<Layout> {
        let gh = kind.gates() * hidden;
        let rows = gh.div_ceil(wg);
        if rows * hidden > HELD {
            return None;
        }
        (1..=8).rev().find_map(|width| {
            let blocks = hidden.div_ceil(width);
            let parts = (wg / blocks).clamp(1, kind.gates());
            let part_rows = gh.div_ceil(parts);
            (blocks <= wg && width * part_rows <= HELD).then_some(Layout { wg, rows, width, blocks, parts, part_rows })
        })
    }
}

/// The most weights of w_hh one invocation holds (and terms its unrolled
/// product has): W3's LSTM of 64 units, with 32 invocations, holds 512 in
/// each direction.
const HELD: usize = 512;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invocations_hold_at_most_held_weights() {
        let w3 = Layout { wg: 32, rows: 8, width: 8, blocks: 8, parts: 4, part_rows: 64 };
        assert_eq!(Layout::new(CellKind::Lstm, 64), Some(w3), "W3's LSTM");
        assert_eq!(Layout::new(CellKind::Lstm, 0), None);
        assert_eq!(Layout::new(CellKind::RnnTanh, HELD + 1), None, "one gate row alone would hold more");
        for kind in [CellKind::RnnTanh, CellKind::RnnRelu, CellKind::Gru, CellKind::Lstm] {
            for h in 1..=HELD {
                let gh = kind.gates() * h;
                let Some(l) = Layout::new(kind, h) else {
                    assert!(gh > HELD, "{kind:?} {h}");
                    continue;
                };
                assert!(l.wg.is_multiple_of(32) && l.wg >= gh.div_ceil(8), "{kind:?} {h}: {l:?}");
                assert!(l.rows * l.wg >= gh && l.rows <= 8 && l.rows * h <= HELD, "{kind:?} {h}: {l:?}");
                assert!(l.width * l.blocks >= h && l.parts * l.part_rows >= gh && l.parts <= kind.gates(), "{kind:?} {h}: {l:?}");
                assert!(l.blocks * l.parts <= l.wg && l.width * l.part_rows <= HELD, "{kind:?} {h}: {l:?}");
            }
        }
    }

    #[test]
    fn the_unrolled_product_indexes_wr_with_constants() {
        let s = unrolled(3, 2, |j| format!("hs[{j}]"), |i| format!("set_pre(k + {}u, a{i});", 32 * i));
        assert!(s.contains("{ let s = hs[2]; a0 += wr[2] * s; a1 += wr[5] * s; }"), "{s}");
        assert!(s.contains("set_pre(k + 32u, a1);"), "{s}");
    }
}
