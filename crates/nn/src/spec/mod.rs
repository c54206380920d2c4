//! Model specs: one JSON document describes a model (a sequence of layers with
//! nested blocks and residual branches), its data, loss, optimizer and training
//! settings. The same document drives the site, the URL, the tests and the
//! PyTorch export. Parsing errors and checks name the offending field's path
//! (`layers[3].kernel: must be >= 1`); nothing a spec contains can panic.

mod build;
mod export;
pub mod inspect;
pub mod limits;
pub mod pytorch;
pub mod saved;
mod shape;
pub mod share;
mod state;
pub mod tokens;
mod train;

pub use build::{build, state_dict};
pub use shape::{LayerReport, ModelReport, infer};
pub use state::{NamedValues, TrainerState};
pub use train::{SpecMetrics, SpecTrainer, check_fit, load_data, loss_of};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Activation;
use crate::layers::PoolKind;
use crate::loss::Reduction;
use crate::optim::OptimizerConfig;
use crate::schedule::Schedule;
use nnlab_core::{Error, Pool2dParams, Result};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ModelSpec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Seeds initialisation, data and shuffling.
    #[serde(default = "one")]
    #[schemars(range(max = limits::MAX_SEED))]
    pub seed: u64,
    /// Shape of one example, without the batch axis ([C, H, W] images,
    /// [T, F] sequences, [T] token ids for an embedding).
    pub input: Vec<usize>,
    #[schemars(length(max = limits::MAX_LAYERS))]
    pub layers: Vec<LayerSpec>,
    #[serde(default)]
    pub data: Option<DataSpec>,
    #[serde(default)]
    pub loss: Option<LossSpec>,
    #[serde(default)]
    pub optimizer: Option<OptimizerConfig>,
    #[serde(default)]
    pub training: Option<TrainingSpec>,
}

fn one() -> u64 {
    1
}
fn yes() -> bool {
    true
}
fn unit() -> usize {
    1
}
fn unit_f() -> f32 {
    1.0
}

/// A spatial size: one number for every axis, or one per axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Size2 {
    One(usize),
    Two([usize; 2]),
}

impl Size2 {
    pub fn pair(self) -> [usize; 2] {
        match self {
            Size2::One(n) => [n, n],
            Size2::Two(p) => p,
        }
    }
}

/// How padding is filled: zeros (or a constant), the input mirrored
/// (reflect), its edge repeated (replicate), or wrapped around (circular).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaddingMode {
    #[default]
    Zeros,
    Reflect,
    Replicate,
    Circular,
}

impl PaddingMode {
    pub fn is_zeros(&self) -> bool {
        *self == PaddingMode::Zeros
    }

    /// The core's mode, with `value` filling the zeros mode.
    pub fn with_value(self, value: f32) -> nnlab_core::PadMode {
        match self {
            PaddingMode::Zeros => nnlab_core::PadMode::Constant(value),
            PaddingMode::Reflect => nnlab_core::PadMode::Reflect,
            PaddingMode::Replicate => nnlab_core::PadMode::Replicate,
            PaddingMode::Circular => nnlab_core::PadMode::Circular,
        }
    }

    /// torch's name for it.
    pub fn torch_name(self) -> &'static str {
        match self {
            PaddingMode::Zeros => "zeros",
            PaddingMode::Reflect => "reflect",
            PaddingMode::Replicate => "replicate",
            PaddingMode::Circular => "circular",
        }
    }
}

/// A pad layer's sizes: one for every side, or per side in torch's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum PadSides {
    All(usize),
    Each(Vec<usize>),
}

impl PadSides {
    /// (before, after) for each of the `axes` trailing axes, first axis
    /// first; None when the list does not have two sizes per axis.
    pub fn pairs(&self, axes: usize) -> Option<Vec<(usize, usize)>> {
        match self {
            PadSides::All(n) => Some(vec![(*n, *n); axes]),
            PadSides::Each(v) if v.len() == 2 * axes => Some(v.chunks(2).rev().map(|p| (p[0], p[1])).collect()),
            PadSides::Each(_) => None,
        }
    }
}

/// Zero padding: a size (per axis or for all), or "same" (stride 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum PaddingSpec {
    Size(Size2),
    Named(PaddingName),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PaddingName {
    Same,
    Valid,
}

