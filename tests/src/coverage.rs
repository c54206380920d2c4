//! What proves each primitive right: the CPU-vs-GPU parity family that runs it
//! and the gradient check that differentiates it. `kind_of` and `coverage`
//! match every op exhaustively, so a new `Op` variant does not compile until
//! it is given both; the parity families and the gradient checks then record
//! the ops they actually ran and fail if one given to them is missing.

use std::cell::RefCell;
use std::collections::BTreeSet;

use nnlab_core::{Op, Tensor};

/// Declares `OpKind` and `ALL` from one list, so `ALL` cannot miss a kind.
macro_rules! op_kinds {
    ($($kind:ident),* $(,)?) => {
        /// An `Op` without its inputs.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum OpKind { $($kind),* }
        pub const ALL: &[OpKind] = &[$(OpKind::$kind),*];
    };
}

op_kinds!(
    Unary,
    Binary,
    Where,
    Reduce,
    Matmul,
    MatmulBias,
    Conv2d,
    MaxPool2d,
    AvgPool2d,
    IndexSelect,
    ScatterAdd,
    Concat,
    Narrow,
    Reshape,
    Permute,
    Expand,
    Pad,
    Cumsum,
    Contiguous,
    LstmCell,
    Recurrence,
    AttentionScan,
    SsmScan,
    CrossEntropy,
    Rows,
);

pub fn kind_of(op: &Op) -> OpKind {
    match op {
        Op::Unary(..) => OpKind::Unary,
        Op::Binary(..) => OpKind::Binary,
        Op::Where(..) => OpKind::Where,
        Op::Reduce { .. } => OpKind::Reduce,
        Op::Matmul(..) => OpKind::Matmul,
        Op::MatmulBias(..) => OpKind::MatmulBias,
        Op::Conv2d { .. } => OpKind::Conv2d,
        Op::MaxPool2d { .. } => OpKind::MaxPool2d,
        Op::AvgPool2d { .. } => OpKind::AvgPool2d,
        Op::IndexSelect { .. } => OpKind::IndexSelect,
        Op::ScatterAdd { .. } => OpKind::ScatterAdd,
        Op::Concat { .. } => OpKind::Concat,
        Op::Narrow { .. } => OpKind::Narrow,
        Op::Reshape(..) => OpKind::Reshape,
        Op::Permute(..) => OpKind::Permute,
        Op::Expand(..) => OpKind::Expand,
        Op::Pad { .. } => OpKind::Pad,
        Op::Cumsum { .. } => OpKind::Cumsum,
        Op::Contiguous(..) => OpKind::Contiguous,
        Op::LstmCell { .. } => OpKind::LstmCell,
        Op::Recurrence { .. } => OpKind::Recurrence,
        Op::AttentionScan { .. } => OpKind::AttentionScan,
        Op::SsmScan { .. } => OpKind::SsmScan,
        Op::CrossEntropy { .. } => OpKind::CrossEntropy,
        Op::Rows { .. } => OpKind::Rows,
    }
}

/// The parity families (`parity::run_family`), one `#[test]` each natively
/// and in the browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Unary,
    Binary,
    Reductions,
    Matmul,
    Random,
    Optimizers,
    Spatial,
    Movement,
}

/// The tests of tests/tests/gradcheck.rs, one group each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gradients {
    Unary,
    Binary,
    Where,
    Reductions,
    Matmul,
    MatmulBias,
    Convolution,
    Pooling,
    /// Gathers, scatters, slices, views, copies, padding, prefix sums, the LSTM
    /// cell, recurrences, attention scans and state-space scans.
    Indexing,
    /// Softmax, layer norm and cross-entropy.
    Normalisations,
}

/// Where each op is checked against the CPU and against central differences.
pub fn coverage(kind: OpKind) -> (Family, Gradients) {
    match kind {
        OpKind::Unary => (Family::Unary, Gradients::Unary),
        OpKind::Binary => (Family::Binary, Gradients::Binary),
        OpKind::Where => (Family::Binary, Gradients::Where),
        OpKind::Reduce => (Family::Reductions, Gradients::Reductions),
        OpKind::Matmul => (Family::Matmul, Gradients::Matmul),
        OpKind::MatmulBias => (Family::Matmul, Gradients::MatmulBias),
        OpKind::Conv2d => (Family::Spatial, Gradients::Convolution),
        OpKind::MaxPool2d | OpKind::AvgPool2d => (Family::Spatial, Gradients::Pooling),
        OpKind::IndexSelect | OpKind::ScatterAdd | OpKind::Concat | OpKind::Narrow | OpKind::Pad | OpKind::Cumsum => (Family::Movement, Gradients::Indexing),
        OpKind::LstmCell | OpKind::Recurrence | OpKind::AttentionScan | OpKind::SsmScan => (Family::Spatial, Gradients::Indexing),
        OpKind::Reshape | OpKind::Permute | OpKind::Expand | OpKind::Contiguous => (Family::Movement, Gradients::Indexing),
        OpKind::CrossEntropy | OpKind::Rows => (Family::Spatial, Gradients::Normalisations),
    }
}

thread_local! {
    static SEEN: RefCell<BTreeSet<OpKind>> = const { RefCell::new(BTreeSet::new()) };
}

/// Records every op in the graph that produced `t`.
pub fn record(t: &Tensor) {
    let mut stack = vec![t.clone()];
    SEEN.with(|seen| {
        let mut seen = seen.borrow_mut();
        while let Some(t) = stack.pop() {
            if let Some(op) = t.op() {
                seen.insert(kind_of(op));
                stack.extend(op.inputs().into_iter().cloned());
            }
        }
    });
}

/// Clears the record (a family or group starts).
pub fn start() {
    SEEN.with(|seen| seen.borrow_mut().clear());
}

/// The kinds `wanted` says belong here that the checks since `start` did not run.
pub fn missing(wanted: impl Fn(OpKind) -> bool) -> Vec<OpKind> {
    SEEN.with(|seen| ALL.iter().copied().filter(|&k| wanted(k) && !seen.borrow().contains(&k)).collect())
}
