//! `nnlab inspect SESSION_FILE [REQUEST_JSON]`: opens a session file (the
//! page's Download) on the CPU and prints what the page's inspection views
//! show for it, as JSON (an `InspectRequest`; by default every part, with the
//! probes of test example 0).

use nnlab_core::Device;
use nnlab_nn::spec::SpecTrainer;
use nnlab_nn::spec::inspect::InspectRequest;
use nnlab_nn::spec::saved::read_session;

const EVERYTHING: &str = r#"{"example":{"split":"test","index":0},"confusion":true,"predictions":true,"parameters":true,"sparsity":true,"filters":true}"#;

pub fn run(args: &[String]) -> Result<(), String> {
    let [file, rest @ ..] = args else { return Err("usage: nnlab inspect SESSION_FILE [REQUEST_JSON]".into()) };
    let request: InspectRequest = serde_json::from_str(rest.first().map_or(EVERYTHING, String::as_str)).map_err(|e| format!("the request: {e}"))?;
    let bytes = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
    let saved = read_session(&bytes).map_err(|e| format!("{file}: {e}"))?;
    let inspection = pollster::block_on(async {
        let mut t = SpecTrainer::new(&saved.spec, Device::Cpu).await?;
        t.import_state(&saved.state)?;
        t.inspect(&request).await
    })
    .map_err(|e| e.to_string())?;
    println!("{}", serde_json::to_string(&inspection).map_err(|e| e.to_string())?);
    Ok(())
}