impl Default for PaddingSpec {
    fn default() -> Self {
        PaddingSpec::Size(Size2::One(0))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum SequenceOutput {
    /// Every time step: [T, features].
    #[default]
    Sequence,
    /// The last time step only: [features].
    Last,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum Nonlinearity {
    #[default]
    Tanh,
    Relu,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum PositionalKind {
    #[default]
    Sinusoidal,
    Learned,
}

/// One layer or block. Shapes below are per example (no batch axis).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", rename_all_fields = "camelCase", deny_unknown_fields)]
pub enum LayerSpec {
    /// [..., in] -> [..., out]
    Linear {
        #[schemars(range(min = 1, max = limits::MAX_WIDTH))]
        out: usize,
        #[serde(default = "yes")]
        bias: bool,
        /// Draw the weights from N(0, sigmaW^2 / inputs) with zero biases
        /// instead of PyTorch's default uniform.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 0.0, max = limits::MAX_SIGMA_W))]
        sigma_w: Option<f32>,
    },
    /// [C, L] -> [out, L']
    Conv1d {
        #[schemars(range(min = 1, max = limits::MAX_CHANNELS))]
        out: usize,
        #[schemars(range(min = 1, max = limits::MAX_KERNEL))]
        kernel: usize,
        #[serde(default = "unit")]
        stride: usize,
        #[serde(default)]
        padding: PaddingSpec,
        #[serde(default = "unit")]
        dilation: usize,
        #[serde(default = "unit")]
        groups: usize,
        /// How the padding is filled (torch's padding_mode).
        #[serde(default)]
        padding_mode: PaddingMode,
        #[serde(default = "yes")]
        bias: bool,
    },
    /// [C, H, W] -> [out, H', W']; depthwise is groups = channels.
    Conv2d {
        #[schemars(range(min = 1, max = limits::MAX_CHANNELS))]
        out: usize,
        kernel: Size2,
        #[serde(default = "one_size")]
        stride: Size2,
        #[serde(default)]
        padding: PaddingSpec,
        #[serde(default = "one_size")]
        dilation: Size2,
        #[serde(default = "unit")]
        groups: usize,
        /// How the padding is filled (torch's padding_mode).
        #[serde(default)]
        padding_mode: PaddingMode,
        #[serde(default = "yes")]
        bias: bool,
    },
    MaxPool1d {
        kernel: usize,
        #[serde(default)]
        stride: Option<usize>,
        #[serde(default)]
        padding: usize,
        #[serde(default = "unit")]
        dilation: usize,
        /// Round the output length up (a last window may run past the input).
        #[serde(default)]
        ceil_mode: bool,
    },
    AvgPool1d {
        kernel: usize,
        #[serde(default)]
        stride: Option<usize>,
        #[serde(default)]
        padding: usize,
        #[serde(default)]
        ceil_mode: bool,
        /// Divide by the window's taps with the padding included (torch's default).
        #[serde(default = "yes")]
        count_include_pad: bool,
    },
    MaxPool2d {
        kernel: Size2,
        #[serde(default)]
        stride: Option<Size2>,
        #[serde(default = "zero_size")]
        padding: Size2,
        #[serde(default = "one_size")]
        dilation: Size2,
        #[serde(default)]
        ceil_mode: bool,
    },
    AvgPool2d {
        kernel: Size2,
        #[serde(default)]
        stride: Option<Size2>,
        #[serde(default = "zero_size")]
        padding: Size2,
        #[serde(default)]
        ceil_mode: bool,
        #[serde(default = "yes")]
        count_include_pad: bool,
    },
    /// [C, L] -> [C, output]: windows [floor(o L / output), ceil((o + 1) L / output)).
    AdaptiveAvgPool1d {
        output: usize,
    },
    AdaptiveMaxPool1d {
        output: usize,
    },
    /// [C, H, W] -> [C, output...], windows as the 1D ones along each axis.
    AdaptiveAvgPool2d {
        output: Size2,
    },
    AdaptiveMaxPool2d {
        output: Size2,
    },
    /// Pads the spatial axes of [C, L] or [C, H, W] (torch's ConstantPad,
    /// ReflectionPad, ReplicationPad and CircularPad layers).
    Pad {
        /// One size for every side, or per side as torch orders them: (left,
        /// right) for the last axis, then (top, bottom) for the one before.
        padding: PadSides,
        #[serde(default)]
        mode: PaddingMode,
        /// The fill of the zeros mode.
        #[serde(default)]
        value: f32,
    },
    /// [C, H, W] -> [C]
    GlobalAvgPool,
    /// [...] -> [product]
    Flatten,
    Dropout {
        p: f32,
    },
    /// [T] token ids -> [T, dim]
    Embedding {
        num: usize,
        dim: usize,
        /// A row that starts at zero and gets no gradient (negative counts from the end).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        padding_idx: Option<i64>,
        /// Rows read by a lookup are first rescaled to at most this norm.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_norm: Option<f32>,
    },
    /// BatchNorm1d on [C] or [C, L], BatchNorm2d on [C, H, W].
    BatchNorm {
        #[serde(default = "yes")]
        affine: bool,
        /// The running statistics' update factor; null averages all batches equally.
        #[serde(default = "bn_momentum")]
        momentum: Option<f32>,
        /// Keep running statistics for evaluation; without them evaluation
        /// uses each batch's statistics too.
        #[serde(default = "yes")]
        track_running_stats: bool,
    },
    /// Over the trailing axes of `normalizedShape` (the last axis when absent).
    LayerNorm {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        normalized_shape: Option<Vec<usize>>,
        /// A learned weight and bias of the normalised shape.
        #[serde(default = "yes")]
        elementwise_affine: bool,
        /// The bias, when there is an elementwise affine.
        #[serde(default = "yes")]
        bias: bool,
    },
    Activation {
        #[serde(rename = "fn")]
        function: Activation,
        /// Negative slope of leaky_relu.
        #[serde(default)]
        slope: Option<f32>,
    },
    /// act(shortcut(x) + scale * body(x)); an empty shortcut is the identity.
    Residual {
        body: Vec<LayerSpec>,
        #[serde(default)]
        shortcut: Vec<LayerSpec>,
        #[serde(default = "unit_f")]
        scale: f32,
        #[serde(default)]
        activation: Option<Activation>,
    },
    /// MobileNetV2 block on [C, H, W].
    InvertedResidual {
        out: usize,
        #[serde(default = "six")]
        expand: usize,
        #[serde(default = "unit")]
        stride: usize,
        /// An activation after the 1x1 projection; none (a linear bottleneck)
        /// is MobileNetV2's, the activation its ablation's alternative.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bottleneck: Option<Activation>,
    },
    /// Conv2d (no bias) + BatchNorm2d + optional activation.
    ConvBn {
        out: usize,
        kernel: usize,
        #[serde(default = "unit")]
        stride: usize,
        #[serde(default)]
        padding: PaddingSpec,
        #[serde(default = "unit")]
        groups: usize,
        #[serde(default)]
        activation: Option<Activation>,
    },
    /// [T, F] -> [T, D * hidden] or [D * hidden]
    Rnn {
        #[schemars(range(min = 1, max = limits::MAX_HIDDEN))]
        hidden: usize,
        #[serde(default = "unit")]
        layers: usize,
        #[serde(default)]
        bidirectional: bool,
        #[serde(default)]
        nonlinearity: Nonlinearity,
        #[serde(default)]
        output: SequenceOutput,
        /// Biases in every gate.
        #[serde(default = "yes")]
        bias: bool,
        /// Dropout on each layer's output but the last, in training.
        #[serde(default)]
        dropout: f32,
    },
    Gru {
        #[schemars(range(min = 1, max = limits::MAX_HIDDEN))]
        hidden: usize,
        #[serde(default = "unit")]
        layers: usize,
        #[serde(default)]
        bidirectional: bool,
        #[serde(default)]
        output: SequenceOutput,
        /// Biases in every gate.
        #[serde(default = "yes")]
        bias: bool,
        /// Dropout on each layer's output but the last, in training.
        #[serde(default)]
        dropout: f32,
    },
    Lstm {
        #[schemars(range(min = 1, max = limits::MAX_HIDDEN))]
        hidden: usize,
        #[serde(default = "unit")]
        layers: usize,
        #[serde(default)]
        bidirectional: bool,
        #[serde(default)]
        output: SequenceOutput,
        /// Biases in every gate.
        #[serde(default = "yes")]
        bias: bool,
        /// Dropout on each layer's output but the last, in training.
        #[serde(default)]
        dropout: f32,
        /// Each hidden state projected to this width (0: none).
        #[serde(default)]
        proj_size: usize,
    },
    /// Multi-head self-attention on [T, E].
    Attention {
        #[schemars(range(min = 1, max = limits::MAX_HEADS))]
        heads: usize,
        #[serde(default)]
        causal: bool,
        /// Biases in the input and output projections.
        #[serde(default = "yes")]
        bias: bool,
        /// A learned key and value every position can attend to.
        #[serde(default)]
        add_bias_kv: bool,
        /// A zero key and value every position can attend to.
        #[serde(default)]
        add_zero_attn: bool,
    },
    /// torch.nn.TransformerEncoderLayer on [T, E].
    TransformerEncoder {
        #[schemars(range(min = 1, max = limits::MAX_HEADS))]
        heads: usize,
        ff: usize,
        #[serde(default)]
        dropout: f32,
        #[serde(default = "relu")]
        activation: Activation,
        #[serde(default)]
        norm_first: bool,
        #[serde(default)]
        causal: bool,
    },
    PositionalEncoding {
        #[serde(default)]
        kind: PositionalKind,
        max_len: usize,
    },
    /// Attention as an RNN on [T, E].
    Aaren,
    /// Diagonal state-space layer on [T, H].
    S4d {
        state: usize,
    },
    /// The last time step: [T, F] -> [F].
    LastStep,
    /// The last `steps` time steps: [T, F] -> [steps, F].
    Tail {
        steps: usize,
    },
}

fn bn_momentum() -> Option<f32> {
    Some(0.1)
}
fn one_size() -> Size2 {
    Size2::One(1)
}
fn zero_size() -> Size2 {
    Size2::One(0)
}
fn six() -> usize {
    6
}
fn relu() -> Activation {
    Activation::Relu
}

impl LayerSpec {
    /// A pooling layer's spatial axes, kind and windows (1D pools as 2D ones of height 1).
    pub(crate) fn pool(&self) -> Option<(usize, PoolKind, Pool2dParams)> {
        let params = |kernel: [usize; 2], stride: [usize; 2], padding: [usize; 2], dilation: [usize; 2], ceil_mode, count_include_pad| Pool2dParams {
            dilation,
            ceil_mode,
            count_include_pad,
            ..Pool2dParams::new(kernel, stride, padding)
        };
        Some(match *self {
            LayerSpec::MaxPool1d { kernel, stride, padding, dilation, ceil_mode } => {
                (1, PoolKind::Max, params([1, kernel], [1, stride.unwrap_or(kernel)], [0, padding], [1, dilation], ceil_mode, true))
            }
            LayerSpec::AvgPool1d { kernel, stride, padding, ceil_mode, count_include_pad } => {
                (1, PoolKind::Avg, params([1, kernel], [1, stride.unwrap_or(kernel)], [0, padding], [1, 1], ceil_mode, count_include_pad))
            }
            LayerSpec::MaxPool2d { kernel, stride, padding, dilation, ceil_mode } => {
                (2, PoolKind::Max, params(kernel.pair(), stride.unwrap_or(kernel).pair(), padding.pair(), dilation.pair(), ceil_mode, true))
            }
            LayerSpec::AvgPool2d { kernel, stride, padding, ceil_mode, count_include_pad } => {
                (2, PoolKind::Avg, params(kernel.pair(), stride.unwrap_or(kernel).pair(), padding.pair(), [1, 1], ceil_mode, count_include_pad))
            }
            _ => return None,
        })
    }

    /// An adaptive pool's spatial axes, kind and output size (1D: [1, length]).
    pub(crate) fn adaptive_pool(&self) -> Option<(usize, PoolKind, [usize; 2])> {
        Some(match *self {
            LayerSpec::AdaptiveAvgPool1d { output } => (1, PoolKind::Avg, [1, output]),
            LayerSpec::AdaptiveMaxPool1d { output } => (1, PoolKind::Max, [1, output]),
            LayerSpec::AdaptiveAvgPool2d { output } => (2, PoolKind::Avg, output.pair()),
            LayerSpec::AdaptiveMaxPool2d { output } => (2, PoolKind::Max, output.pair()),
            _ => return None,
        })
    }

    /// A layer norm's normalised trailing axes on `input` (the last axis unless given).
    pub(crate) fn layer_norm_shape(&self, input: &[usize]) -> Vec<usize> {
        match self {
            LayerSpec::LayerNorm { normalized_shape: Some(shape), .. } => shape.clone(),
            _ => input.last().map(|&d| vec![d]).unwrap_or_default(),
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            LayerSpec::Linear { .. } => "linear",
            LayerSpec::Conv1d { .. } => "conv1d",
            LayerSpec::Conv2d { .. } => "conv2d",
            LayerSpec::MaxPool1d { .. } => "max_pool1d",
            LayerSpec::AvgPool1d { .. } => "avg_pool1d",
            LayerSpec::MaxPool2d { .. } => "max_pool2d",
            LayerSpec::AvgPool2d { .. } => "avg_pool2d",
            LayerSpec::AdaptiveAvgPool1d { .. } => "adaptive_avg_pool1d",
            LayerSpec::AdaptiveMaxPool1d { .. } => "adaptive_max_pool1d",
            LayerSpec::AdaptiveAvgPool2d { .. } => "adaptive_avg_pool2d",
            LayerSpec::AdaptiveMaxPool2d { .. } => "adaptive_max_pool2d",
            LayerSpec::Pad { .. } => "pad",
            LayerSpec::GlobalAvgPool => "global_avg_pool",
            LayerSpec::Flatten => "flatten",
            LayerSpec::Dropout { .. } => "dropout",
            LayerSpec::Embedding { .. } => "embedding",
            LayerSpec::BatchNorm { .. } => "batch_norm",
            LayerSpec::LayerNorm { .. } => "layer_norm",
            LayerSpec::Activation { .. } => "activation",
            LayerSpec::Residual { .. } => "residual",
            LayerSpec::InvertedResidual { .. } => "inverted_residual",
            LayerSpec::ConvBn { .. } => "conv_bn",
            LayerSpec::Rnn { .. } => "rnn",
            LayerSpec::Gru { .. } => "gru",
            LayerSpec::Lstm { .. } => "lstm",
            LayerSpec::Attention { .. } => "attention",
            LayerSpec::TransformerEncoder { .. } => "transformer_encoder",
            LayerSpec::PositionalEncoding { .. } => "positional_encoding",
            LayerSpec::Aaren => "aaren",
            LayerSpec::S4d { .. } => "s4d",
            LayerSpec::LastStep => "last_step",
            LayerSpec::Tail { .. } => "tail",
        }
    }
}

/// The data a spec trains on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "name", rename_all = "snake_case", deny_unknown_fields)]
pub enum DataSpec {
    /// scikit-learn's 8x8 handwritten digits: [1, 8, 8], 10 classes.
    #[serde(rename_all = "camelCase")]
    Digits {
        #[serde(default = "ratio")]
        train_ratio: f32,
    },
    /// MNIST-1D-style signals: [1, 40], 10 classes.
    #[serde(rename_all = "camelCase")]
    Mnist1d {
        samples: usize,
        #[serde(default = "ratio")]
        train_ratio: f32,
    },
    /// The adding problem: [length, 2] -> one value.
    #[serde(rename_all = "camelCase")]
    Adding {
        samples: usize,
        length: usize,
        #[serde(default = "ratio")]
        train_ratio: f32,
    },
    /// Copy/recall: [2 length + delay, symbols + 2] -> `length` classes.
    #[serde(rename_all = "camelCase")]
    Copy {
        samples: usize,
        symbols: usize,
        length: usize,
        delay: usize,
        #[serde(default = "ratio")]
        train_ratio: f32,
    },
    /// Parity of a bit string: [length, 1] -> 2 classes.
    #[serde(rename_all = "camelCase")]
    Parity {
        samples: usize,
        length: usize,
        #[serde(default = "ratio")]
        train_ratio: f32,
    },
    /// Sine forecasting: [length, 1] -> the next `horizon` values.
    #[serde(rename_all = "camelCase")]
    Sine {
        samples: usize,
        length: usize,
        horizon: usize,
        #[serde(default = "ratio")]
        train_ratio: f32,
    },
    /// TensorFlow Playground's 2D sets: [2] points in [-1, 1]^2; 2 classes, or
    /// one value for the regression sets. `noise` is the playground's slider / 100.
    #[serde(rename_all = "camelCase")]
    Plane {
        set: PlaneSet,
        #[serde(default = "plane_noise")]
        #[schemars(range(min = 0.0, max = limits::MAX_NOISE))]
        noise: f32,
        #[serde(default = "plane_samples")]
        #[schemars(range(min = 20, max = limits::MAX_SAMPLES))]
        samples: usize,
        #[serde(default = "half")]
        #[schemars(range(min = limits::MIN_TRAIN_RATIO, max = limits::MAX_TRAIN_RATIO))]
        train_ratio: f32,
        /// Training points added by hand: [x, y, target] with x, y in [-1, 1]
        /// and the target a class (0 or 1) or a value in [-1, 1].
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        #[schemars(length(max = limits::MAX_POINTS))]
        points: Vec<[f32; 3]>,
        /// Generated training points taken out by hand (their indices).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        #[schemars(length(max = limits::MAX_SAMPLES))]
        removed: Vec<usize>,
    },
    /// A table uploaded as CSV (header row, one example per row, at most
    /// 1 MiB, 20,000 rows and 100 columns): every column but `label` is a
    /// numeric feature, [features] -> a class or a value.
    #[serde(rename_all = "camelCase")]
    Table {
        csv: String,
        label: String,
        task: TableTask,
        /// Scale each feature to mean 0 and standard deviation 1 (training split statistics).
        #[serde(default = "yes")]
        standardize: bool,
        #[serde(default = "ratio")]
        #[schemars(range(min = limits::MIN_TRAIN_RATIO, max = limits::MAX_TRAIN_RATIO))]
        train_ratio: f32,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TableTask {
    /// The label's distinct values are the classes.
    Classification,
    /// The label is a number to predict.
    Regression,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PlaneSet {
    Circle,
    Xor,
    Gauss,
    Spiral,
    RegPlane,
    RegGauss,
}

impl PlaneSet {
    pub fn name(self) -> &'static str {
        match self {
            PlaneSet::Circle => "circle",
            PlaneSet::Xor => "xor",
            PlaneSet::Gauss => "gauss",
            PlaneSet::Spiral => "spiral",
            PlaneSet::RegPlane => "reg-plane",
            PlaneSet::RegGauss => "reg-gauss",
        }
    }
}

fn plane_noise() -> f32 {
    0.1
}
fn plane_samples() -> usize {
    500
}
fn half() -> f32 {
    0.5
}

fn ratio() -> f32 {
    0.8
}

impl DataSpec {
    /// The same data with at most `n` examples (to check shapes cheaply).
    pub fn with_samples(&self, n: usize) -> DataSpec {
        let mut d = self.clone();
        match &mut d {
            DataSpec::Digits { .. } | DataSpec::Table { .. } => {}
            DataSpec::Mnist1d { samples, .. }
            | DataSpec::Adding { samples, .. }
            | DataSpec::Copy { samples, .. }
            | DataSpec::Parity { samples, .. }
            | DataSpec::Sine { samples, .. }
            | DataSpec::Plane { samples, .. } => *samples = (*samples).min(n),
        }
        d
    }
}

/// The training loss, with PyTorch's arguments. `reduction` is mean or sum
/// (a step needs one number); evaluation always reports the mean.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "name", rename_all = "snake_case", rename_all_fields = "camelCase", deny_unknown_fields)]
pub enum LossSpec {
    CrossEntropy {
        #[serde(default)]
        label_smoothing: f32,
        /// Examples of this class add nothing to the loss (as torch's
        /// `ignore_index`; none by default).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ignore_index: Option<i64>,
        /// One weight per class.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        weight: Option<Vec<f32>>,
        #[serde(default)]
        reduction: Reduction,
    },
    Mse {
        #[serde(default)]
        reduction: Reduction,
    },
    Huber {
        #[serde(default = "unit_f")]
        delta: f32,
        #[serde(default)]
        reduction: Reduction,
    },
    BceWithLogits {
        /// The weight of positive examples, one per output (torch's `pos_weight`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pos_weight: Option<Vec<f32>>,
        #[serde(default)]
        reduction: Reduction,
    },
    /// Abrahamyan et al.'s bias loss: cross-entropy weighted per example by
    /// exp(alpha v) - beta, v the min-max normalised variance of the example's
    /// feature maps at the last layer that has them (the last convolution).
    /// Evaluation reports the cross-entropy, so runs with either loss compare.
    BiasLoss {
        #[serde(default = "bias_alpha")]
        alpha: f32,
        #[serde(default = "bias_beta")]
        beta: f32,
    },
}

fn bias_alpha() -> f32 {
    0.3
}
fn bias_beta() -> f32 {
    0.3
}

impl LossSpec {
    pub fn name(&self) -> &'static str {
        match self {
            LossSpec::CrossEntropy { .. } => "cross_entropy",
            LossSpec::Mse { .. } => "mse",
            LossSpec::Huber { .. } => "huber",
            LossSpec::BceWithLogits { .. } => "bce_with_logits",
            LossSpec::BiasLoss { .. } => "bias_loss",
        }
    }

    /// The usual loss for a target: cross-entropy for classes, MSE otherwise.
    pub fn default_for(classes: bool) -> LossSpec {
        let reduction = Reduction::Mean;
        if classes { LossSpec::CrossEntropy { label_smoothing: 0.0, ignore_index: None, weight: None, reduction } } else { LossSpec::Mse { reduction } }
    }

    pub fn reduction(&self) -> Reduction {
        match self {
            LossSpec::CrossEntropy { reduction, .. }
            | LossSpec::Mse { reduction }
            | LossSpec::Huber { reduction, .. }
            | LossSpec::BceWithLogits { reduction, .. } => *reduction,
            LossSpec::BiasLoss { .. } => Reduction::Mean,
        }
    }

    /// The same loss averaged over examples, as evaluation reports it.
    pub fn mean(&self) -> LossSpec {
        let mut loss = self.clone();
        if let LossSpec::CrossEntropy { reduction, .. }
        | LossSpec::Mse { reduction }
        | LossSpec::Huber { reduction, .. }
        | LossSpec::BceWithLogits { reduction, .. } = &mut loss
        {
            *reduction = Reduction::Mean;
        }
        loss
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PruneSpec {
    /// Random masks at initialisation with Erdős-Rényi-Kernel layer densities.
    RandomErk { density: f32 },
    /// Keep the largest weights of each layer.
    Magnitude { density: f32 },
    /// Prune each layer by magnitude during training, from dense at step
    /// `start` to `density` at step `end`, every `every` steps, on the cubic
    /// schedule of Zhu and Gupta (2017).
    Gradual {
        density: f32,
        start: u64,
        end: u64,
        #[serde(default = "prune_every")]
        #[schemars(range(min = 1))]
        every: u64,
    },
}

fn prune_every() -> u64 {
    50
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TrainingSpec {
    #[serde(default = "batch")]
    #[schemars(range(min = 1, max = limits::MAX_BATCH))]
    pub batch_size: usize,
    #[schemars(range(min = 1, max = limits::MAX_STEPS))]
    pub steps: usize,
    #[serde(default)]
    pub schedule: Option<Schedule>,
    #[serde(default)]
    pub clip_grad_norm: Option<f32>,
    /// eta of annealed Gaussian gradient noise (Neelakantan et al.).
    #[serde(default)]
    pub gradient_noise: Option<f32>,
    /// Train only parameters whose names match one of these patterns (`*.bn.weight`).
    #[serde(default)]
    pub train_only: Vec<String>,
    #[serde(default)]
    pub prune: Option<PruneSpec>,
    /// RS2: each epoch uses this fraction of the training set.
    #[serde(default)]
    pub subset_ratio: Option<f32>,
    /// With `subsetRatio`: the same subset in every epoch instead of a fresh
    /// one (the fixed-subset baseline of RS2).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub subset_fixed: bool,
    /// Train only this many scalar parameters, chosen at random among those
    /// trained; every other entry keeps its initial value.
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub train_random: Option<usize>,
}

fn batch() -> usize {
    32
}

impl ModelSpec {
    /// Parses a spec; errors name the path of the offending field.
    pub fn from_json(json: &str) -> Result<ModelSpec> {
        let de = &mut serde_json::Deserializer::from_str(json);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let path = if path == "." { "spec".to_string() } else { path };
            Error::InvalidSpec { path, reason: e.into_inner().to_string() }
        })
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("specs always serialise")
    }

    /// The JSON Schema of a spec document.
    pub fn schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(ModelSpec)).expect("schemas serialise")
    }
}
