//! A PFN ready to use: its spec, its model and (for regression) the bar
//! distribution its outputs are over. Saved as one safetensors file: the
//! model's parameters, `borders` [K + 1], and the spec in the metadata.

use std::collections::HashMap;

use nnlab_core::{Device, Error, Result, Tensor, no_grad};
use serde::{Deserialize, Serialize};

use super::bar::{self, BarDistribution};
use super::model::PfnModel;
use super::prior::{Dataset, Prior, standardise_columns};
use super::spec::{MAX_POINTS, PfnSpec};
use crate::Module;
use crate::datasets::Rng;
use crate::weights::{StoredTensor, host_safetensors, load_params, read_safetensors};

pub struct Pfn {
    pub spec: PfnSpec,
    pub model: PfnModel,
    /// The output distribution of a regression PFN; None for classification.
    pub bar: Option<BarDistribution>,
}

/// Inputs for predictions, as `nnlab pfn predict` reads them (other keys are ignored).
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PredictRequest {
    pub datasets: Vec<PredictDataset>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PredictDataset {
    pub x_context: Vec<Vec<f64>>,
    pub y_context: Vec<f64>,
    pub x_query: Vec<Vec<f64>>,
}

/// Per query point: bucket probabilities (regression) or class probabilities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    pub probs: Vec<Vec<f32>>,
}

fn invalid(path: String, reason: String) -> Error {
    Error::InvalidSpec { path, reason }
}

/// A file's tensors by name.
pub type Tensors = HashMap<String, StoredTensor>;
/// A file's metadata.
pub type Metadata = HashMap<String, String>;

