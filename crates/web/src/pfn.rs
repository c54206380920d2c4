//! `PfnModel`: a prior-data fitted network in the page, on the CPU: loaded
//! from a shipped model file, it predicts for datasets (the format of
//! `nnlab pfn predict`) and draws the 1D regression view's curves.
//! `PfnTraining`: a small PFN trained in the page on a chosen prior, with
//! its held-out NLL against the exact references.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::Promise;
use nnlab_core::Device;
use nnlab_nn::pfn::classify::{Baseline, ENSEMBLE, TableSplit, baseline, table_split};
use nnlab_nn::pfn::curve::{CurveRequest, Reference, draw_points};
use nnlab_nn::pfn::eval::{HeldOut, evaluate};
use nnlab_nn::pfn::{Pfn, PfnSpec, PfnTrainer, PredictRequest};
use serde::de::DeserializeOwned;
use serde_json::json;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::{busy, invalid_argument, js_error, to_js};

fn from_js<T: DeserializeOwned>(what: &str, value: &JsValue) -> Result<T, JsValue> {
    serde_wasm_bindgen::from_value(value.clone()).map_err(|e| invalid_argument(what, e.to_string()))
}

/// What the page shows about a model: its spec and output kind.
fn describe(pfn: &Pfn) -> serde_json::Value {
    json!({
        "spec": pfn.spec,
        "maxContext": pfn.spec.context[1],
        "features": pfn.model.config.features,
        "classes": pfn.spec.prior.classes(),
        "buckets": pfn.bar.as_ref().map(|b| b.buckets()),
        "domain": pfn.domain(),
    })
}

fn classified(t: &TableSplit, predicted: Vec<usize>) -> serde_json::Value {
    json!({
        "accuracy": t.accuracy(&predicted), "predicted": predicted, "features": t.features, "classes": t.classes,
        "train": t.train_y.len(), "test": t.test_y.len(),
    })
}

/// A baseline ("logistic" or "mlp") trained on a CSV table's training rows
/// and scored on its test rows (the same split as `PfnModel.classify`).
#[wasm_bindgen(js_name = tableBaseline)]
pub fn table_baseline(csv: String, label: String, train_ratio: f32, seed: f64, kind: JsValue) -> Promise {
    future_to_promise(async move {
        let kind: Baseline = from_js("kind", &kind)?;
        let t = table_split(&csv, &label, train_ratio, seed as u64).map_err(js_error)?;
        let predicted = baseline(&t, kind).await.map_err(js_error)?;
        to_js(&classified(&t, predicted))
    })
}

#[wasm_bindgen]
pub struct PfnModel {
    pfn: Rc<Pfn>,
}

#[wasm_bindgen]
impl PfnModel {
    /// A model from a file `nnlab pfn train` wrote (models/pfn-*.safetensors).
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(bytes: &[u8]) -> Result<PfnModel, JsValue> {
        let (pfn, _, _) = Pfn::from_safetensors(bytes, &Device::Cpu).map_err(js_error)?;
        Ok(PfnModel { pfn: Rc::new(pfn) })
    }

    /// `{spec, maxContext, features, classes, buckets}`.
    pub fn info(&self) -> Result<JsValue, JsValue> {
        to_js(&describe(&self.pfn))
    }

    /// Per dataset, per query point, the probabilities over the buckets (or
    /// classes), as `nnlab pfn predict` writes them: `{type, tails, borders, datasets: [{probs}]}`.
    pub fn predict(&self, request: JsValue) -> Promise {
        let pfn = self.pfn.clone();
        future_to_promise(async move {
            let request: PredictRequest = from_js("request", &request)?;
            let predictions = pfn.predict(&request).await.map_err(js_error)?;
            let datasets: Vec<_> = predictions.iter().map(|p| json!({ "probs": p.probs })).collect();
            to_js(&match &pfn.bar {
                Some(bar) => json!({ "type": "bar", "tails": "halfnormal-pfn", "borders": bar.borders(), "datasets": datasets }),
                None => json!({ "type": "classes", "datasets": datasets }),
            })
        })
    }

