//! What the page's inspection views show, computed from the trainer's model
//! in evaluation mode: the probes of one example or of a drawn input (every
//! layer's output, attention weights, hidden states), the confusion matrix
//! and the predictions on the test set, weight and gradient histograms per
//! layer, the share of zero activations after each ReLU, and the conv
//! filters. Each part is computed only when asked for, with one readback.

use nnlab_core::{Error, Result, Tensor, no_grad};
use serde::{Deserialize, Serialize};

use super::train::{invalid, loss_of};
use super::{LayerSpec, SpecTrainer};
use crate::data::Target;
use crate::probe::{Probe, ProbeKind, Probes, owner_of};
use crate::{Activation, Module};

/// Bins of every histogram.
pub const BINS: usize = 32;
/// Misclassified examples listed with the confusion matrix.
const MAX_WRONG: usize = 32;
/// Test examples whose outputs `predictions` returns.
const MAX_PREDICTIONS: usize = 256;
/// Training examples the gradients are taken on.
const GRADIENT_BATCH: usize = 256;
/// Values of the conv weights returned per layer.
const MAX_FILTER_VALUES: usize = 1 << 16;
/// A probe larger than this (per example) is left out: a view could not show
/// it, and sending it with every metrics update would cost more than training.
const MAX_PROBE_VALUES: usize = 1 << 18;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    Train,
    Test,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExampleRef {
    pub split: Split,
    pub index: usize,
}

