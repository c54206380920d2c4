//! A trained model handed to PyTorch: the files of a folder that continues
//! training there, as `python train.py` or under
//! `torchrun --nproc_per_node=N train.py` (DistributedDataParallel):
//!
//! | file                  | what                                                         |
//! |-----------------------|--------------------------------------------------------------|
//! | `model.py`            | `Model`, the spec as an `nn.Module` (`pytorch::module_source`) |
//! | `weights.safetensors` | its `state_dict`, as trained here                            |
//! | `data.safetensors`    | the training and test data the run used                      |
//! | `training.json`       | optimizer, loss, batch size, schedule, step, trained names   |
//! | `spec.json`           | the nnlab spec                                               |
//! | `train.py`            | the training loop                                            |
//! | `README.md`           | how to run it                                                |

use nnlab_core::Result;
use serde::Serialize;

use super::train::invalid;
use super::{SpecTrainer, TrainerState, pytorch};
use crate::OptimizerConfig;
use crate::data::{ArrayDataset, Target};
use crate::schedule::Schedule;
use crate::weights::host_safetensors;

const TRAIN_PY: &str = include_str!("train.py");

/// What train.py reads besides the model, weights and data.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Training<'a> {
    name: &'a str,
    seed: u64,
    step: u64,
    optimizer: OptimizerConfig,
    loss: super::LossSpec,
    /// The layer whose output the bias loss weighs, with that loss.
    bias_features: Option<usize>,
    /// Number of classes, or null for regression.
    classes: Option<usize>,
    batch_size: usize,
    steps: usize,
    schedule: Option<Schedule>,
    clip_grad_norm: Option<f32>,
    /// The parameters trained (all unless the spec's `trainOnly` narrows them).
    trainable: &'a [String],
    /// Settings train.py does not reproduce, named so it can say so.
    not_reproduced: Vec<&'static str>,
}

/// JSON text indented for reading (through a `Value`: the spec types need
/// no serialiser in the wasm module).
fn indented(json: &str) -> Result<Vec<u8>> {
    let value: serde_json::Value = serde_json::from_str(json).map_err(|e| invalid("export", e.to_string()))?;
    serde_json::to_vec_pretty(&value).map_err(|e| invalid("export", e.to_string()))
}

fn split(name: &str, d: &ArrayDataset) -> [(String, Vec<usize>, Vec<f32>); 2] {
    let with_batch = |shape: &[usize]| std::iter::once(d.len()).chain(shape.iter().copied()).collect::<Vec<_>>();
    [(format!("x_{name}"), with_batch(&d.x_shape), d.x.clone()), (format!("y_{name}"), with_batch(&d.y_shape), d.y.clone())]
}

impl SpecTrainer {
    /// The PyTorch folder of this run at its current step, as (file name,
    /// contents) pairs; `state` is this trainer's `export_state()` and
    /// `spec_json` its spec's JSON text.
    pub fn pytorch_files(&self, state: &TrainerState, spec_json: &str) -> Result<Vec<(String, Vec<u8>)>> {
        let weights =
            state.tensors.iter().filter_map(|t| t.name.strip_prefix("model.").map(|n| (n.to_string(), t.shape.clone(), t.values.clone()))).collect::<Vec<_>>();
        let d = &self.data;
        let data = split("train", &d.train).into_iter().chain(split("test", &d.test)).collect::<Vec<_>>();
        let t = &self.training;
        let mut not_reproduced = Vec::new();
        if t.gradient_noise.is_some() {
            not_reproduced.push("gradientNoise");
        }
        match t.prune {
            Some(super::PruneSpec::Gradual { .. }) => not_reproduced.push("prune (no further weights are pruned, and the pruned ones may grow again)"),
            Some(_) => not_reproduced.push("prune (the pruned weights start at zero but may grow again)"),
            None => {}
        }
        if t.subset_ratio.is_some() {
            not_reproduced.push(if t.subset_fixed {
                "subsetRatio, subsetFixed (every epoch uses all examples)"
            } else {
                "subsetRatio (every epoch uses all examples)"
            });
        }
        if t.train_random.is_some() {
            not_reproduced.push("trainRandom (every entry of the trained tensors is trained)");
        }
        let training = Training {
            name: &self.spec.name,
            seed: self.spec.seed,
            step: state.step,
            optimizer: self.optimizer.config(),
            loss: self.loss.clone(),
            bias_features: self.bias_features,
            classes: match d.target {
                Target::Classes(c) => Some(c),
                Target::Regression => None,
            },
            batch_size: t.batch_size,
            steps: t.steps,
            schedule: t.schedule,
            clip_grad_norm: t.clip_grad_norm,
            trainable: &self.trainable,
            not_reproduced,
        };
        let readme = format!(
            "# {name} in PyTorch\n\nExported by nnlab at step {step}. Needs `torch` and `safetensors` (`pip install torch safetensors`).\n\n\
             ```sh\npython train.py                          # continue training for the spec's {steps} steps\npython train.py --steps 500 --eval-every 100\n\
             torchrun --nproc_per_node=2 train.py     # DistributedDataParallel: gloo on the CPU, NCCL on GPUs\n```\n\n\
             The global batch is the spec's ({batch}); under torchrun each process takes its share of it.\n\
             `train.py` writes `trained.safetensors`, which `Model().load_state_dict(...)` and nnlab both read.\n\
             To use the model elsewhere:\n\n```python\nfrom safetensors.torch import load_file\nfrom model import Model\n\n\
             model = Model()\nmodel.load_state_dict(load_file(\"weights.safetensors\"))\nmodel.eval()\n```\n",
            name = self.spec.name,
            step = state.step,
            steps = t.steps,
            batch = t.batch_size,
        );
        Ok(vec![
            ("model.py".into(), pytorch::module_source(&self.spec)?.into_bytes()),
            ("weights.safetensors".into(), host_safetensors(&weights, None)?),
            ("data.safetensors".into(), host_safetensors(&data, None)?),
            ("training.json".into(), serde_json::to_vec_pretty(&training).map_err(|e| invalid("export", e.to_string()))?),
            ("spec.json".into(), indented(spec_json)?),
            ("train.py".into(), TRAIN_PY.as_bytes().to_vec()),
            ("README.md".into(), readme.into_bytes()),
        ])
    }
}
