//! A whole session as one file: a safetensors file whose tensors are the
//! trainer's state (`model.<state_dict name>`, `optimizer.<parameter>.<slot>`,
//! all f32) and whose metadata holds the rest as JSON texts:
//!
//! | key        | value                                                        |
//! |------------|--------------------------------------------------------------|
//! | `format`   | `nnlab-session`                                              |
//! | `version`  | `1`                                                          |
//! | `spec`     | the model spec (with its data settings, seed and training)   |
//! | `training` | `{step, optimizerSteps, batches, subsets}` (where the run is)|
//! | `page`     | optional: what the page shows (views, curves, name), a JSON object |
//!
//! Any safetensors reader opens it; `safetensors.torch.load_file` gives the
//! weights under the `model.` prefix. Reading checks the file before anything
//! is built from it: its size, the header's length, the format, the spec (as
//! a spec is checked anywhere), every tensor's dtype, shape and values. The
//! tensors' names and shapes are checked against the model when a trainer
//! imports the state (`SpecTrainer::import_state`), which also changes
//! nothing unless all of it fits.

use std::collections::HashMap;

use nnlab_core::{Error, Result};
use safetensors::SafeTensors;
use safetensors::tensor::Dtype;
use serde::{Deserialize, Serialize};

use super::train::invalid as bad;
use super::{ModelSpec, NamedValues, TrainerState, check_fit, infer};
use crate::sampling::OrderState;
use crate::weights::host_safetensors;

pub const FORMAT: &str = "nnlab-session";
pub const VERSION: &str = "1";
/// The largest session file read (a model at the spec limits with Adam's
/// moments stays well below it).
pub const MAX_FILE_BYTES: usize = 256 << 20;
/// The largest header: the spec (an uploaded CSV of up to 1 MiB included),
/// the batch order and the page's curves.
pub const MAX_HEADER_BYTES: usize = 8 << 20;

/// What a session file holds.
#[derive(Debug, Clone)]
pub struct SavedSession {
    pub spec: ModelSpec,
    /// The spec's JSON text as the file holds it.
    pub spec_json: String,
    pub state: TrainerState,
    /// The page's own part (a JSON object), if the file has one.
    pub page: Option<serde_json::Value>,
}

/// The state without its tensors: the `training` metadata entry.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Progress {
    step: u64,
    optimizer_steps: u32,
    batches: OrderState,
    #[serde(default)]
    subsets: Option<OrderState>,
}

fn json<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| bad("file", e.to_string()))
}

/// Writes a spec (`spec_json`, its JSON text), `state` and the page's part
/// (`page`, a JSON object's text) as one safetensors file. The spec travels
/// as text, so the wasm module never needs to serialise spec types.
pub fn write_session(spec_json: &str, state: &TrainerState, page: Option<&str>) -> Result<Vec<u8>> {
    let mut metadata = HashMap::from([
        ("format".to_string(), FORMAT.to_string()),
        ("version".to_string(), VERSION.to_string()),
        ("spec".to_string(), spec_json.to_string()),
        (
            "training".to_string(),
            json(&Progress { step: state.step, optimizer_steps: state.optimizer_steps, batches: state.batches.clone(), subsets: state.subsets.clone() })?,
        ),
    ]);
    if let Some(page) = page {
        check_page(page)?;
        metadata.insert("page".into(), page.to_string());
    }
    let tensors: Vec<(String, Vec<usize>, Vec<f32>)> = state.tensors.iter().map(|t| (t.name.clone(), t.shape.clone(), t.values.clone())).collect();
    host_safetensors(&tensors, Some(metadata))
}

fn check_page(page: &str) -> Result<serde_json::Value> {
    match serde_json::from_str::<serde_json::Value>(page) {
        Ok(v @ serde_json::Value::Object(_)) => Ok(v),
        Ok(_) => Err(bad("file.page", "is not a JSON object")),
        Err(e) => Err(bad("file.page", format!("is not JSON ({e})"))),
    }
}

fn size(bytes: usize) -> String {
    if bytes >= 1 << 20 { format!("{:.1} MiB", bytes as f64 / (1 << 20) as f64) } else { format!("{bytes} bytes") }
}

/// Reads and checks a session file; see the module's documentation.
pub fn read_session(bytes: &[u8]) -> Result<SavedSession> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(bad("file", format!("is {}; a session file may be at most {}", size(bytes.len()), size(MAX_FILE_BYTES))));
    }
    if bytes.len() < 10 {
        return Err(bad("file", format!("is {}: too short to be a safetensors file", bytes.len())));
    }
    let header = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
    if header > MAX_HEADER_BYTES as u64 {
        return Err(bad("file.header", format!("claims {header} bytes; a session's header is at most {}", size(MAX_HEADER_BYTES))));
    }
    if header as usize > bytes.len() - 8 {
        return Err(bad(
            "file.header",
            format!("claims {header} bytes but the file has only {} after it: the file is truncated or not a safetensors file", bytes.len() - 8),
        ));
    }
    if bytes[8] != b'{' {
        return Err(bad("file", "is not a safetensors file (its header is not JSON)"));
    }
    let file = SafeTensors::deserialize(bytes).map_err(|e| bad("file", format!("is not a readable safetensors file ({e})")))?;
    let (_, meta) = SafeTensors::read_metadata(bytes).map_err(|e| bad("file", format!("is not a readable safetensors file ({e})")))?;
    let metadata = meta.metadata().clone().unwrap_or_default();
    let entry = |key: &str| metadata.get(key).ok_or_else(|| bad(&format!("file.{key}"), "is missing from the file's metadata"));
    if metadata.get("format").map(String::as_str) != Some(FORMAT) {
        return Err(bad(
            "file.format",
            format!("is not \"{FORMAT}\": this is a safetensors file, but not an nnlab session (weights alone cannot be opened as a session)"),
        ));
    }
    if entry("version")? != VERSION {
        return Err(bad("file.version", format!("is {:?}; this version of nnlab reads version {VERSION}", entry("version")?)));
    }
    let spec_json = entry("spec")?.clone();
    let spec = ModelSpec::from_json(&spec_json).map_err(|e| match e {
        Error::InvalidSpec { path, reason } => bad(&format!("file.spec.{}", path.trim_start_matches("spec").trim_start_matches('.')), reason),
        other => other,
    })?;
    let report = infer(&spec)?;
    check_fit(&spec, &report)?;
    let progress: Progress = serde_json::from_str(entry("training")?).map_err(|e| bad("file.training", e.to_string()))?;
    let page = metadata.get("page").map(|p| check_page(p)).transpose()?;
    let mut tensors = Vec::new();
    for (name, view) in file.tensors() {
        let path = format!("file.tensors.{name}");
        if view.dtype() != Dtype::F32 {
            return Err(bad(&path, format!("is {:?}; session tensors are F32", view.dtype())));
        }
        let values: Vec<f32> = view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        if values.iter().any(|v| !v.is_finite()) {
            return Err(bad(&path, "holds NaN or infinite values"));
        }
        tensors.push(NamedValues { name, shape: view.shape().to_vec(), values });
    }
    let state = TrainerState { step: progress.step, optimizer_steps: progress.optimizer_steps, tensors, batches: progress.batches, subsets: progress.subsets };
    Ok(SavedSession { spec, spec_json, state, page })
}
