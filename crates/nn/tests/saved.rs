//! Session files and share links: a saved run continues bit-exactly, a bad
//! file is refused with its reason and changes nothing, and neither decoder
//! panics on anything (fuzzed: `NNLAB_FUZZ_CASES` cases per property, 1,000
//! by default; run `cargo test --release -p nnlab-nn --test saved` with
//! `NNLAB_FUZZ_CASES=100000` for the long run).

use nnlab_core::Device;
use nnlab_nn::spec::saved::{MAX_FILE_BYTES, read_session, write_session};
use nnlab_nn::spec::share::{decode_setup, encode_setup};
use nnlab_nn::spec::{ModelSpec, SpecTrainer, TrainerState};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

fn preset(name: &str) -> ModelSpec {
    let path = format!("{}/../../models/{name}.json", env!("CARGO_MANIFEST_DIR"));
    ModelSpec::from_json(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn trainer(spec: &ModelSpec) -> SpecTrainer {
    pollster::block_on(SpecTrainer::new(spec, Device::Cpu)).unwrap()
}

fn state(t: &SpecTrainer) -> TrainerState {
    pollster::block_on(t.export_state()).unwrap()
}

/// The spiral preset with drawn points and a removed one, so the data
/// settings travel too.
fn drawn_spiral() -> ModelSpec {
    let mut json: serde_json::Value = serde_json::to_value(preset("playground-spiral")).unwrap();
    json["data"]["points"] = serde_json::json!([[0.5, 0.5, 1], [-0.25, 0.75, 0]]);
    json["data"]["removed"] = serde_json::json!([3]);
    ModelSpec::from_json(&json.to_string()).unwrap()
}

/// A saved file of a run trained `steps` steps, and that run.
fn saved_after(spec: &ModelSpec, steps: usize) -> (Vec<u8>, SpecTrainer) {
    let mut t = trainer(spec);
    t.train(steps).unwrap();
    (write_session(&spec.to_json(), &state(&t), Some(r#"{"name":"mine","view":{"log":true}}"#)).unwrap(), t)
}

#[test]
fn a_saved_session_continues_bit_exactly() {
    for spec in [drawn_spiral(), preset("long-adding-lstm")] {
        let (bytes, mut original) = saved_after(&spec, 37);
        let saved = read_session(&bytes).unwrap();
        assert_eq!(saved.spec, spec);
        assert_eq!(saved.page.as_ref().unwrap()["view"]["log"], true);
        let mut restored = trainer(&saved.spec);
        restored.import_state(&saved.state).unwrap();
        assert_eq!(restored.steps_done(), 37);
        original.train(5).unwrap();
        restored.train(5).unwrap();
        let (a, b) = (pollster::block_on(original.metrics()).unwrap(), pollster::block_on(restored.metrics()).unwrap());
        assert_eq!(a.train_loss.to_bits(), b.train_loss.to_bits(), "{}: the restored run drifted", spec.name);
        assert_eq!(state(&original), state(&restored));
    }
}

/// The bytes of `bytes`' header and where its tensor data starts.
fn header(bytes: &[u8]) -> (serde_json::Value, usize) {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    (serde_json::from_slice(&bytes[8..8 + n]).unwrap(), 8 + n)
}

fn with_header(bytes: &[u8], header: &serde_json::Value) -> Vec<u8> {
    let (_, data) = self::header(bytes);
    let text = header.to_string();
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(&bytes[data..]);
    out
}

fn refused(bytes: &[u8]) -> String {
    match read_session(bytes) {
        Ok(_) => panic!("a bad file was accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn malformed_files_are_refused_with_their_reason() {
    let spec = drawn_spiral();
    let (good, _) = saved_after(&spec, 3);
    let (head, data) = header(&good);

    assert!(refused(&good[..good.len() - 7]).contains("not a readable safetensors file"));
    assert!(refused(&good[..data - 2]).contains("truncated"));
    assert!(refused(b"PK\x03\x04 a zip, not a session").contains("header"));
    assert!(refused(b"hello").contains("too short"));
    assert!(refused(&[b"{\"a\":1}\n".as_slice(), &[0; 16]].concat()).contains("header"));

    let mut huge = good.clone();
    huge[..8].copy_from_slice(&(1u64 << 40).to_le_bytes());
    assert!(refused(&huge).contains("at most 8.0 MiB"));
    let oversized = vec![0u8; MAX_FILE_BYTES + 1];
    assert!(refused(&oversized).contains("at most 256.0 MiB"));

    let mut nan = good.clone();
    nan[data..data + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    assert!(refused(&nan).contains("NaN or infinite"));

    let mut plain = head.clone();
    plain["__metadata__"].as_object_mut().unwrap().remove("format");
    assert!(refused(&with_header(&good, &plain)).contains("not an nnlab session"));

    let mut bad_spec = head.clone();
    bad_spec["__metadata__"]["spec"] = serde_json::json!(r#"{"name":"x","input":[2],"layers":[{"type":"linear","out":0}]}"#);
    assert!(refused(&with_header(&good, &bad_spec)).contains("layers"));

    let mut half = head.clone();
    let first = head.as_object().unwrap().keys().find(|k| *k != "__metadata__").unwrap().clone();
    half[&first]["dtype"] = "F16".into();
    let (from, to) = (half[&first]["data_offsets"][0].as_u64().unwrap(), half[&first]["data_offsets"][1].as_u64().unwrap());
    let shape: Vec<u64> = half[&first]["shape"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
    assert_eq!((to - from) / 4, shape.iter().product::<u64>());
    half[&first]["shape"] = serde_json::json!([shape.iter().product::<u64>() * 2]);
    assert!(refused(&with_header(&good, &half)).contains("session tensors are F32"));
}

#[test]
fn a_state_that_does_not_fit_the_model_changes_nothing() {
    let spec = drawn_spiral();
    let (_, original) = saved_after(&spec, 9);
    let mut t = trainer(&spec);
    t.train(4).unwrap();
    let before = state(&t);
    let mut wrong = state(&original);
    let w = wrong.tensors.iter_mut().find(|n| n.name == "model.0.weight").unwrap();
    w.shape = vec![w.shape[1], w.shape[0]];
    let bytes = write_session(&spec.to_json(), &wrong, None).unwrap();
    let saved = read_session(&bytes).unwrap();
    let e = t.import_state(&saved.state).unwrap_err().to_string();
    assert!(e.contains("model.0.weight") && e.contains("shape"), "{e}");
    assert_eq!(state(&t), before, "a refused state changed the trainer");

    let mut tampered = state(&original);
    tampered.optimizer_steps = u32::MAX;
    assert!(t.import_state(&tampered).unwrap_err().to_string().contains("beyond any run"));
    assert_eq!(state(&t), before);
}

/// Every leaf of `v` (numbers, strings, ...) as a JSON pointer; the JSON
/// texts inside the metadata count as objects.
fn leaves(v: &serde_json::Value, at: String, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => m.iter().for_each(|(k, x)| leaves(x, format!("{at}/{k}"), out)),
        serde_json::Value::Array(a) => a.iter().enumerate().for_each(|(i, x)| leaves(x, format!("{at}/{i}"), out)),
        _ => out.push(at),
    }
}

/// `head` with the header's metadata texts parsed, so mutations reach inside them.
fn opened(head: &serde_json::Value) -> serde_json::Value {
    let mut h = head.clone();
    for key in ["spec", "training", "page"] {
        let text = h["__metadata__"][key].as_str().unwrap().to_string();
        h["__metadata__"][key] = serde_json::from_str(&text).unwrap();
    }
    h
}

fn closed(mut h: serde_json::Value) -> serde_json::Value {
    for key in ["spec", "training", "page"] {
        let text = h["__metadata__"][key].to_string();
        h["__metadata__"][key] = text.into();
    }
    h
}

/// Values a hostile file might put anywhere.
fn hostile() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        Just(serde_json::json!(0)),
        Just(serde_json::json!(-1)),
        Just(serde_json::json!(1)),
        Just(serde_json::json!(3)),
        Just(serde_json::json!(1e300)),
        Just(serde_json::json!(u64::MAX)),
        Just(serde_json::json!(1u64 << 32)),
        Just(serde_json::json!(0.5)),
        Just(serde_json::json!("x")),
        Just(serde_json::json!("F64")),
        Just(serde_json::json!([])),
        Just(serde_json::json!([1_000_000, 2])),
        Just(serde_json::Value::Null),
    ]
}

fn cases() -> u32 {
    std::env::var("NNLAB_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(1000)
}

fn runner() -> TestRunner {
    TestRunner::new(Config { cases: cases(), failure_persistence: None, ..Config::default() })
}

/// Random bytes, and a valid file with random bytes changed, cut or
/// inserted: reading never panics, and whatever reads as valid imports (or
/// is refused) and trains without panicking.
#[test]
fn fuzzed_session_files_never_panic() {
    let spec = drawn_spiral();
    let (good, _) = saved_after(&spec, 3);
    let target = std::cell::RefCell::new(trainer(&spec));
    let edits = prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..4), 1..6);
    let (head, _) = header(&good);
    let open_head = opened(&head);
    let mut paths = Vec::new();
    leaves(&open_head, String::new(), &mut paths);
    let base = good.clone();
    let fields = prop::collection::vec((prop::sample::select(paths), hostile()), 1..4).prop_map(move |changes| {
        let mut h = open_head.clone();
        for (path, value) in changes {
            *h.pointer_mut(&path).unwrap() = value;
        }
        with_header(&base, &closed(h))
    });
    let strategy = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256).prop_map(|mut b| {
            if b.len() >= 8 {
                // Plausible header lengths reach the JSON parser.
                let n = (b.len() as u64 - 8).min(b[0] as u64);
                b[..8].copy_from_slice(&n.to_le_bytes());
            }
            b
        }),
        fields,
        edits.prop_map(move |edits| {
            let mut b = good.clone();
            let (_, data) = header(&b);
            for (at, byte, how) in edits {
                // Mostly in the header, where the structure is.
                let i = if how % 2 == 0 { at.index(data.min(b.len()).max(1)) } else { at.index(b.len().max(1)) };
                match how {
                    0 | 1 if i < b.len() => b[i] = byte,
                    2 => b.truncate(i),
                    _ => b.insert(i.min(b.len()), byte),
                }
            }
            b
        }),
    ];
    let (read, imported) = (std::cell::Cell::new(0), std::cell::Cell::new(0));
    runner()
        .run(&strategy, |bytes| {
            if let Ok(saved) = read_session(&bytes) {
                read.set(read.get() + 1);
                let mut t = target.borrow_mut();
                if saved.spec == spec && t.import_state(&saved.state).is_ok() {
                    imported.set(imported.get() + 1);
                    let _ = t.train(2);
                }
            }
            Ok(())
        })
        .unwrap();
    eprintln!("{} cases: {} read as session files, {} imported and trained", cases(), read.get(), imported.get());
}

#[test]
fn a_link_round_trips_and_fuzzed_links_never_panic() {
    let spec = drawn_spiral();
    let page: serde_json::Map<String, serde_json::Value> = serde_json::from_str(r#"{"backend":"cpu","view":{"log":true}}"#).unwrap();
    let link = encode_setup(&spec, &page);
    assert!(link.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'), "{link}");
    let back = decode_setup(&link).unwrap();
    assert_eq!(back.spec, spec);
    assert_eq!(back.page, page);

    assert!(decode_setup(&link[..link.len() / 2]).unwrap_err().to_string().contains("damaged"));
    assert!(decode_setup("not base64!").unwrap_err().to_string().contains("base64url"));
    let bomb = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, miniz_oxide::deflate::compress_to_vec(&vec![b' '; 5 << 20], 9));
    assert!(decode_setup(&bomb).unwrap_err().to_string().contains("more than 4 MiB"));

    let strategy = prop_oneof![
        "[A-Za-z0-9_=-]{0,300}",
        prop::collection::vec((any::<prop::sample::Index>(), prop::char::range('-', 'z'), any::<bool>()), 1..5).prop_map(move |edits| {
            let mut s: Vec<char> = link.chars().collect();
            for (at, c, cut) in edits {
                let i = at.index(s.len().max(1)).min(s.len().saturating_sub(1));
                if cut {
                    s.truncate(i)
                } else if !s.is_empty() {
                    s[i] = c
                }
            }
            s.into_iter().collect::<String>()
        }),
    ];
    let decoded = std::cell::Cell::new(0);
    runner()
        .run(&strategy, |text| {
            decoded.set(decoded.get() + decode_setup(&text).is_ok() as usize);
            Ok(())
        })
        .unwrap();
    eprintln!("{} cases: {} decoded to a valid setup", cases(), decoded.get());
}