    /// `context` points and `heldOut` points drawn jointly from the GP
    /// `reference` over the model's domain: `{xContext, yContext, heldOut: {x, y}}`.
    pub fn draw(&self, reference: JsValue, context: usize, held_out: usize, seed: f64) -> Result<JsValue, JsValue> {
        let reference: Reference = from_js("reference", &reference)?;
        let domain = self.pfn.domain().ok_or_else(|| invalid_argument("model", "a classification PFN has no x domain to draw from".into()))?;
        to_js(&draw_points(&reference, domain, context, held_out, seed as u64).map_err(js_error)?)
    }

    /// The tabular PFN's accuracy on a CSV table's test rows, the training
    /// rows being its context: `{accuracy, predicted, rows, features, classes, train, test}`.
    pub fn classify(&self, csv: String, label: String, train_ratio: f32, seed: f64) -> Promise {
        let pfn = self.pfn.clone();
        future_to_promise(async move {
            let t = table_split(&csv, &label, train_ratio, seed as u64).map_err(js_error)?;
            let predicted = pfn.classify(&t, ENSEMBLE).await.map_err(js_error)?;
            to_js(&classified(&t, predicted))
        })
    }

    /// The regression view's curves: the PFN's band and density, the exact
    /// reference's band and both held-out NLLs (see `CurveRequest`).
    pub fn curve(&self, request: JsValue) -> Promise {
        let pfn = self.pfn.clone();
        future_to_promise(async move {
            let request: CurveRequest = from_js("request", &request)?;
            to_js(&pfn.curve(&request).await.map_err(js_error)?)
        })
    }
}

/// A PFN trained in the page: `step(n)` trains, `evaluate` scores it.
#[wasm_bindgen]
pub struct PfnTraining {
    trainer: Rc<RefCell<PfnTrainer>>,
}

// The trainer stays borrowed across its own readback on purpose: an
// overlapping call gets a "busy" error instead of racing it.
#[allow(clippy::await_holding_refcell_ref)]
#[wasm_bindgen]
impl PfnTraining {
    /// A fresh PFN for `spec` (a PFN spec as in models/pfn-*.json).
    pub fn create(spec: JsValue) -> Result<PfnTraining, JsValue> {
        let text = js_sys::JSON::stringify(&spec).map_err(|_| invalid_argument("spec", "the spec is not JSON".into()))?.as_string().unwrap_or_default();
        let spec = PfnSpec::parse(&text).map_err(js_error)?;
        Ok(PfnTraining { trainer: Rc::new(RefCell::new(PfnTrainer::new(spec, &Device::Cpu).map_err(js_error)?)) })
    }

    /// Trains `steps` steps; resolves to `{step, nll}` (the mean training NLL).
    pub fn train(&self, steps: u32) -> Promise {
        let trainer = self.trainer.clone();
        future_to_promise(async move {
            let mut t = trainer.try_borrow_mut().map_err(|_| busy("PFN trainer"))?;
            let mut sum = 0.0;
            let n = steps.min(t.spec().training.steps.saturating_sub(t.step));
            for _ in 0..n {
                sum += t.train_step().await.map_err(js_error)?.nll;
            }
            to_js(&json!({ "step": t.step, "steps": t.spec().training.steps, "nll": if n > 0 { Some(sum / n as f64) } else { None } }))
        })
    }

    /// The held-out report (see `nnlab pfn eval`) on `datasets` datasets.
    pub fn evaluate(&self, datasets: usize, queries: usize) -> Promise {
        let trainer = self.trainer.clone();
        future_to_promise(async move {
            let t = trainer.try_borrow().map_err(|_| busy("PFN trainer"))?;
            let report = evaluate(&t.pfn, HeldOut { datasets: datasets.clamp(1, 2000), queries: queries.clamp(1, 200), ..HeldOut::default() })
                .await
                .map_err(js_error)?;
            to_js(&report)
        })
    }

    /// The trained model as a `PfnModel` file's bytes.
    #[wasm_bindgen(js_name = modelFile)]
    pub fn model_file(&self) -> Promise {
        let trainer = self.trainer.clone();
        future_to_promise(async move {
            let t = trainer.try_borrow().map_err(|_| busy("PFN trainer"))?;
            let bytes = t.model_file().await.map_err(js_error)?;
            Ok(js_sys::Uint8Array::from(&bytes[..]).into())
        })
    }

    pub fn info(&self) -> Result<JsValue, JsValue> {
        let t = self.trainer.try_borrow().map_err(|_| busy("PFN trainer"))?;
        to_js(&describe(&t.pfn))
    }
}
