//! Experiment cards in the page: a card's runs (each a spec the worker opens
//! as a Session) and, from the runs' final metrics, the table and the checks,
//! decided by the same code as `nnlab experiment run`.

use nnlab_nn::experiment::{Experiment, RunResult, check, summarise, timing_repeats};
use serde_json::json;
use wasm_bindgen::prelude::*;

use crate::{invalid_argument, js_error, json_to_js};

fn parse(text: &str) -> Result<Experiment, JsValue> {
    Experiment::parse(text).map_err(js_error)
}

fn to_json_js(value: &serde_json::Value) -> Result<JsValue, JsValue> {
    json_to_js(&value.to_string())
}

/// A card (JSON text), checked, with its runs: `{card, runs: [{variant,
/// sweepIndex, seed, label, spec}], timingRepeats}`, variant by variant,
/// sweep value, seed; each run's final evaluation is timed as the fastest of
/// `timingRepeats` (more than one where the card compares ways of evaluating).
#[wasm_bindgen(js_name = experimentPlan)]
pub fn experiment_plan(text: &str) -> Result<JsValue, JsValue> {
    let exp = parse(text)?;
    let runs = exp.runs().map_err(js_error)?;
    to_json_js(&json!({ "card": exp, "runs": runs, "timingRepeats": timing_repeats(&exp) }))
}

/// The card's table and checks from its runs' results (`[{variant,
/// sweepIndex, seed, metric, divergedAt, seconds}]`, one per run):
/// `{summary, checks}`.
#[wasm_bindgen(js_name = experimentReport)]
pub fn experiment_report(text: &str, results: JsValue) -> Result<JsValue, JsValue> {
    let exp = parse(text)?;
    let results: Vec<RunResult> = serde_wasm_bindgen::from_value(results).map_err(|e| invalid_argument("results", e.to_string()))?;
    let summary = summarise(&exp, &results).map_err(js_error)?;
    let checks = check(&exp, &summary);
    to_json_js(&json!({ "summary": summary, "checks": checks }))
}
