//! In-context classification of a small table: the tabular PFN predicts the
//! test rows' classes from the training rows in one forward pass, beside two
//! baselines trained here on the same split (logistic regression and a small
//! MLP, full-batch Adam from a fixed seed).

use nnlab_core::{Device, Error, Result, Tensor, no_grad};
use serde::{Deserialize, Serialize};

use super::bar::softmax;
use super::gp::inverse_erf;
use super::pfn::{ENSEMBLE_VIEWS, Pfn, derive_seed};
use super::prior::{Dataset, Prior, standardise_columns};
use crate::data::table;
use crate::datasets::Rng;
use crate::init::Init;
use crate::{Linear, Module, Optimizer, OptimizerConfig, Param};

/// What the classification view accepts: a table a PFN reads in one pass.
pub const MAX_ROWS: usize = 1000;
pub const MAX_FEATURES: usize = 10;
pub const MAX_CLASSES: usize = 10;

/// A table split into training rows (the PFN's context) and test rows,
/// features standardised with the training rows' statistics.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TableSplit {
    pub features: usize,
    pub classes: usize,
    pub train_x: Vec<f32>,
    pub train_y: Vec<usize>,
    pub test_x: Vec<f32>,
    pub test_y: Vec<usize>,
}

fn invalid(path: &str, reason: String) -> Error {
    Error::InvalidSpec { path: path.into(), reason }
}

/// Reads a CSV table for classification (label column `label`) and splits
/// it; refuses what the PFN cannot take, saying which limit is passed.
pub fn table_split(csv: &str, label: &str, train_ratio: f32, seed: u64) -> Result<TableSplit> {
    if !(train_ratio > 0.0 && train_ratio < 1.0) {
        return Err(invalid("trainRatio", format!("must be between 0 and 1 (both excluded), got {train_ratio}")));
    }
    let preview = table::preview(csv)?;
    if preview.count > MAX_ROWS {
        return Err(invalid("data.csv", format!("{} rows; the PFN reads at most {MAX_ROWS}", preview.count)));
    }
    let features = preview.columns.len() - 1;
    if features > MAX_FEATURES {
        return Err(invalid("data.csv", format!("{features} feature columns; the PFN takes at most {MAX_FEATURES}")));
    }
    let s = table::load(csv, label, true, true, train_ratio, seed)?;
    let classes = match s.target {
        crate::data::Target::Classes(c) => c,
        crate::data::Target::Regression => unreachable!("loaded for classification"),
    };
    if classes > MAX_CLASSES {
        return Err(invalid("data.label", format!("column \"{label}\" has {classes} classes; the PFN tells at most {MAX_CLASSES} apart")));
    }
    if s.test.is_empty() || s.train.is_empty() {
        return Err(invalid("trainRatio", format!("{train_ratio} leaves no rows for training or testing")));
    }
    let labels = |y: &[f32]| y.iter().map(|&v| v as usize).collect();
    Ok(TableSplit { features, classes, train_y: labels(&s.train.y), test_y: labels(&s.test.y), train_x: s.train.x, test_x: s.test.x })
}

impl TableSplit {
    /// The share of test rows whose class is `predicted`.
    pub fn accuracy(&self, predicted: &[usize]) -> f64 {
        predicted.iter().zip(&self.test_y).filter(|(a, b)| a == b).count() as f64 / self.test_y.len().max(1) as f64
    }
}

/// The index of the largest of the first `classes` values of each row.
fn argmax_rows(values: &[f32], width: usize, classes: usize) -> Vec<usize> {
    values.chunks(width).map(|row| row[..classes].iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map_or(0, |(i, _)| i)).collect()
}

/// How many views of a table the PFN's classes average over (TabPFN's
/// ensembling): the first view is the table as given, each other one
/// shuffles the feature columns and renames the classes, so no arbitrary
/// column order or label numbering decides alone.
pub const ENSEMBLE: usize = 8;

impl Pfn {
    /// The tabular PFN's classes for the test rows, given the training rows:
    /// the class probabilities averaged over `views` views of the table.
    pub async fn classify(&self, t: &TableSplit, views: usize) -> Result<Vec<usize>> {
        let (Prior::Tabular(_), Some(max)) = (&self.spec.prior, self.spec.prior.classes()) else {
            return Err(invalid("model", format!("{} is not a classification PFN", self.spec.name)));
        };
        if t.classes > max || t.features > self.model.config.features {
            return Err(invalid(
                "data.csv",
                format!("{} features and {} classes; this PFN takes at most {} and {max}", t.features, t.classes, self.model.config.features),
            ));
        }
        let (f, c, n, tests) = (t.features, t.classes, t.train_y.len(), t.test_y.len());
        let x: Vec<f64> = t.train_x.iter().chain(&t.test_x).map(|&v| v as f64).collect();
        let mut scores = x.clone();
        normal_scores(&mut scores, f);
        let mut rng = Rng::new(derive_seed(self.spec.training.seed, ENSEMBLE_VIEWS, 0));
        let mut probs = vec![0.0f64; tests * c];
        let _guard = no_grad();
        for view in 0..views.max(1) {
            let mut columns: Vec<usize> = (0..f).collect();
            let mut names: Vec<usize> = (0..c).collect();
            if view > 0 {
                rng.shuffle(&mut columns);
                rng.shuffle(&mut names);
            }
            let d = Dataset {
                x: (if view % 2 == 1 { &scores } else { &x }).chunks(f).flat_map(|row| columns.iter().map(|&j| row[j])).collect(),
                y: t.train_y.iter().map(|&k| names[k] as f64).chain(std::iter::repeat_n(0.0, tests)).collect(),
                features: f,
            };
            let logits = self.logits(&[&d], n)?;
            let width = logits.shape()[2];
            for (row, sum) in logits.to_vec().await?.chunks(width).zip(probs.chunks_mut(c)) {
                let p = softmax(&row[..c]);
                for (k, s) in sum.iter_mut().enumerate() {
                    *s += p[names[k]];
                }
            }
        }
        let probs: Vec<f32> = probs.iter().map(|&p| p as f32).collect();
        Ok(argmax_rows(&probs, c, c))
    }
}

