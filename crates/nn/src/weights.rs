//! Weights as safetensors with PyTorch `state_dict` names and layouts, so a
//! model trained here loads into PyTorch with `load_state_dict`.

use std::collections::HashMap;

use nnlab_core::{Device, Error, Result, Tensor};
use safetensors::SafeTensors;
use safetensors::tensor::{Dtype, TensorView};

use crate::Param;

/// Serialises named tensors (read back from their device) as f32 safetensors.
pub async fn to_safetensors(named: &[(String, Tensor)], metadata: Option<HashMap<String, String>>) -> Result<Vec<u8>> {
    let mut host = Vec::with_capacity(named.len());
    for (name, t) in named {
        host.push((name.clone(), t.shape().to_vec(), t.to_vec().await?));
    }
    host_safetensors(&host, metadata)
}

/// Serialises named host values `(name, shape, values)` as f32 safetensors.
pub fn host_safetensors(named: &[(String, Vec<usize>, Vec<f32>)], metadata: Option<HashMap<String, String>>) -> Result<Vec<u8>> {
    let bytes: Vec<Vec<u8>> = named.iter().map(|(_, _, values)| values.iter().flat_map(|v| v.to_le_bytes()).collect()).collect();
    let views = named
        .iter()
        .zip(&bytes)
        .map(|((name, shape, _), b)| Ok((name.clone(), TensorView::new(Dtype::F32, shape.clone(), b).map_err(io_error)?)))
        .collect::<Result<Vec<_>>>()?;
    safetensors::serialize(views, metadata).map_err(io_error)
}

fn io_error(e: impl std::fmt::Display) -> Error {
    Error::InvalidSpec { path: "weights".into(), reason: e.to_string() }
}

/// A tensor read from a safetensors file: shape and f32 values.
#[derive(Debug, Clone)]
pub struct StoredTensor {
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

impl StoredTensor {
    pub fn to_tensor(&self, device: &Device) -> Result<Tensor> {
        Tensor::from_vec(self.values.clone(), &self.shape, device)
    }
}

/// Every tensor of a safetensors file (f32, f16 upcast not supported) and its metadata.
pub fn read_safetensors(bytes: &[u8]) -> Result<(HashMap<String, StoredTensor>, HashMap<String, String>)> {
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(io_error)?;
    let metadata = header.metadata().clone().unwrap_or_default();
    let file = SafeTensors::deserialize(bytes).map_err(io_error)?;
    let mut out = HashMap::new();
    for (name, view) in file.tensors() {
        if view.dtype() != Dtype::F32 {
            return Err(io_error(format!("tensor {name} is {:?}; only f32 weights are supported", view.dtype())));
        }
        let values = view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        out.insert(name, StoredTensor { shape: view.shape().to_vec(), values });
    }
    Ok((out, metadata))
}

/// Loads `stored` into `params` by name (with an optional name prefix in the
/// file); every parameter must be present with the same shape.
pub fn load_params(params: &[(String, Param)], stored: &HashMap<String, StoredTensor>, prefix: &str) -> Result<()> {
    for (name, p) in params {
        let key = format!("{prefix}{name}");
        let s = stored.get(&key).ok_or_else(|| Error::InvalidSpec { path: format!("weights.{key}"), reason: "missing from the file".into() })?;
        let current = p.get();
        if s.shape != current.shape() {
            return Err(Error::InvalidSpec {
                path: format!("weights.{key}"),
                reason: format!("shape {:?} in the file, {:?} in the model", s.shape, current.shape()),
            });
        }
        p.set(s.to_tensor(&current.device())?);
    }
    Ok(())
}
