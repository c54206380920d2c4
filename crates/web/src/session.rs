//! `Session`: one spec trainer on one backend, as JS drives it.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Float32Array, Promise};
use nnlab_core::Device;
use nnlab_nn::Inference;
use nnlab_nn::data::Target;
use nnlab_nn::experiment::{Metric, measure};
use nnlab_nn::spec::inspect::InspectRequest;
use nnlab_nn::spec::saved::{read_session, write_session};
use nnlab_nn::spec::{SpecTrainer, TrainerState};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::{Failure, busy, device_for, invalid_argument, js_error, spec_with_text, to_js};

/// A model, its data and its optimizer on one backend.
#[wasm_bindgen]
pub struct Session {
    trainer: Rc<RefCell<SpecTrainer>>,
    /// The spec's JSON text as given (session files and exports carry it).
    spec_json: Rc<str>,
}

fn backend_of(device: &Device) -> &'static str {
    match device {
        Device::Cpu => "cpu",
        Device::Gpu(_) => "webgpu",
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Preview {
    classes: Option<usize>,
    x_shape: Vec<usize>,
    y_shape: Vec<usize>,
}

fn state_from(value: &JsValue) -> Result<TrainerState, JsValue> {
    serde_wasm_bindgen::from_value(value.clone()).map_err(|e| js_error(Failure { kind: "invalid_spec", path: Some("state".into()), message: e.to_string() }))
}

// The trainer stays borrowed across its own readback on purpose: a second call
// that overlaps it gets a "busy" error instead of racing it.
#[allow(clippy::await_holding_refcell_ref)]
#[wasm_bindgen]
impl Session {
    /// Resolves to a Session training `spec` on `backend` ("webgpu" or
    /// "cpu"), continuing from `state` (from `exportState`) when given.
    #[wasm_bindgen(unchecked_return_type = "Promise<Session>")]
    pub fn open(
        #[wasm_bindgen(unchecked_param_type = "ModelSpec | string")] spec: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Backend")] backend: String,
        #[wasm_bindgen(unchecked_param_type = "TrainerState | null | undefined")] state: JsValue,
    ) -> Promise {
        future_to_promise(async move {
            let (spec, spec_json) = spec_with_text(&spec)?;
            let state = if state.is_null() || state.is_undefined() { None } else { Some(state_from(&state)?) };
            let device = device_for(&backend).await.map_err(js_error)?;
            let mut trainer = SpecTrainer::new(&spec, device).await.map_err(js_error)?;
            if let Some(state) = state {
                trainer.import_state(&state).map_err(js_error)?;
            }
            Ok(Session { trainer: Rc::new(RefCell::new(trainer)), spec_json: spec_json.into() }.into())
        })
    }

    /// Resolves to a Session continuing the run saved in a session file
    /// (from `exportFile`) on `backend`. The file is checked in full (its
    /// spec, every tensor's name, shape and values) before anything is used.
    #[wasm_bindgen(js_name = openFile, unchecked_return_type = "Promise<Session>")]
    pub fn open_file(bytes: Vec<u8>, #[wasm_bindgen(unchecked_param_type = "Backend")] backend: String) -> Promise {
        future_to_promise(async move {
            let saved = read_session(&bytes).map_err(js_error)?;
            let device = device_for(&backend).await.map_err(js_error)?;
            let mut trainer = SpecTrainer::new(&saved.spec, device).await.map_err(js_error)?;
            trainer.import_state(&saved.state).map_err(js_error)?;
            Ok(Session { trainer: Rc::new(RefCell::new(trainer)), spec_json: saved.spec_json.into() }.into())
        })
    }

    /// The whole session as one file (safetensors: the state's tensors, the
    /// spec and where training stands in its metadata), with `page` (a JSON
    /// object's text: what the page shows) kept beside them.
    #[wasm_bindgen(js_name = exportFile, unchecked_return_type = "Promise<Uint8Array>")]
    pub fn export_file(&self, page: Option<String>) -> Promise {
        let (trainer, spec_json) = (self.trainer.clone(), self.spec_json.clone());
        future_to_promise(async move {
            let t = trainer.try_borrow().map_err(|_| busy("session"))?;
            let state = t.export_state().await.map_err(js_error)?;
            let bytes = write_session(&spec_json, &state, page.as_deref()).map_err(js_error)?;
            Ok(js_sys::Uint8Array::from(bytes.as_slice()).into())
        })
    }

    /// The run as a PyTorch folder: file name -> contents (model.py,
    /// weights.safetensors, data.safetensors, training.json, spec.json,
    /// train.py, README.md); `python train.py` continues training there.
    #[wasm_bindgen(js_name = pytorchFiles, unchecked_return_type = "Promise<Record<string, Uint8Array>>")]
    pub fn pytorch_files(&self) -> Promise {
        let (trainer, spec_json) = (self.trainer.clone(), self.spec_json.clone());
        future_to_promise(async move {
            let t = trainer.try_borrow().map_err(|_| busy("session"))?;
            let state = t.export_state().await.map_err(js_error)?;
            let out = js_sys::Object::new();
            for (name, bytes) in t.pytorch_files(&state, &spec_json).map_err(js_error)? {
                js_sys::Reflect::set(&out, &name.into(), &js_sys::Uint8Array::from(bytes.as_slice()))?;
            }
            Ok(out.into())
        })
    }

    #[wasm_bindgen(getter, unchecked_return_type = "Backend")]
    pub fn backend(&self) -> Result<String, JsValue> {
        Ok(backend_of(self.trainer.try_borrow().map_err(|_| busy("session"))?.device()).into())
    }

    /// Optimizer steps taken so far.
    #[wasm_bindgen(getter)]
    pub fn step(&self) -> Result<f64, JsValue> {
        Ok(self.trainer.try_borrow().map_err(|_| busy("session"))?.steps_done() as f64)
    }

    /// Shapes and parameter counts of the model.
    #[wasm_bindgen(unchecked_return_type = "ModelReport")]
    pub fn report(&self) -> Result<JsValue, JsValue> {
        to_js(&self.trainer.try_borrow().map_err(|_| busy("session"))?.report)
    }

    /// Runs `steps` optimizer steps. GPU work is submitted, not awaited.
    pub fn train(&self, steps: u32) -> Result<(), JsValue> {
        let mut t = self.trainer.try_borrow_mut().map_err(|_| busy("session"))?;
        t.train(steps as usize).map_err(js_error)
    }

    /// Resolves once the device has done the steps submitted so far.
    pub fn sync(&self) -> Promise {
        let trainer = self.trainer.clone();
        future_to_promise(async move {
            let t = trainer.try_borrow().map_err(|_| busy("session"))?;
            t.sync().await.map_err(js_error)?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Loss and accuracy on the training and test sets, or on at most the
    /// first `limit` examples of each (a fixed sample: cheaper while training).
    #[wasm_bindgen(unchecked_return_type = "Promise<Metrics>")]
    pub fn metrics(&self, limit: Option<u32>) -> Promise {
        let trainer = self.trainer.clone();
        future_to_promise(async move {
            let t = trainer.try_borrow().map_err(|_| busy("session"))?;
            to_js(&t.metrics_on(limit.map_or(usize::MAX, |l| l as usize)).await.map_err(js_error)?)
        })
    }

    /// An experiment card's metric (`testAccuracy`, `activationSparsity`,
    /// ...) on the current weights, on the whole split it reads or on at most
    /// `limit` examples of it: `{value, layers: [{path, value}]}`.
    pub fn measure(&self, metric: String, limit: Option<u32>) -> Promise {
        let trainer = self.trainer.clone();
        future_to_promise(async move {
            let metric: Metric = serde_json::from_value(serde_json::Value::String(metric.clone()))
                .map_err(|_| invalid_argument("metric", format!("there is no metric called \"{metric}\"")))?;
            let t = trainer.try_borrow().map_err(|_| busy("session"))?;
            to_js(&measure(&t, metric, limit.map_or(usize::MAX, |l| l as usize)).await.map_err(js_error)?)
        })
    }

    /// How evaluation computes the outputs: `standard`, `foldedBatchnorm`
    /// (every ConvBN block as one convolution) or `recurrent` (Aaren token by
    /// token); the same outputs up to rounding.
    #[wasm_bindgen(js_name = setInference)]
    pub fn set_inference(&self, mode: String) -> Result<(), JsValue> {
        let mode: Inference = serde_json::from_value(serde_json::Value::String(mode.clone()))
            .map_err(|_| invalid_argument("inference", format!("there is no way of inference called \"{mode}\"")))?;
        self.trainer.try_borrow_mut().map_err(|_| busy("session"))?.set_inference(mode);
        Ok(())
    }

    /// The model's outputs for `n` examples packed in `x` (class
    /// probabilities for classification), in evaluation mode.
    #[wasm_bindgen(unchecked_return_type = "Promise<Float32Array>")]
    pub fn predict(&self, x: Float32Array, n: u32) -> Promise {
        let trainer = self.trainer.clone();
        future_to_promise(async move {
            let t = trainer.try_borrow().map_err(|_| busy("session"))?;
            let out = t.predict(&x.to_vec(), n as usize).await.map_err(js_error)?;
            Ok(Float32Array::from(out.as_slice()).into())
        })
    }

    /// Runs a sequence model token by token: `x` holds the next `tokens`
    /// tokens of each of `sequences` sequences ([sequences, tokens, token
    /// shape]); every layer carries its state on from the tokens fed by
    /// earlier calls. Resolves to the outputs for the sequences up to each
    /// token and the states after the last. Training or loading a state
    /// starts new sequences (`position` says how many tokens the states hold).
    #[wasm_bindgen(js_name = feedTokens, unchecked_return_type = "Promise<TokenRun>")]
    pub fn feed_tokens(&self, x: Float32Array, sequences: u32, tokens: u32) -> Promise {
        let trainer = self.trainer.clone();
        future_to_promise(async move {
            let mut t = trainer.try_borrow_mut().map_err(|_| busy("session"))?;
            to_js(&t.feed_tokens(&x.to_vec(), sequences as usize, tokens as usize).await.map_err(js_error)?)
        })
    }

    /// Forgets the states carried between `feedTokens` calls.
    #[wasm_bindgen(js_name = resetTokens)]
    pub fn reset_tokens(&self) -> Result<(), JsValue> {
        self.trainer.try_borrow_mut().map_err(|_| busy("session"))?.reset_tokens();
        Ok(())
    }

    /// What the inspection views show (probes of an example or a drawing,
    /// the confusion matrix, predictions, histograms, sparsity, filters), on
    /// the current weights; the run is not changed.
    #[wasm_bindgen(unchecked_return_type = "Promise<Inspection>")]
    pub fn inspect(&self, #[wasm_bindgen(unchecked_param_type = "InspectRequest")] request: JsValue) -> Promise {
        let trainer = self.trainer.clone();
        future_to_promise(async move {
            let request: InspectRequest = serde_wasm_bindgen::from_value(request)
                .map_err(|e| js_error(Failure { kind: "invalid_argument", path: Some("inspect".into()), message: e.to_string() }))?;
            let t = trainer.try_borrow().map_err(|_| busy("session"))?;
            to_js(&t.inspect(&request).await.map_err(js_error)?)
        })
    }

    /// For 2D-point models: res x res outputs over [-1, 1]^2, row 0 at the top.
    #[wasm_bindgen(unchecked_return_type = "Promise<Float32Array>")]
    pub fn grid(&self, res: u32) -> Promise {
        let trainer = self.trainer.clone();
        future_to_promise(async move {
            let mut t = trainer.try_borrow_mut().map_err(|_| busy("session"))?;
            let values = t.grid(res as usize).await.map_err(js_error)?;
            Ok(Float32Array::from(values.as_slice()).into())
        })
    }

    /// The dataset the session trains on, at most `limit` examples per split.
    #[wasm_bindgen(unchecked_return_type = "DatasetPreview")]
    pub fn dataset(&self, limit: u32) -> Result<JsValue, JsValue> {
        let t = self.trainer.try_borrow().map_err(|_| busy("session"))?;
        let d = t.data();
        let classes = match d.target {
            Target::Classes(c) => Some(c),
            Target::Regression => None,
        };
        let out = to_js(&Preview { classes, x_shape: d.train.x_shape.clone(), y_shape: d.train.y_shape.clone() })?;
        for (key, split) in [("train", &d.train), ("test", &d.test)] {
            let n = split.len().min(limit as usize);
            let part = js_sys::Object::new();
            js_sys::Reflect::set(&part, &"n".into(), &(n as f64).into())?;
            js_sys::Reflect::set(&part, &"x".into(), &Float32Array::from(&split.x[..n * split.x_len()]))?;
            js_sys::Reflect::set(&part, &"y".into(), &Float32Array::from(&split.y[..n * split.y_len()]))?;
            js_sys::Reflect::set(&out, &key.into(), &part)?;
        }
        Ok(out)
    }

    /// Moves the run to `backend`, keeping weights, optimizer state, step and
    /// batch order. Resolves to the backend now in use.
    #[wasm_bindgen(js_name = setBackend, unchecked_return_type = "Promise<Backend>")]
    pub fn set_backend(&self, #[wasm_bindgen(unchecked_param_type = "Backend")] backend: String) -> Promise {
        let trainer = self.trainer.clone();
        future_to_promise(async move {
            let device = device_for(&backend).await.map_err(js_error)?;
            let moved = {
                let t = trainer.try_borrow().map_err(|_| busy("session"))?;
                if backend_of(t.device()) == backend {
                    return Ok(backend.into());
                }
                t.to_device(device).await.map_err(js_error)?
            };
            *trainer.try_borrow_mut().map_err(|_| busy("session"))? = moved;
            Ok(backend.into())
        })
    }

    /// The whole training state on the host (one readback).
    #[wasm_bindgen(js_name = exportState, unchecked_return_type = "Promise<TrainerState>")]
    pub fn export_state(&self) -> Promise {
        let trainer = self.trainer.clone();
        future_to_promise(async move {
            let t = trainer.try_borrow().map_err(|_| busy("session"))?;
            to_js(&t.export_state().await.map_err(js_error)?)
        })
    }

    /// Keeps a host copy of the state (one readback), for `fallBackToCpu`.
    pub fn snapshot(&self) -> Promise {
        let trainer = self.trainer.clone();
        future_to_promise(async move {
            let mut t = trainer.try_borrow_mut().map_err(|_| busy("session"))?;
            t.snapshot().await.map_err(js_error)?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// After the GPU was lost: continues on the CPU from the last snapshot (or
    /// from the initial weights). Resolves to the step training resumes at.
    #[wasm_bindgen(js_name = fallBackToCpu, unchecked_return_type = "Promise<number>")]
    pub fn fall_back_to_cpu(&self) -> Promise {
        let trainer = self.trainer.clone();
        future_to_promise(async move {
            let mut t = trainer.try_borrow_mut().map_err(|_| busy("session"))?;
            let step = t.fall_back_to_cpu().await.map_err(js_error)?;
            Ok((step as f64).into())
        })
    }

    /// Destroys this session's GPU device, as a driver reset would (for testing
    /// the fallback). No effect on the CPU.
    #[wasm_bindgen(js_name = loseGpuDevice)]
    pub fn lose_gpu_device(&self) -> Result<(), JsValue> {
        let t = self.trainer.try_borrow().map_err(|_| busy("session"))?;
        if let Device::Gpu(ctx) = t.device() {
            ctx.destroy();
        }
        Ok(())
    }
}
