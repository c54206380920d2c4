//! A setup in a link: `{"spec": <model spec>, "page": {<page settings>}}` as
//! JSON, deflated and written in base64url, so any model (an uploaded CSV and
//! drawn points included) fits in a URL hash. Decoding is bounded at every
//! stage (the text's length, the inflated size, the spec's limits), so a
//! tampered or hostile link ends in a message, never in a hang or a panic.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use miniz_oxide::deflate::compress_to_vec;
use miniz_oxide::inflate::{TINFLStatus, decompress_to_vec_with_limit};
use nnlab_core::Result;
use serde_json::Value;

use super::train::invalid as bad;
use super::{ModelSpec, check_fit, infer};

/// Longer links do not survive browsers and chat programs anyway.
pub const MAX_LINK_CHARS: usize = 2 << 20;
/// The largest setup a link may inflate to.
pub const MAX_SETUP_BYTES: usize = 4 << 20;

/// A decoded link: a checked spec and the page's settings (an object, maybe empty).
#[derive(Debug, Clone)]
pub struct Setup {
    pub spec: ModelSpec,
    /// The spec's JSON text (compact).
    pub spec_json: String,
    pub page: serde_json::Map<String, Value>,
}

/// The link text of `spec` with the page's settings `page` (a JSON object),
/// as the page writes it (there with the browser's CompressionStream).
pub fn encode_setup(spec: &ModelSpec, page: &serde_json::Map<String, Value>) -> String {
    #[derive(serde::Serialize)]
    struct Text<'a> {
        spec: &'a ModelSpec,
        page: &'a serde_json::Map<String, Value>,
    }
    let json = serde_json::to_string(&Text { spec, page }).expect("specs always serialise");
    URL_SAFE_NO_PAD.encode(compress_to_vec(json.as_bytes(), 9))
}

/// Reads a link text written by `encode_setup`, checking the spec as any
/// spec is checked (fields, limits, the model against its data).
pub fn decode_setup(text: &str) -> Result<Setup> {
    if text.len() > MAX_LINK_CHARS {
        return Err(bad("link", format!("is {} characters long; a link's setup may be at most {MAX_LINK_CHARS}", text.len())));
    }
    let packed = URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|e| bad("link", format!("is damaged: its setup is not base64url text ({e}); it may have been cut off or edited")))?;
    let json = decompress_to_vec_with_limit(&packed, MAX_SETUP_BYTES).map_err(|e| match e.status {
        TINFLStatus::HasMoreOutput => bad("link", format!("unpacks to more than {} MiB; it cannot be a setup this page wrote", MAX_SETUP_BYTES >> 20)),
        _ => bad("link", "is damaged: its setup does not unpack; it may have been cut off or edited"),
    })?;
    let value: Value = serde_json::from_slice(&json).map_err(|e| bad("link", format!("is damaged: its setup is not JSON ({e})")))?;
    let Value::Object(mut setup) = value else { return Err(bad("link", "holds no setup object")) };
    let page = match setup.remove("page") {
        None => serde_json::Map::new(),
        Some(Value::Object(page)) => page,
        Some(_) => return Err(bad("link.page", "is not an object")),
    };
    let spec = setup.remove("spec").ok_or_else(|| bad("link.spec", "is missing"))?;
    let spec_json = spec.to_string();
    let spec = ModelSpec::from_json(&spec_json)?;
    let report = infer(&spec)?;
    check_fit(&spec, &report)?;
    Ok(Setup { spec, spec_json, page })
}