/// Which parts to compute; all are off unless asked for.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct InspectRequest {
    /// Probes of one example of the dataset.
    pub example: Option<ExampleRef>,
    /// Probes of an input the user made (a drawing), in the spec's input shape.
    pub input: Option<Vec<f32>>,
    pub confusion: bool,
    pub predictions: bool,
    pub parameters: bool,
    pub sparsity: bool,
    pub filters: bool,
    /// The test-set parts use at most this many examples (a fixed sample).
    pub limit: Option<usize>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbeValues {
    pub path: String,
    pub kind: ProbeKind,
    /// Per example (no batch axis).
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

/// One input through the model.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Probed {
    /// Class probabilities (softmax over the last axis) or the raw outputs.
    pub output: Vec<f32>,
    pub probes: Vec<ProbeValues>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Wrong {
    pub index: usize,
    /// The target position within the example (sequence targets), else 0.
    pub position: usize,
    pub label: usize,
    pub predicted: usize,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Confusion {
    pub classes: usize,
    /// Test examples counted.
    pub examples: usize,
    /// Row = true class, column = predicted class.
    pub counts: Vec<u32>,
    pub wrong: Vec<Wrong>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Predictions {
    /// The first `count` test examples' outputs, as `Probed::output`.
    pub count: usize,
    pub outputs: Vec<f32>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Histogram {
    pub min: f32,
    pub max: f32,
    pub counts: Vec<u32>,
}

/// The parameters of one top-level layer (a block's inner layers included).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LayerParameters {
    pub path: String,
    pub count: usize,
    pub weights: Histogram,
    pub gradients: Histogram,
    pub weight_norm: f32,
    pub gradient_norm: f32,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Sparsity {
    pub path: String,
    /// The share of exactly-zero values.
    pub zeros: f32,
}

/// The outputs of one activation layer over (a sample of) the test set.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivationStats {
    pub path: String,
    /// The layer's output is a ReLU's (so its zeros are inactive units).
    pub relu: bool,
    /// The share of exactly-zero values.
    pub zeros: f32,
    /// The variance of every value (all units and examples together).
    pub variance: f32,
}

/// A conv layer's weights ([out, in / groups, kernel...]; at most the first
/// output channels when the tensor is large).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Filters {
    pub path: String,
    pub name: String,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Inspection {
    pub step: u64,
    pub example: Option<Probed>,
    pub drawing: Option<Probed>,
    pub confusion: Option<Confusion>,
    pub predictions: Option<Predictions>,
    pub parameters: Option<Vec<LayerParameters>>,
    pub sparsity: Option<Vec<Sparsity>>,
    pub filters: Option<Vec<Filters>>,
}

/// The layer at a spec path (`layers[4].body[1]`).
pub fn layer_at<'a>(layers: &'a [LayerSpec], path: &str) -> Option<&'a LayerSpec> {
    let mut list = layers;
    let mut found = None;
    for part in path.strip_prefix("layers")?.split('[').skip(1) {
        let (index, rest) = part.split_once(']')?;
        let layer = list.get(index.parse::<usize>().ok()?)?;
        found = Some(layer);
        list = match (layer, rest) {
            (LayerSpec::Residual { body, .. }, ".body") => body,
            (LayerSpec::Residual { shortcut, .. }, ".shortcut") => shortcut,
            (_, "") => &[],
            _ => return None,
        };
    }
    found
}

/// Layers whose output is a ReLU's: their zeros are "The Lazy Neuron
/// Phenomenon"'s activation sparsity.
pub fn ends_in_relu(layer: &LayerSpec) -> bool {
    let relu = |a: &Option<Activation>| matches!(a, Some(Activation::Relu | Activation::Relu6));
    match layer {
        LayerSpec::Activation { function, .. } => relu(&Some(*function)),
        LayerSpec::ConvBn { activation, .. } | LayerSpec::Residual { activation, .. } => relu(activation),
        _ => false,
    }
}

/// Top-level layers whose output is an activation function's.
fn ends_in_activation(layer: &LayerSpec) -> bool {
    matches!(layer, LayerSpec::Activation { .. }) || ends_in_relu(layer)
}

fn is_conv(layer: &LayerSpec) -> bool {
    matches!(layer, LayerSpec::Conv1d { .. } | LayerSpec::Conv2d { .. } | LayerSpec::ConvBn { .. } | LayerSpec::InvertedResidual { .. })
}

/// `values` in BINS equal bins from their min to their max.
pub fn histogram(values: &[f32]) -> Histogram {
    let (min, max) = values.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let mut counts = vec![0u32; BINS];
    if values.is_empty() {
        return Histogram { min: 0.0, max: 0.0, counts };
    }
    let width = (max - min) / BINS as f32;
    for &v in values {
        let bin = if width > 0.0 { (((v - min) / width) as usize).min(BINS - 1) } else { BINS / 2 };
        counts[bin] += 1;
    }
    Histogram { min, max, counts }
}

fn norm(values: &[f32]) -> f32 {
    values.iter().map(|v| (*v as f64).powi(2)).sum::<f64>().sqrt() as f32
}

/// Tensors flattened into one, read back at once, and cut apart again.
async fn read_all(tensors: &[Tensor]) -> Result<Vec<Vec<f32>>> {
    if tensors.is_empty() {
        return Ok(Vec::new());
    }
    let flat: Vec<Tensor> = tensors.iter().map(|t| t.contiguous()?.reshape(&[t.numel()])).collect::<Result<_>>()?;
    let all = Tensor::concat(&flat, 0)?.to_vec().await?;
    let mut at = 0;
    Ok(tensors
        .iter()
        .map(|t| {
            let part = all[at..at + t.numel()].to_vec();
            at += t.numel();
            part
        })
        .collect())
}

impl SpecTrainer {
    fn outputs_of(&self, out: &Tensor) -> Result<Tensor> {
        match self.data.target {
            Target::Classes(_) => out.softmax(-1),
            Target::Regression => Ok(out.clone()),
        }
    }

    /// The probes of one input [1, ...input].
    async fn probe_one(&self, x: Tensor) -> Result<Probed> {
        let _g = no_grad();
        let (out, probes) = self.in_eval_mode(|| {
            let mut probes = Probes::new("layers");
            let out = self.model.probe(&x, &mut probes)?;
            Ok((self.outputs_of(&out)?, probes))
        })?;
        let kept: Vec<Probe> = probes.entries.into_iter().filter(|p| p.tensor.numel() <= MAX_PROBE_VALUES).collect();
        let mut tensors = vec![out];
        tensors.extend(kept.iter().map(|p| p.tensor.clone()));
        let mut values = read_all(&tensors).await?.into_iter();
        let output = values.next().expect("the output was read");
        let probes =
            kept.into_iter().zip(values).map(|(p, values)| ProbeValues { path: p.path, kind: p.kind, shape: p.tensor.shape()[1..].to_vec(), values }).collect();
        Ok(Probed { output, probes })
    }

    fn example_input(&self, r: ExampleRef) -> Result<Tensor> {
        let d = if r.split == Split::Test { &self.data.test } else { &self.data.train };
        if r.index >= d.len() {
            return Err(Error::InvalidArgument { op: "inspect", reason: format!("example {} is out of range: the set has {} examples", r.index, d.len()) });
        }
        let per = d.x_len();
        let shape: Vec<usize> = std::iter::once(1).chain(d.x_shape.iter().copied()).collect();
        Tensor::from_vec(d.x[r.index * per..(r.index + 1) * per].to_vec(), &shape, &self.device)
    }

    fn drawn_input(&self, values: &[f32]) -> Result<Tensor> {
        let per: usize = self.report.input.iter().product();
        if values.len() != per || values.iter().any(|v| !v.is_finite()) {
            return Err(invalid("input", format!("a drawn input needs {per} finite values (the shape {:?}), got {}", self.report.input, values.len())));
        }
        let shape: Vec<usize> = std::iter::once(1).chain(self.report.input.iter().copied()).collect();
        Tensor::from_vec(values.to_vec(), &shape, &self.device)
    }

    /// The parts of `request`, computed on the current weights.
    pub async fn inspect(&self, request: &InspectRequest) -> Result<Inspection> {
        let example = match request.example {
            Some(r) => Some(self.probe_one(self.example_input(r)?).await?),
            None => None,
        };
        let drawing = match &request.input {
            Some(v) => Some(self.probe_one(self.drawn_input(v)?).await?),
            None => None,
        };
        let limit = request.limit.unwrap_or(usize::MAX).max(1);
        let (confusion, predictions, sparsity) =
            if request.confusion || request.predictions || request.sparsity { self.test_parts(request, limit).await? } else { (None, None, None) };
        let parameters = if request.parameters { Some(self.parameter_stats().await?) } else { None };
        let filters = if request.filters { Some(self.filters().await?) } else { None };
        Ok(Inspection { step: self.step, example, drawing, confusion, predictions, parameters, sparsity, filters })
    }

    /// One probed pass over (a sample of) the test set feeds the confusion
    /// matrix, the predictions and the activation sparsity.
    async fn test_parts(&self, request: &InspectRequest, limit: usize) -> Result<(Option<Confusion>, Option<Predictions>, Option<Vec<Sparsity>>)> {
        let _g = no_grad();
        let (x, _) = self.eval_set(true, limit)?;
        let n = x.shape()[0];
        // Only sparsity needs every layer's output kept.
        let (out, probes) = self.in_eval_mode(|| {
            let mut probes = Probes::new("layers");
            let out = if request.sparsity { self.model.probe(&x, &mut probes)? } else { self.model.forward(&x)? };
            Ok((out, probes))
        })?;
        let classes = match self.data.target {
            Target::Classes(c) => Some(c),
            Target::Regression => None,
        };
        let shown = n.min(MAX_PREDICTIONS);
        let zero = Tensor::scalar(0.0, &self.device)?;
        let relu_paths: Vec<&Probe> = if request.sparsity {
            probes.entries.iter().filter(|p| p.kind == ProbeKind::Output && layer_at(&self.spec.layers, &p.path).is_some_and(ends_in_relu)).collect()
        } else {
            Vec::new()
        };
        let mut tensors = Vec::new();
        let wanted_confusion = request.confusion && classes.is_some();
        if wanted_confusion {
            let c = classes.expect("checked");
            tensors.push(out.reshape(&[out.numel() / c, c])?.argmax(-1, false)?);
        }
        if request.predictions {
            tensors.push(self.outputs_of(&out.narrow(0, 0, shown)?)?);
        }
        if !relu_paths.is_empty() {
            let zeros: Vec<Tensor> = relu_paths.iter().map(|p| p.tensor.eq(&zero)?.mean_all()?.reshape(&[1])).collect::<Result<_>>()?;
            tensors.push(Tensor::concat(&zeros, 0)?);
        }
        let mut values = read_all(&tensors).await?.into_iter();
        let confusion = if wanted_confusion {
            let c = classes.expect("checked");
            let predicted = values.next().expect("read");
            let labels = &self.data.test.y[..predicted.len()];
            let per = predicted.len() / n;
            let mut counts = vec![0u32; c * c];
            let mut wrong = Vec::new();
            for (k, (&p, &l)) in predicted.iter().zip(labels).enumerate() {
                let (p, l) = (p as usize, l as usize);
                counts[l.min(c - 1) * c + p.min(c - 1)] += 1;
                if p != l && wrong.len() < MAX_WRONG && wrong.last().is_none_or(|w: &Wrong| w.index != k / per) {
                    wrong.push(Wrong { index: k / per, position: k % per, label: l, predicted: p });
                }
            }
            Some(Confusion { classes: c, examples: n, counts, wrong })
        } else {
            None
        };
        let predictions = if request.predictions { Some(Predictions { count: shown, outputs: values.next().expect("read") }) } else { None };
        let sparsity = if request.sparsity {
            let zeros = if relu_paths.is_empty() { Vec::new() } else { values.next().expect("read") };
            Some(relu_paths.iter().zip(zeros).map(|(p, zeros)| Sparsity { path: p.path.clone(), zeros }).collect())
        } else {
            None
        };
        Ok((confusion, predictions, sparsity))
    }

    /// The share of zeros and the variance of every top-level activation
    /// layer's output, in model order, on at most `limit` test examples (a
    /// fixed sample), in evaluation mode.
    pub async fn activation_stats(&self, limit: usize) -> Result<Vec<ActivationStats>> {
        let _g = no_grad();
        let (x, _) = self.eval_set(true, limit)?;
        let probes = self.in_eval_mode(|| {
            let mut probes = Probes::new("layers");
            self.model.probe(&x, &mut probes)?;
            Ok(probes)
        })?;
        let zero = Tensor::scalar(0.0, &self.device)?;
        let mut picked = Vec::new();
        for p in probes.entries.iter().filter(|p| p.kind == ProbeKind::Output && !p.path.contains('.')) {
            if let Some(layer) = layer_at(&self.spec.layers, &p.path).filter(|l| ends_in_activation(l)) {
                let t = p.tensor.reshape(&[p.tensor.numel()])?;
                let mean = t.mean_all()?;
                let variance = t.sub(&mean)?.square()?.mean_all()?;
                picked.push((p.path.clone(), ends_in_relu(layer), Tensor::concat(&[t.eq(&zero)?.mean_all()?.reshape(&[1])?, variance.reshape(&[1])?], 0)?));
            }
        }
        let tensors: Vec<Tensor> = picked.iter().map(|(_, _, t)| t.clone()).collect();
        let values = read_all(&tensors).await?;
        Ok(picked.into_iter().zip(values).map(|((path, relu, _), v)| ActivationStats { path, relu, zeros: v[0], variance: v[1] }).collect())
    }

    /// Weight and gradient histograms and norms per top-level layer. The
    /// gradients are of the loss on the first training examples, in
    /// evaluation mode (no dropout mask drawn, no BatchNorm statistics
    /// changed), so looking never changes the run.
    async fn parameter_stats(&self) -> Result<Vec<LayerParameters>> {
        let named = self.model.parameters();
        let (x, y) = self.eval_set(false, GRADIENT_BATCH)?;
        let grads = self.in_eval_mode(|| loss_of(&self.loss, self.data.target, &self.model.forward(&x)?, &y)?.backward())?;
        let _g = no_grad();
        let mut tensors = Vec::with_capacity(2 * named.len());
        for (_, p) in &named {
            let t = p.get();
            let g = match grads.get(&t) {
                Some(g) => g.clone(),
                None => Tensor::zeros(t.shape(), &t.device())?,
            };
            tensors.push(t);
            tensors.push(g);
        }
        let values = read_all(&tensors).await?;
        // Group by top-level layer, in model order.
        let mut groups: Vec<(String, Vec<f32>, Vec<f32>)> = Vec::new();
        for ((name, _), pair) in named.iter().zip(values.chunks(2)) {
            let (owner, _) = owner_of(name);
            let top = owner.split_once(']').map_or(owner.clone(), |(head, _)| format!("{head}]"));
            if groups.last().is_none_or(|g| g.0 != top) {
                groups.push((top, Vec::new(), Vec::new()));
            }
            let g = groups.last_mut().expect("pushed");
            g.1.extend_from_slice(&pair[0]);
            g.2.extend_from_slice(&pair[1]);
        }
        Ok(groups
            .into_iter()
            .map(|(path, w, g)| LayerParameters {
                path,
                count: w.len(),
                weights: histogram(&w),
                gradients: histogram(&g),
                weight_norm: norm(&w),
                gradient_norm: norm(&g),
            })
            .collect())
    }

    /// The weights of every conv layer (rank 3 or 4).
    async fn filters(&self) -> Result<Vec<Filters>> {
        let _g = no_grad();
        let mut picked = Vec::new();
        for (name, p) in self.model.parameters() {
            let (owner, rest) = owner_of(&name);
            let t = p.get();
            if t.rank() >= 3 && rest.ends_with("weight") && layer_at(&self.spec.layers, &owner).is_some_and(is_conv) {
                let per_out = t.numel() / t.shape()[0];
                let keep = (MAX_FILTER_VALUES / per_out).clamp(1, t.shape()[0]);
                picked.push((owner, name, t.narrow(0, 0, keep)?));
            }
        }
        let tensors: Vec<Tensor> = picked.iter().map(|(_, _, t)| t.clone()).collect();
        let values = read_all(&tensors).await?;
        Ok(picked.into_iter().zip(values).map(|((path, name, t), values)| Filters { path, name, shape: t.shape().to_vec(), values }).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_cover_every_value() {
        let h = histogram(&[-1.0, 0.0, 0.5, 1.0, 1.0]);
        assert_eq!((h.min, h.max), (-1.0, 1.0));
        assert_eq!(h.counts.iter().sum::<u32>(), 5);
        assert_eq!(h.counts[0], 1);
        assert_eq!(h.counts[BINS - 1], 2);
        assert_eq!(histogram(&[2.0, 2.0]).counts[BINS / 2], 2);
    }
}
