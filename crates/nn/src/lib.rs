//! Layers, losses, optimizers, initialisers, datasets (the 2D playground sets
//! among them), model specs and the spec trainer the site and the command line share.

pub mod activation;
pub mod batches;
pub mod data;
pub mod datasets;
pub mod experiment;
pub mod gradients;
pub mod init;
pub mod layers;
pub mod linear;
pub mod loss;
pub mod optim;
pub mod param;
pub mod pfn;
pub mod probe;
pub mod pruning;
pub mod random_subset;
pub mod sampling;
pub mod schedule;
pub mod spec;
pub mod step_plan;
pub mod tokens;
pub mod weights;

pub use activation::Activation;
pub use linear::Linear;
pub use optim::{Optimizer, OptimizerConfig};
pub use param::{Buffer, Param};
pub use probe::{ProbeKind, Probes};
pub use step_plan::{StepInput, StepPlan};
pub use tokens::Carry;

use nnlab_core::{Error, Result, Tensor};

/// Other ways to compute a trained model's outputs, each equal to the
/// standard one up to rounding.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Inference {
    /// Every layer as it trains.
    #[default]
    Standard,
    /// Every ConvBN block as one convolution with its BatchNorm folded into
    /// the weights and bias (one pass over the activations fewer).
    FoldedBatchnorm,
    /// Aaren and S4D layers token by token, each carrying a constant-size
    /// state, instead of with prefix sums (Aaren) or a convolution (S4D)
    /// over the whole sequence.
    Recurrent,
}

impl Inference {
    pub fn is_standard(&self) -> bool {
        *self == Inference::Standard
    }
}

/// A layer or model: a forward function and its named parameters.
pub trait Module {
    fn forward(&self, x: &Tensor) -> Result<Tensor>;
    /// Parameters with PyTorch `state_dict` names, in a stable order.
    fn parameters(&self) -> Vec<(String, Param)>;
    /// State saved with the weights but not trained (`running_mean`, ...).
    fn buffers(&self) -> Vec<(String, Buffer)> {
        Vec::new()
    }
    /// Training or evaluation mode (BatchNorm statistics, dropout).
    fn set_training(&self, _training: bool) {}
    /// How evaluation-mode forward passes compute the same outputs (see
    /// `Inference`); layers without another way ignore it.
    fn set_inference(&self, _mode: Inference) -> Result<()> {
        Ok(())
    }
    /// `forward`, also recording into `probes` what the inspection views
    /// show beyond the layer's output (attention weights, hidden states) and,
    /// for containers, each child's output under its path.
    fn probe(&self, x: &Tensor, _probes: &mut Probes) -> Result<Tensor> {
        self.forward(x)
    }
    /// The output at the next position of the sequences: `x` is that token
    /// ([N, 1, ...]), `carry` what this layer kept of the tokens before it
    /// (empty at the start); see tokens.rs. Layers that need the whole
    /// sequence at once (convolutions over time, pooling, bidirectional or
    /// non-causal layers) keep this refusal.
    fn forward_token(&self, _x: &Tensor, _carry: &mut Carry) -> Result<Tensor> {
        Err(Error::InvalidArgument { op: "token by token", reason: "this layer needs the whole sequence at once".into() })
    }
}
