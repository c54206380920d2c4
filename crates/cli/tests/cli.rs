//! The `nnlab` binary as a user runs it: what it says without a command and
//! for a file that is not a session, and that `inspect` gives for a saved
//! session exactly what the trainer computes in process.

use std::path::PathBuf;
use std::process::{Command, Output};

use nnlab_core::Device;
use nnlab_nn::spec::inspect::InspectRequest;
use nnlab_nn::spec::saved::write_session;
use nnlab_nn::spec::{ModelSpec, SpecTrainer};

fn nnlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nnlab")).args(args).output().expect("the binary starts")
}

fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nnlab-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn without_a_command_it_prints_its_usage() {
    let out = nnlab(&[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("usage: nnlab bench") && err.contains("nnlab inspect SESSION_FILE"), "{err}");
}

#[test]
fn a_file_that_is_not_a_session_gets_a_message() {
    let path = temp_file("not-a-session.safetensors", b"a page of notes, not weights");
    let out = nnlab(&["inspect", path.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.starts_with("nnlab inspect: ") && err.contains("not-a-session.safetensors") && !err.contains("panicked"), "{err}");
}

#[test]
fn inspect_gives_what_the_trainer_computes() {
    let json = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../models/playground-spiral.json")).unwrap();
    let spec = ModelSpec::from_json(&json).unwrap();
    let mut trainer = pollster::block_on(SpecTrainer::new(&spec, Device::Cpu)).unwrap();
    for _ in 0..5 {
        trainer.step().unwrap();
    }
    let state = pollster::block_on(trainer.export_state()).unwrap();
    let path = temp_file("spiral.safetensors", &write_session(&json, &state, None).unwrap());
    let request = r#"{"predictions":true,"parameters":true}"#;
    let out = nnlab(&["inspect", path.to_str().unwrap(), request]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let request: InspectRequest = serde_json::from_str(request).unwrap();
    let want = serde_json::to_string(&pollster::block_on(trainer.inspect(&request)).unwrap()).unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim_end(), want);
}
