//! Probes: a forward pass that also keeps the named intermediate tensors the
//! page's inspection views draw (every layer's output, attention weights,
//! recurrent hidden states), so no view re-implements a layer. Paths are the
//! spec's (`layers[2]`, `layers[4].body[1]`), as shape inference reports them.

use nnlab_core::{Result, Tensor};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ProbeKind {
    /// A layer's output, batch axis first.
    Output,
    /// Attention weights [N, heads, queries, keys] (rows sum to 1).
    Attention,
    /// Hidden states over time [N, T, units]: the states of an RNN/GRU/LSTM's
    /// last layer, or an S4D layer's output channels.
    Hidden,
}

pub struct Probe {
    pub path: String,
    pub kind: ProbeKind,
    pub tensor: Tensor,
}

/// What one probed forward pass recorded, in the order it ran.
pub struct Probes {
    prefix: String,
    pub entries: Vec<Probe>,
}

impl Probes {
    /// `root` is the path of the outermost module (`layers` for a spec's model).
    pub fn new(root: &str) -> Probes {
        Probes { prefix: root.to_string(), entries: Vec::new() }
    }

    /// Keeps `tensor` (detached) under the current path.
    pub fn record(&mut self, kind: ProbeKind, tensor: &Tensor) {
        self.entries.push(Probe { path: self.prefix.clone(), kind, tensor: tensor.detach() });
    }

    /// Runs `f` with `suffix` appended to the path (`[3]`, `.body`).
    pub fn within<T>(&mut self, suffix: &str, f: impl FnOnce(&mut Probes) -> Result<T>) -> Result<T> {
        let len = self.prefix.len();
        self.prefix.push_str(suffix);
        let out = f(self);
        self.prefix.truncate(len);
        out
    }

    pub fn find(&self, path: &str, kind: ProbeKind) -> Option<&Tensor> {
        self.entries.iter().find(|p| p.path == path && p.kind == kind).map(|p| &p.tensor)
    }
}

/// A parameter's name (`4.body.1.weight`) as the spec path of the layer that
/// owns it (`layers[4].body[1]`) and the rest of the name (`weight`): numbers
/// index layer lists, the words between them name a block's lists.
pub fn owner_of(name: &str) -> (String, String) {
    let parts: Vec<&str> = name.split('.').collect();
    let mut path = String::from("layers");
    let mut i = 0;
    while i < parts.len() {
        if let Ok(k) = parts[i].parse::<usize>() {
            path.push_str(&format!("[{k}]"));
            i += 1;
            // A block's own list of layers (`body`, `shortcut`) continues the path.
            if i + 1 < parts.len() && matches!(parts[i], "body" | "shortcut") && parts[i + 1].parse::<usize>().is_ok() {
                path.push('.');
                path.push_str(parts[i]);
                i += 1;
                continue;
            }
            break;
        }
        break;
    }
    (path, parts[i.min(parts.len())..].join("."))
}

#[cfg(test)]
mod tests {
    use super::owner_of;

    #[test]
    fn parameter_names_map_to_spec_paths() {
        assert_eq!(owner_of("0.weight"), ("layers[0]".into(), "weight".into()));
        assert_eq!(owner_of("4.body.1.weight"), ("layers[4].body[1]".into(), "weight".into()));
        assert_eq!(owner_of("3.self_attn.in_proj_weight"), ("layers[3]".into(), "self_attn.in_proj_weight".into()));
        assert_eq!(owner_of("2.conv.weight"), ("layers[2]".into(), "conv.weight".into()));
        assert_eq!(owner_of("5.shortcut.0.bias"), ("layers[5].shortcut[0]".into(), "bias".into()));
    }
}
