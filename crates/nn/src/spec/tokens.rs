//! A spec's model run token by token (see crate::tokens): which models can,
//! and the trainer's calls that feed tokens and carry the layers' states
//! from one call to the next.
//!
//! The layers up to the one that drops the time axis (`last_step`, or a
//! recurrent layer's `last` output) run a token at a time; every layer after
//! it runs as usual on their output, which is then the model's output for
//! the sequences so far.

use nnlab_core::{Error, Result, Tensor, no_grad};
use serde::Serialize;

use super::train::SpecTrainer;
use super::{LayerSpec, ModelSpec, shape};
use crate::data::Target;
use crate::tokens::{Carry, per_sequence};

/// Whether a model can run token by token: how many top-level layers do,
/// or which layer keeps it from it and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenSupport {
    /// Top-level layers run a token at a time; 0 when the model can't be.
    pub layers: usize,
    /// The model's output keeps the time axis (each token's output is that
    /// position's); else a layer drops it and later layers run as usual.
    pub sequence_output: bool,
    /// The layer at fault (null when the input is not a sequence, or all is well).
    pub path: Option<String>,
    /// Why not, as a person reads it (null when the model can).
    pub reason: Option<String>,
}

/// What a layer does with the time axis.
enum Rule {
    /// Acts on each position alone, or carries a state along the sequence.
    Keeps,
    /// Its output is the last position's: the time axis is gone after it.
    Ends,
}

/// The rule of `spec` on an input of per-example shape `input` (time first),
/// or why it needs the whole sequence at once.
fn rule(spec: &LayerSpec, input: &[usize], path: &str) -> std::result::Result<Rule, (String, String)> {
    let refuse = |reason: &str| Err((path.to_string(), format!("{} ({}) {reason}", path, spec.type_name())));
    match spec {
        LayerSpec::Linear { .. } | LayerSpec::Activation { .. } | LayerSpec::Dropout { .. } | LayerSpec::Embedding { .. } => Ok(Rule::Keeps),
        LayerSpec::PositionalEncoding { .. } | LayerSpec::Aaren | LayerSpec::S4d { .. } => Ok(Rule::Keeps),
        LayerSpec::LayerNorm { .. } if spec.layer_norm_shape(input).len() < input.len() => Ok(Rule::Keeps),
        LayerSpec::LayerNorm { .. } => refuse("normalises over several positions at once"),
        LayerSpec::Rnn { bidirectional: true, .. } | LayerSpec::Gru { bidirectional: true, .. } | LayerSpec::Lstm { bidirectional: true, .. } => {
            refuse("is bidirectional: it also reads the sequence from its end")
        }
        LayerSpec::Rnn { output, .. } | LayerSpec::Gru { output, .. } | LayerSpec::Lstm { output, .. } => {
            Ok(if *output == super::SequenceOutput::Last { Rule::Ends } else { Rule::Keeps })
        }
        LayerSpec::Attention { causal: true, .. } | LayerSpec::TransformerEncoder { causal: true, .. } => Ok(Rule::Keeps),
        LayerSpec::Attention { .. } | LayerSpec::TransformerEncoder { .. } => refuse("lets every position attend to later ones (a causal one would not)"),
        LayerSpec::LastStep => Ok(Rule::Ends),
        LayerSpec::Residual { body, shortcut, .. } => {
            for (part, layers) in [("body", body), ("shortcut", shortcut)] {
                let mut shape = input.to_vec();
                for (i, l) in layers.iter().enumerate() {
                    let inner = format!("{path}.{part}[{i}]");
                    if let Rule::Ends = rule(l, &shape, &inner)? {
                        return Err((inner.clone(), format!("{inner} ({}) drops the time axis inside a residual block", l.type_name())));
                    }
                    shape = shape::layer_shape(l, &shape, &mut Vec::new()).map_err(|e| (inner, e.to_string()))?;
                }
            }
            Ok(Rule::Keeps)
        }
        LayerSpec::Conv1d { .. } | LayerSpec::Conv2d { .. } | LayerSpec::ConvBn { .. } | LayerSpec::InvertedResidual { .. } | LayerSpec::Pad { .. } => {
            refuse("mixes neighbouring positions")
        }
        LayerSpec::Flatten => refuse("joins every position into one vector"),
        LayerSpec::Tail { .. } => refuse("keeps several positions of the whole sequence"),
        _ => refuse("needs the whole sequence at once"),
    }
}