/// A distinct seed for each (seed, purpose, index): splitmix64 of their mix.
pub fn derive_seed(seed: u64, domain: u64, index: u64) -> u64 {
    let mut z = seed ^ domain.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Seed domains, so that no two uses share random numbers.
pub const BORDERS: u64 = 1;
pub const BATCHES: u64 = 2;
pub const HELD_OUT: u64 = 3;
pub const ENSEMBLE_VIEWS: u64 = 4;

impl Pfn {
    /// A fresh PFN: random weights and, for regression, borders at the
    /// quantiles of `border_samples` prior draws of y.
    pub fn new(spec: PfnSpec, device: &Device) -> Result<Pfn> {
        spec.validate()?;
        let model = PfnModel::new(spec.model_config(), spec.training.seed, device)?;
        let bar = match spec.prior.classes() {
            Some(_) => None,
            None => Some(prior_borders(&spec, spec.model.buckets)?),
        };
        Ok(Pfn { spec, model, bar })
    }

    pub fn device(&self) -> Device {
        self.model.encoder.weight.get().device()
    }

    /// The model's parameters, the borders and the spec, with `extra`
    /// tensors and metadata (a checkpoint's optimizer state).
    pub async fn to_safetensors(&self, extra: Vec<(String, Tensor)>, mut metadata: HashMap<String, String>) -> Result<Vec<u8>> {
        let mut host = Vec::new();
        for (name, p) in self.model.parameters() {
            let t = p.get();
            host.push((name, t.shape().to_vec(), t.to_vec().await?));
        }
        for (name, t) in extra {
            host.push((name, t.shape().to_vec(), t.to_vec().await?));
        }
        if let Some(bar) = &self.bar {
            host.push(("borders".into(), vec![bar.borders().len()], bar.borders().iter().map(|&b| b as f32).collect()));
        }
        metadata.insert("spec".into(), serde_json::to_string(&self.spec).map_err(|e| invalid("spec".into(), e.to_string()))?);
        host_safetensors(&host, Some(metadata))
    }

    /// A PFN from a file `to_safetensors` wrote; also returns the file's
    /// other tensors and metadata.
    pub fn from_safetensors(bytes: &[u8], device: &Device) -> Result<(Pfn, Tensors, Metadata)> {
        let (tensors, metadata) = read_safetensors(bytes)?;
        let spec_text = metadata.get("spec").ok_or_else(|| invalid("metadata.spec".into(), "the file carries no PFN spec".into()))?;
        let spec = PfnSpec::parse(spec_text)?;
        let model = PfnModel::new(spec.model_config(), spec.training.seed, device)?;
        load_params(&model.parameters(), &tensors, "")?;
        let bar = match spec.prior.classes() {
            Some(_) => None,
            None => {
                let b = tensors.get("borders").ok_or_else(|| invalid("weights.borders".into(), "missing from the file".into()))?;
                if b.values.len() != spec.model.buckets + 1 {
                    return Err(invalid("weights.borders".into(), format!("{} borders for {} buckets", b.values.len(), spec.model.buckets)));
                }
                Some(BarDistribution::new(b.values.iter().map(|&v| v as f64).collect())?)
            }
        };
        Ok((Pfn { spec, model, bar }, tensors, metadata))
    }

    /// The model's input for datasets that share their number of points:
    /// x [B, T, features] (tabular features zero-padded to the model's width
    /// and scaled by width / used, as TabPFN does).
    pub fn input(&self, datasets: &[&Dataset], device: &Device) -> Result<Tensor> {
        let width = self.model.config.features;
        let t = datasets.first().map_or(0, |d| d.y.len());
        let scale_features = matches!(self.spec.prior, Prior::Tabular(_));
        let mut x = vec![0.0f32; datasets.len() * t * width];
        for (b, d) in datasets.iter().enumerate() {
            if d.y.len() != t || d.features == 0 || d.features > width || d.x.len() != t * d.features {
                return Err(Error::ShapeMismatch { op: "pfn_input", lhs: vec![d.y.len(), d.features], rhs: vec![t, width] });
            }
            let scale = if scale_features { width as f64 / d.features as f64 } else { 1.0 };
            for (i, row) in d.x.chunks(d.features).enumerate() {
                for (f, v) in row.iter().enumerate() {
                    x[(b * t + i) * width + f] = (v * scale) as f32;
                }
            }
        }
        Tensor::from_vec(x, &[datasets.len(), t, width], device)
    }

    /// Logits [B, T - n, outputs] for datasets whose first `n` points are the context.
    pub fn logits(&self, datasets: &[&Dataset], n: usize) -> Result<Tensor> {
        let device = self.device();
        let x = self.input(datasets, &device)?;
        let y: Vec<f32> = datasets.iter().flat_map(|d| d.y[..n].iter().map(|&v| v as f32)).collect();
        self.model.forward_split(&x, &Tensor::from_vec(y, &[datasets.len(), n], &device)?)
    }

    /// Checks a request against the model and turns it into datasets.
    pub fn check_request(&self, request: &PredictRequest) -> Result<Vec<(Dataset, usize)>> {
        let width = self.model.config.features;
        let max_context = self.spec.context[1];
        let mut out = Vec::with_capacity(request.datasets.len());
        for (i, d) in request.datasets.iter().enumerate() {
            let at = |field: &str| format!("datasets[{i}].{field}");
            let (n, m) = (d.x_context.len(), d.x_query.len());
            if n == 0 || n > max_context {
                return Err(invalid(at("x_context"), format!("{n} context points; this model takes 1 to {max_context}")));
            }
            if d.y_context.len() != n {
                return Err(invalid(at("y_context"), format!("{} values for {n} context points", d.y_context.len())));
            }
            if m == 0 || n + m > MAX_POINTS {
                return Err(invalid(at("x_query"), format!("{m} query points; give 1 to {}", MAX_POINTS - n)));
            }
            let features = d.x_context[0].len();
            let fixed = !matches!(self.spec.prior, Prior::Tabular(_));
            if features == 0 || features > width || (fixed && features != width) {
                return Err(invalid(at("x_context[0]"), format!("{features} features; this model takes {}{width}", if fixed { "" } else { "1 to " })));
            }
            let mut x = Vec::with_capacity((n + m) * features);
            for (field, rows) in [("x_context", &d.x_context), ("x_query", &d.x_query)] {
                for (r, row) in rows.iter().enumerate() {
                    if row.len() != features || row.iter().any(|v| !v.is_finite()) {
                        return Err(invalid(format!("{}[{r}]", at(field)), format!("expected {features} finite numbers")));
                    }
                    x.extend_from_slice(row);
                }
            }
            let classes = self.spec.prior.classes();
            for (r, &v) in d.y_context.iter().enumerate() {
                let ok = match classes {
                    Some(c) => v >= 0.0 && v < c as f64 && v.fract() == 0.0,
                    None => v.is_finite(),
                };
                if !ok {
                    return Err(invalid(
                        format!("{}[{r}]", at("y_context")),
                        match classes {
                            Some(c) => format!("{v} is not a class index in 0..{c}"),
                            None => format!("{v} is not a finite number"),
                        },
                    ));
                }
            }
            let mut y = d.y_context.clone();
            y.resize(n + m, 0.0);
            let mut dataset = Dataset { x, y, features };
            if !fixed {
                // Over all of the dataset's points, as the tabular prior does.
                standardise_columns(&mut dataset.x, features);
            }
            out.push((dataset, n));
        }
        Ok(out)
    }

    /// Per dataset, the probabilities of each query point: over the buckets
    /// (regression) or the classes.
    pub async fn predict(&self, request: &PredictRequest) -> Result<Vec<Prediction>> {
        let datasets = self.check_request(request)?;
        let _guard = no_grad();
        let mut out = Vec::with_capacity(datasets.len());
        for (d, n) in &datasets {
            let logits = self.logits(&[d], *n)?;
            let k = logits.shape()[2];
            let values = logits.to_vec().await?;
            out.push(Prediction { probs: values.chunks(k).map(|row| bar::softmax(row).into_iter().map(|p| p as f32).collect()).collect() });
        }
        Ok(out)
    }
}

/// Borders at the quantiles of y over prior datasets of the largest context
/// plus queries, rounded to f32 as the file stores them.
fn prior_borders(spec: &PfnSpec, buckets: usize) -> Result<BarDistribution> {
    let mut rng = Rng::new(derive_seed(spec.training.seed, BORDERS, 0));
    let per = spec.context[1] + spec.queries;
    let mut ys = Vec::with_capacity(spec.training.border_samples + per);
    while ys.len() < spec.training.border_samples {
        ys.extend(spec.prior.sample(&mut rng, per)?.y);
    }
    let b = BarDistribution::from_samples(&ys, buckets)?;
    BarDistribution::new(b.borders().iter().map(|&v| v as f32 as f64).collect())
}
