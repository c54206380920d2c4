//! The JavaScript API of nnlab: the page's worker uses it, and so can a
//! tutorial author (run it in a Web Worker; see www/client.js for the
//! page-side API that wraps it).
//!
//! ```js
//! import init, { Session, inferShapes, webgpuInfo } from './pkg/nnlab_web.js';
//! await init();
//! const report = inferShapes(spec);              // shapes and parameter counts, nothing built
//! const s = await Session.open(spec, 'cpu');     // or 'webgpu'; optionally a saved state
//! s.train(100);
//! const m = await s.metrics();                   // {step, epoch, trainLoss, testLoss, ...}
//! await s.setBackend('webgpu');                  // same weights and optimizer state
//! const r = await s.feedTokens(token, 1, 1);     // a sequence model token by token, its state carried
//! s.resetTokens();                               // the next token starts a new sequence
//! s.free();
//! ```
//!
//! Every failure rejects (or throws) an `Error` carrying `kind`, `path` and
//! `message` (see `NnlabError` in the TypeScript declarations); nothing here
//! panics on user input (a panic would kill the instance and the user's work).

mod bench;
mod experiment;
mod pfn;
mod session;

use std::cell::RefCell;

use nnlab_core::{Device, Error, GpuContext};
use nnlab_nn::spec::{self, ModelSpec};
use serde::Serialize;
use wasm_bindgen::prelude::*;

pub use bench::BenchRunner;
pub use pfn::{PfnModel, PfnTraining, table_baseline};
pub use session::Session;
/// The threaded build's `initThreadPool(n)`: start n workers for the CPU
/// backend's large products, once, right after `init()`.
#[cfg(feature = "threads")]
pub use wasm_bindgen_rayon::init_thread_pool;

thread_local! {
    /// One WebGPU device per worker, opened on first use and reused by every session.
    static GPU: RefCell<Option<GpuContext>> = const { RefCell::new(None) };
}

#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** A model spec: see models/spec.schema.json (specSchema() returns it). */
export type ModelSpec = Record<string, unknown> & { name: string; input: number[]; layers: object[] };
export type Backend = 'webgpu' | 'cpu';
/** What every rejected promise and thrown error of this module carries. */
export interface NnlabError extends Error {
  kind: 'invalid_spec' | 'invalid_argument' | 'shape_mismatch' | 'unsupported' | 'non_finite' | 'device_lost'
      | 'out_of_memory' | 'gpu' | 'busy' | 'internal';
  /** The spec field at fault (`layers[2].kernel`), or null. */
  path: string | null;
  message: string;
}
export interface LayerReport { path: string; kind: string; output: number[]; params: number }
/** How many top-level layers run token by token (0: the model can't; `path` and `reason` say why). */
export interface TokenSupport { layers: number; sequenceOutput: boolean; path: string | null; reason: string | null }
export interface ModelReport { input: number[]; output: number[]; params: number; layers: LayerReport[]; tokens: TokenSupport }
/** One layer's state carried between tokens: [sequences, size] values. */
export interface CarriedState { path: string; kind: string; size: number; values: number[] }
/** The outputs for the sequences up to each token fed ([tokens, sequences, ...outputShape]) and the states after the last. */
export interface TokenRun { position: number; outputs: number[]; outputShape: number[]; states: CarriedState[] }
export interface Metrics {
  step: number; epoch: number; trainLoss: number; testLoss: number;
  trainAccuracy: number | null; testAccuracy: number | null;
}
export interface DatasetSplit { n: number; x: Float32Array; y: Float32Array }
export interface DatasetPreview {
  /** Number of classes, or null for regression. */
  classes: number | null; xShape: number[]; yShape: number[];
  train: DatasetSplit; test: DatasetSplit;
}
/** Which parts `Session.inspect` computes (all off unless asked for). */
export interface InspectRequest {
  example?: { split: 'train' | 'test'; index: number }; input?: number[];
  confusion?: boolean; predictions?: boolean; parameters?: boolean; sparsity?: boolean; filters?: boolean;
  limit?: number;
}
export interface ProbeValues { path: string; kind: 'output' | 'attention' | 'hidden'; shape: number[]; values: number[] }
export interface Probed { output: number[]; probes: ProbeValues[] }
export interface Histogram { min: number; max: number; counts: number[] }
export interface Inspection {
  step: number;
  example: Probed | null; drawing: Probed | null;
  confusion: { classes: number; examples: number; counts: number[]; wrong: { index: number; position: number; label: number; predicted: number }[] } | null;
  predictions: { count: number; outputs: number[] } | null;
  parameters: { path: string; count: number; weights: Histogram; gradients: Histogram; weightNorm: number; gradientNorm: number }[] | null;
  sparsity: { path: string; zeros: number }[] | null;
  filters: { path: string; name: string; shape: number[]; values: number[] }[] | null;
}
/** A trainer's whole state on the host (weights, optimizer moments, step, batch order). */
export interface TrainerState {
  step: number; optimizerSteps: number;
  tensors: { name: string; shape: number[]; values: number[] }[];
  batches: { counter: number; order: number[]; pos: number };
  subsets: { counter: number; order: number[]; pos: number } | null;
}
"#;

