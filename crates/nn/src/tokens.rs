//! Running a sequence model token by token: each call gives every layer the
//! next token of each sequence of a batch, and the layer answers with its
//! output at that position, keeping in a `Carry` what it needs of the tokens
//! before (an RNN its hidden state, Aaren its running max, normaliser and
//! weighted sum, S4D its complex modes, causal attention every token so far).
//! The outputs equal the whole sequence's at the same positions, up to rounding.

use nnlab_core::{Result, Tensor};

/// What a layer keeps between the tokens of the sequences it runs.
#[derive(Default)]
pub struct Carry {
    /// The layer's state, batch axis first (empty before the first token).
    pub tensors: Vec<Tensor>,
    /// Tokens seen so far (positional encodings read it).
    pub position: usize,
    /// The carries of a container's parts, by the suffix of their path
    /// (`[2]`, `.body`).
    pub children: Vec<(String, Carry)>,
}

impl Carry {
    /// The carry of the part named `name`, made empty on first use.
    pub fn child(&mut self, name: &str) -> &mut Carry {
        let i = match self.children.iter().position(|(n, _)| n == name) {
            Some(i) => i,
            None => {
                self.children.push((name.to_string(), Carry::default()));
                self.children.len() - 1
            }
        };
        &mut self.children[i].1
    }

    /// Every carry holding a state, with its path below `prefix`, in order.
    pub fn states<'a>(&'a self, prefix: &str, out: &mut Vec<(String, &'a [Tensor])>) {
        if !self.tensors.is_empty() {
            out.push((prefix.to_string(), &self.tensors));
        }
        for (name, child) in &self.children {
            child.states(&format!("{prefix}{name}"), out);
        }
    }
}

/// A batch-first state tensor [N, ...] as [N, numbers per sequence].
pub fn per_sequence(t: &Tensor) -> Result<Tensor> {
    let n = t.shape()[0];
    t.contiguous()?.reshape(&[n, t.numel() / n.max(1)])
}