/// Which of `spec`'s layers run token by token. The spec's shapes must
/// have been checked (`infer`).
pub fn token_support(spec: &ModelSpec) -> TokenSupport {
    let sequence = spec.input.len() == 2 || (spec.input.len() == 1 && matches!(spec.layers.first(), Some(LayerSpec::Embedding { .. })));
    if !sequence {
        let reason = format!("the input {:?} is not a sequence ([steps, features], or token ids into an embedding)", spec.input);
        return TokenSupport { layers: 0, sequence_output: false, path: None, reason: Some(reason) };
    }
    let mut shape = spec.input.clone();
    for (i, l) in spec.layers.iter().enumerate() {
        let path = format!("layers[{i}]");
        match rule(l, &shape, &path) {
            Err((path, reason)) => return TokenSupport { layers: 0, sequence_output: false, path: Some(path), reason: Some(reason) },
            Ok(Rule::Ends) => return TokenSupport { layers: i + 1, sequence_output: false, path: None, reason: None },
            Ok(Rule::Keeps) => {}
        }
        match shape::layer_shape(l, &shape, &mut Vec::new()) {
            Ok(s) => shape = s,
            Err(e) => return TokenSupport { layers: 0, sequence_output: false, path: Some(path), reason: Some(e.to_string()) },
        }
    }
    TokenSupport { layers: spec.layers.len(), sequence_output: true, path: None, reason: None }
}

/// At most this many sequence positions (sequences x tokens) are carried:
/// causal attention keeps every token it has seen.
pub const MAX_CARRIED: usize = 1 << 20;

/// The states the trainer carries between `feed_tokens` calls.
pub(super) struct TokenCarry {
    carry: Carry,
    sequences: usize,
    position: usize,
}

/// One layer's carried state after the tokens fed so far.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CarriedState {
    pub path: String,
    pub kind: &'static str,
    /// Numbers carried per sequence (constant for recurrent layers, growing
    /// by a token's width per token for causal attention).
    pub size: usize,
    /// [sequences, size], the state tensors one after another.
    pub values: Vec<f32>,
}

/// What `feed_tokens` returns.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenRun {
    /// Tokens fed since the start (or the last reset).
    pub position: usize,
    /// The model's output for the sequences up to each token fed by this
    /// call: [tokens, sequences, output...] (class probabilities for
    /// classification, as `predict`).
    pub outputs: Vec<f32>,
    /// The per-sequence shape of one output.
    pub output_shape: Vec<usize>,
    pub states: Vec<CarriedState>,
}

fn refuse(reason: String) -> Error {
    Error::InvalidArgument { op: "token by token", reason }
}