/// An error as JS sees it: `kind`, `path` (or null) and `message`.
pub(crate) struct Failure {
    kind: &'static str,
    path: Option<String>,
    message: String,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        let kind = match &e {
            Error::InvalidSpec { path, reason } => return Failure { kind: "invalid_spec", path: Some(path.clone()), message: reason.clone() },
            Error::ShapeMismatch { .. } => "shape_mismatch",
            Error::InvalidArgument { .. } => "invalid_argument",
            Error::Unsupported { .. } => "unsupported",
            Error::DeviceMismatch { .. } | Error::NotReplayable(_) => "internal",
            Error::NonFinite { .. } => "non_finite",
            Error::DeviceLost(_) => "device_lost",
            Error::OutOfMemory(_) => "out_of_memory",
            Error::Gpu(_) => "gpu",
        };
        Failure { kind, path: None, message: e.to_string() }
    }
}

/// A JS `Error` with `kind` and `path` set.
pub(crate) fn js_error(f: impl Into<Failure>) -> JsValue {
    let f = f.into();
    let e = js_sys::Error::new(&f.message);
    let set = |k: &str, v: JsValue| js_sys::Reflect::set(&e, &k.into(), &v).ok();
    set("kind", f.kind.into());
    set("path", f.path.map_or(JsValue::NULL, JsValue::from));
    if f.kind == "device_lost" {
        // Every later call on this device would fail too: open a new one next time.
        GPU.with(|g| g.borrow_mut().take());
    }
    e.into()
}

/// Another call on the same object is still running.
pub(crate) fn busy(what: &str) -> JsValue {
    js_error(Failure { kind: "busy", path: None, message: format!("the {what} is busy with another call") })
}

pub(crate) fn invalid_argument(path: &str, message: String) -> JsValue {
    js_error(Failure { kind: "invalid_argument", path: Some(path.into()), message })
}

async fn gpu_context() -> Result<GpuContext, Error> {
    if let Some(ctx) = GPU.with(|g| g.borrow().clone()) {
        return Ok(ctx);
    }
    let ctx = GpuContext::new().await?;
    GPU.with(|g| *g.borrow_mut() = Some(ctx.clone()));
    Ok(ctx)
}

/// The device of a backend name ("webgpu" or "cpu").
pub(crate) async fn device_for(backend: &str) -> Result<Device, Failure> {
    match backend {
        "cpu" => Ok(Device::Cpu),
        "webgpu" => Ok(Device::Gpu(gpu_context().await?)),
        other => {
            Err(Failure { kind: "invalid_argument", path: Some("backend".into()), message: format!("unknown backend \"{other}\" (expected webgpu or cpu)") })
        }
    }
}

/// Plain JSON-like values (objects, not Maps) for JS.
pub(crate) fn to_js(v: &impl Serialize) -> Result<JsValue, JsValue> {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).map_err(|e| js_error(Failure { kind: "internal", path: None, message: e.to_string() }))
}