/// Each column replaced by its values' normal scores: Φ⁻¹ of the mid-rank
/// over all rows (tied values share their mean rank), then standardised; a
/// skewed feature becomes a bell-shaped one, the shape the prior draws most.
fn normal_scores(x: &mut [f64], features: usize) {
    let rows = x.len() / features.max(1);
    for f in 0..features {
        let mut order: Vec<usize> = (0..rows).collect();
        order.sort_by(|&a, &b| x[a * features + f].total_cmp(&x[b * features + f]));
        let mut scores = vec![0.0; rows];
        let mut i = 0;
        while i < rows {
            let mut j = i;
            while j + 1 < rows && x[order[j + 1] * features + f] == x[order[i] * features + f] {
                j += 1;
            }
            let q = ((i + j) as f64 / 2.0 + 0.5) / rows as f64;
            for &r in &order[i..=j] {
                scores[r] = std::f64::consts::SQRT_2 * inverse_erf(2.0 * q - 1.0);
            }
            i = j + 1;
        }
        for (r, v) in scores.into_iter().enumerate() {
            x[r * features + f] = v;
        }
    }
    standardise_columns(x, features);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Baseline {
    /// Multinomial logistic regression (a linear layer and softmax), L2 1e-3.
    Logistic,
    /// One hidden layer of 64 ReLU units, L2 1e-4.
    Mlp,
}

const BASELINE_STEPS: usize = 300;

/// Trains `kind` on the training rows (full-batch Adam, 300 steps, seed 0)
/// and returns its classes for the test rows.
pub async fn baseline(t: &TableSplit, kind: Baseline) -> Result<Vec<usize>> {
    let device = Device::Cpu;
    let (f, c) = (t.features, t.classes);
    let layers: Vec<Linear> = match kind {
        Baseline::Logistic => vec![Linear::new(f, c, true, Init::TorchDefault, 0, 1, &device)?],
        Baseline::Mlp => vec![Linear::new(f, 64, true, Init::TorchDefault, 0, 1, &device)?, Linear::new(64, c, true, Init::TorchDefault, 0, 3, &device)?],
    };
    let forward = |x: &Tensor| -> Result<Tensor> {
        let mut h = x.clone();
        for (i, l) in layers.iter().enumerate() {
            h = l.forward(&h)?;
            if i + 1 < layers.len() {
                h = h.relu()?;
            }
        }
        Ok(h)
    };
    let params: Vec<Param> = layers.iter().flat_map(|l| l.parameters().into_iter().map(|(_, p)| p)).collect();
    let (lr, weight_decay) = match kind {
        Baseline::Logistic => (0.05, 1e-3),
        Baseline::Mlp => (0.01, 1e-4),
    };
    let mut optimizer =
        Optimizer::new(OptimizerConfig::Adam { lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay, amsgrad: false, maximize: false }, params)?;
    let x = Tensor::from_vec(t.train_x.clone(), &[t.train_y.len(), f], &device)?;
    let y = Tensor::from_vec(t.train_y.iter().map(|&v| v as f32).collect(), &[t.train_y.len()], &device)?;
    for _ in 0..BASELINE_STEPS {
        let grads = forward(&x)?.cross_entropy(&y)?.backward()?;
        optimizer.step(&grads)?;
    }
    let _guard = no_grad();
    let logits = forward(&Tensor::from_vec(t.test_x.clone(), &[t.test_y.len(), f], &device)?)?;
    Ok(argmax_rows(&logits.to_vec().await?, c, c))
}

#[cfg(test)]
mod tests {
    use super::normal_scores;

    #[test]
    fn normal_scores_keep_the_order_share_ties_and_are_standardised() {
        // Two columns: one skewed with a tie, one already ordered backwards.
        let mut x = vec![1.0, 5.0, 100.0, 4.0, 2.0, 3.0, 2.0, 2.0, 1e4, 1.0];
        normal_scores(&mut x, 2);
        let column = |f: usize| -> Vec<f64> { x.iter().skip(f).step_by(2).copied().collect() };
        let (a, b) = (column(0), column(1));
        assert_eq!(a[2], a[3], "tied values share a score");
        assert!(a[0] < a[2] && a[2] < a[1] && a[4] > a[1], "{a:?}");
        assert!(b.windows(2).all(|w| w[0] > w[1]), "{b:?}");
        for c in [a, b] {
            let mean = c.iter().sum::<f64>() / 5.0;
            let var = c.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 5.0;
            assert!(mean.abs() < 1e-12 && (var - 1.0).abs() < 1e-9, "mean {mean}, variance {var}");
        }
    }
}
