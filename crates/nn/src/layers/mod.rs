//! One file per layer, each with PyTorch's parameter names, layouts and
//! default initialisation, so weights move to and from PyTorch unchanged.

pub mod aaren;
pub mod attention;
pub mod batchnorm;
pub mod conv;
pub mod conv_bn;
pub mod dropout;
pub mod embedding;
pub mod inverted_residual;
pub mod layernorm;
pub mod pool;
pub mod positional;
pub mod recurrent;
pub mod residual;
pub mod s4d;
pub mod sequential;
pub mod shape_ops;
pub mod transformer;

pub use aaren::{Aaren, AarenState};
pub use attention::{AttentionOptions, MultiheadAttention, Projection};
pub use batchnorm::BatchNorm;
pub use conv::{Conv1d, Conv2d, Padding, same_padding};
pub use conv_bn::ConvBn;
pub use dropout::Dropout;
pub use embedding::Embedding;
pub use inverted_residual::InvertedResidual;
pub use layernorm::LayerNorm;
pub use pool::{AdaptivePool, GlobalAvgPool2d, Pool, PoolKind};
pub use positional::{LearnedPositionalEncoding, SinusoidalPositionalEncoding};
pub use recurrent::{Recurrent, RecurrentKind, RecurrentOptions, RecurrentOutput};
pub use residual::Residual;
pub use s4d::S4d;
pub use sequential::Sequential;
pub use shape_ops::{Flatten, LastStep, MeanOverTime, Pad, Tail};
pub use transformer::TransformerEncoderLayer;

use crate::Param;

/// Prefixes the parameter names of a child module (`self_attn.` + `in_proj_weight`).
pub(crate) fn prefixed(prefix: &str, params: Vec<(String, Param)>) -> Vec<(String, Param)> {
    params.into_iter().map(|(n, p)| (format!("{prefix}.{n}"), p)).collect()
}