/// JSON text as JS parses it: an f32 of a spec stays the number it
/// was written as (0.01, not 0.009999999776482582).
pub(crate) fn json_to_js(text: &str) -> Result<JsValue, JsValue> {
    js_sys::JSON::parse(text).map_err(|_| js_error(Failure { kind: "internal", path: None, message: "unreadable JSON".into() }))
}

/// A spec from a JS object or a JSON string; errors name the field's path.
pub(crate) fn spec_from(value: &JsValue) -> Result<ModelSpec, JsValue> {
    Ok(spec_with_text(value)?.0)
}

/// A spec and its JSON text (kept as given: files and exports carry it, so
/// the module never serialises spec types).
pub(crate) fn spec_with_text(value: &JsValue) -> Result<(ModelSpec, String), JsValue> {
    let json = match value.as_string() {
        Some(text) => text,
        None => js_sys::JSON::stringify(value).map_err(|_| invalid_argument("spec", "the spec is not JSON".into()))?.as_string().unwrap_or_default(),
    };
    let spec = ModelSpec::from_json(&json).map_err(js_error)?;
    Ok((spec, json))
}

/// A description of the WebGPU adapter, or null when WebGPU is unavailable.
#[wasm_bindgen(js_name = webgpuInfo)]
pub async fn webgpu_info() -> Option<String> {
    gpu_context().await.ok().map(|ctx| ctx.info().to_string())
}

/// Every layer's output shape and parameter count, and the checks of the
/// whole spec (limits, the model against its data and loss), without
/// building anything.
#[wasm_bindgen(js_name = inferShapes, unchecked_return_type = "ModelReport")]
pub fn infer_shapes(#[wasm_bindgen(unchecked_param_type = "ModelSpec | string")] spec: JsValue) -> Result<JsValue, JsValue> {
    let spec = spec_from(&spec)?;
    let report = spec::infer(&spec).map_err(js_error)?;
    spec::check_fit(&spec, &report).map_err(js_error)?;
    to_js(&report)
}

/// A first look at a CSV text before it becomes a dataset: its columns,
/// which of them are numeric, the first rows and the row count; or the
/// problem with it (size, shape, unreadable rows).
#[wasm_bindgen(js_name = csvPreview, unchecked_return_type = "{columns: string[]; numeric: boolean[]; distinct: number[]; rows: string[][]; count: number}")]
pub fn csv_preview(text: &str) -> Result<JsValue, JsValue> {
    to_js(&nnlab_nn::data::table::preview(text).map_err(js_error)?)
}

/// Reads a link's setup text (`{"spec": ..., "page": {...}}` as JSON, raw
/// deflate, base64url: what the page writes with CompressionStream): the
/// checked spec and the page's settings, or what is wrong with the link.
#[wasm_bindgen(js_name = decodeSetup, unchecked_return_type = "{spec: ModelSpec; page: Record<string, unknown>}")]
pub fn decode_setup(text: &str) -> Result<JsValue, JsValue> {
    let setup = spec::share::decode_setup(text).map_err(js_error)?;
    let page = serde_json::Value::Object(setup.page).to_string();
    json_to_js(&format!(r#"{{"spec":{},"page":{page}}}"#, setup.spec_json))
}

/// What a session file (from `Session.exportFile`) holds, checked: its
/// spec, the page's part and the step it was saved at. Nothing is built.
#[wasm_bindgen(js_name = readSessionFile, unchecked_return_type = "{spec: ModelSpec; page: Record<string, unknown> | null; step: number}")]
pub fn read_session_file(bytes: &[u8]) -> Result<JsValue, JsValue> {
    let saved = spec::saved::read_session(bytes).map_err(js_error)?;
    let page = saved.page.map_or("null".to_string(), |p| p.to_string());
    json_to_js(&format!(r#"{{"spec":{},"page":{page},"step":{}}}"#, saved.spec_json, saved.state.step))
}

/// The JSON Schema of a spec (the page reads its limits from it).
#[wasm_bindgen(js_name = specSchema)]
pub fn spec_schema() -> Result<JsValue, JsValue> {
    to_js(&ModelSpec::schema())
}