impl SpecTrainer {
    /// Feeds `tokens` more tokens of `sequences` sequences (`x` as
    /// [sequences, tokens, token shape], the spec's input with `tokens`
    /// steps), carrying on from the tokens fed before. Training a step or
    /// loading a state starts the sequences again (the carried states belong
    /// to the weights that made them); so does `reset_tokens`.
    pub async fn feed_tokens(&mut self, x: &[f32], sequences: usize, tokens: usize) -> Result<TokenRun> {
        let support = &self.report.tokens;
        if support.layers == 0 {
            return Err(refuse(format!("this model can't run token by token: {}", support.reason.as_deref().unwrap_or("unknown reason"))));
        }
        let token_shape = &self.report.input[1..];
        let per: usize = token_shape.iter().product();
        let (carried, position) = self.tokens.as_ref().map_or((sequences, 0), |t| (t.sequences, t.position));
        if sequences == 0 || tokens == 0 || x.len() != sequences * tokens * per {
            return Err(refuse(format!(
                "expected {sequences} sequences of {tokens} tokens of {token_shape:?} ({} values), got {} values",
                sequences * tokens * per,
                x.len()
            )));
        }
        if carried != sequences {
            return Err(refuse(format!("the carried states are of {carried} sequences, not {sequences}: reset them first")));
        }
        if sequences.saturating_mul(position + tokens) > MAX_CARRIED {
            return Err(refuse(format!("at most {MAX_CARRIED} positions in all (sequences x tokens) are carried: reset to start again")));
        }
        let mut state = self.tokens.take().unwrap_or(TokenCarry { carry: Carry::default(), sequences, position: 0 });
        let run = self.run_tokens(x, tokens, &mut state).await;
        // A failed call may have left some layers a token ahead: start again.
        if run.is_ok() {
            self.tokens = Some(state);
        }
        run
    }

    /// Forgets the carried states: the next token starts new sequences.
    pub fn reset_tokens(&mut self) {
        self.tokens = None;
    }

    async fn run_tokens(&self, x: &[f32], tokens: usize, state: &mut TokenCarry) -> Result<TokenRun> {
        let _g = no_grad();
        let n = state.sequences;
        let shape: Vec<usize> = [n, tokens].into_iter().chain(self.report.input[1..].iter().copied()).collect();
        let x = Tensor::from_vec(x.to_vec(), &shape, &self.device)?;
        let (split, sequence_output) = (self.report.tokens.layers, self.report.tokens.sequence_output);
        let (stepwise, rest) = self.model.layers.split_at(split);
        let per_token: Vec<usize> = std::iter::once(n).chain(self.report.output[1..].iter().copied()).collect();
        let outputs = self.in_eval_mode(|| {
            (0..tokens)
                .map(|k| {
                    let token = x.narrow(1, k, 1)?;
                    let h = stepwise.iter().enumerate().try_fold(token, |h, (i, l)| l.forward_token(&h, state.carry.child(&format!("[{i}]"))))?;
                    // With the time axis kept to the end, a token's output is [n, 1, ...].
                    let h = if sequence_output { h.reshape(&per_token)? } else { h };
                    let out = rest.iter().try_fold(h, |h, l| l.forward(&h))?;
                    state.position += 1;
                    match self.data.target {
                        Target::Classes(_) => out.softmax(-1),
                        Target::Regression => Ok(out),
                    }
                })
                .collect::<Result<Vec<Tensor>>>()
        })?;
        let output_shape = if sequence_output { self.report.output[1..].to_vec() } else { self.report.output.clone() };
        let mut found = Vec::new();
        state.carry.states("layers", &mut found);
        let mut parts: Vec<Tensor> = outputs.iter().map(|o| o.reshape(&[o.numel()])).collect::<Result<_>>()?;
        let mut sizes = Vec::new();
        for (path, tensors) in &found {
            let flat: Vec<Tensor> = tensors.iter().map(per_sequence).collect::<Result<_>>()?;
            let joined = Tensor::concat(&flat, 1)?;
            sizes.push((path.clone(), joined.shape()[1]));
            parts.push(joined.reshape(&[joined.numel()])?);
        }
        // One readback for the outputs and every state.
        let all = Tensor::concat(&parts, 0)?.to_vec().await?;
        let out_len = outputs.iter().map(Tensor::numel).sum::<usize>();
        let (outs, mut rest_values) = (all[..out_len].to_vec(), &all[out_len..]);
        let mut states = Vec::new();
        for (path, size) in sizes {
            let (values, more) = rest_values.split_at(n * size);
            rest_values = more;
            let kind = self.report.layers.iter().find(|l| l.path == path).map_or("layer", |l| l.kind);
            states.push(CarriedState { path, kind, size, values: values.to_vec() });
        }
        Ok(TokenRun { position: state.position, outputs: outs, output_shape, states })
    }
}
