//! Model specs: every preset parses, infers shapes and builds; inferred
//! parameter counts equal the built model's; malformed specs fail with errors
//! that name the field; no spec, however malformed, makes parsing, shape
//! inference or building panic.
#![cfg(not(target_arch = "wasm32"))]

use nnlab_core::{Device, Tensor, no_grad};
use nnlab_nn::Module;
use nnlab_nn::spec::{ModelSpec, build, check_fit, infer, pytorch};
use proptest::prelude::*;

fn presets() -> Vec<(String, String)> {
    nnlab_tests::preset_files()
}

#[test]
fn presets_parse_infer_and_build_consistently() {
    let all = presets();
    assert!(all.len() >= 8, "presets for each family");
    for (file, json) in all {
        let spec = ModelSpec::from_json(&json).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(ModelSpec::from_json(&spec.to_json()).unwrap(), spec, "{file}: round trip");
        let (model, report) = build(&spec, &Device::Cpu).unwrap_or_else(|e| panic!("{file}: {e}"));
        let counted: usize = model.parameters().iter().map(|(_, p)| p.get().numel()).sum();
        assert_eq!(report.params, counted, "{file}: inferred vs built parameter count");
        let batch = 3;
        let shape: Vec<usize> = std::iter::once(batch).chain(spec.input.iter().copied()).collect();
        let x = Tensor::rand_uniform(&shape, 0.0, 1.0, 1, 0, &Device::Cpu).unwrap();
        let _g = no_grad();
        model.set_training(false);
        let y = model.forward(&x).unwrap_or_else(|e| panic!("{file}: forward: {e}"));
        let expect: Vec<usize> = std::iter::once(batch).chain(report.output.iter().copied()).collect();
        assert_eq!(y.shape(), expect.as_slice(), "{file}: output shape");
        assert!(pytorch::module_source(&spec).unwrap().contains("class Model(nn.Sequential)"));
    }
}

#[test]
fn shape_inference_reports_every_layer() {
    let spec = ModelSpec::from_json(&presets().into_iter().find(|(f, _)| f == "digits-cnn.json").unwrap().1).unwrap();
    let report = infer(&spec).unwrap();
    let shapes: Vec<(&str, Vec<usize>)> = report.layers.iter().map(|l| (l.path.as_str(), l.output.clone())).collect();
    assert_eq!(shapes[0], ("layers[0]", vec![16, 8, 8]));
    assert_eq!(shapes[3], ("layers[3]", vec![16, 4, 4]));
    assert_eq!(report.output, vec![10]);
    assert_eq!(report.layers[0].params, 16 * 9 + 16);
    assert_eq!(report.layers.last().unwrap().params, 32 * 2 * 2 * 10 + 10);
}

/// MobileNetV2's block keeps a linear bottleneck unless asked for an
/// activation after the projection (the paper's ablation), in the model and
/// in the PyTorch source.
#[test]
fn an_inverted_residual_bottleneck_is_linear_unless_given_an_activation() {
    let spec = |bottleneck: &str| {
        ModelSpec::from_json(&format!(
            r#"{{"name": "ir", "input": [4, 5, 5], "layers": [{{"type": "inverted_residual", "out": 8, "expand": 2{bottleneck}}}, {{"type": "global_avg_pool"}}],
            "data": {{"name": "digits"}}, "loss": {{"name": "mse"}}}}"#
        ))
        .unwrap()
    };
    let x = Tensor::randn(&[3, 4, 5, 5], 0.0, 1.0, 7, 0, &Device::Cpu).unwrap();
    let outputs = |spec: &ModelSpec| -> Vec<f32> {
        let (model, _) = build(spec, &Device::Cpu).unwrap();
        model.set_training(false);
        let _g = no_grad();
        pollster::block_on(model.forward(&x).unwrap().to_vec()).unwrap()
    };
    let (linear, relu6) = (spec(""), spec(r#", "bottleneck": "relu6""#));
    assert!(outputs(&linear).iter().any(|v| *v < 0.0), "a linear bottleneck passes negative values");
    assert!(outputs(&relu6).iter().all(|v| (0.0..=6.0).contains(v)), "ReLU6 after the projection (no residual: 4 -> 8 channels)");
    assert!(pytorch::module_source(&linear).unwrap().contains("InvertedResidual(4, 8, 2, 1)"));
    assert!(pytorch::module_source(&relu6).unwrap().contains("InvertedResidual(4, 8, 2, 1, nn.ReLU6())"));
}

fn error_of(json: &str) -> String {
    match ModelSpec::from_json(json) {
        Err(e) => e.to_string(),
        Ok(spec) => infer(&spec).err().map(|e| e.to_string()).unwrap_or_else(|| panic!("accepted: {json}")),
    }
}

/// The page's preset index (models/presets.json) lists every preset once, and
/// each promises what its full run reaches and a shorter browser check.
#[test]
fn the_preset_index_lists_every_preset() {
    let dir = format!("{}/../models", env!("CARGO_MANIFEST_DIR"));
    let index: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(format!("{dir}/presets.json")).unwrap()).unwrap();
    let mut listed: Vec<String> = index["presets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            for key in ["expected", "check"] {
                let c = &p[key];
                assert!(c["steps"].as_u64().is_some_and(|s| s > 0), "{p}: {key}.steps");
                assert!(c["atLeast"].is_number() != c["atMost"].is_number(), "{p}: {key} needs atLeast or atMost");
                assert!(["testAccuracy", "testLoss"].contains(&c["metric"].as_str().unwrap()), "{p}: {key}.metric");
            }
            assert!(p["family"].is_string(), "{p}: family");
            p["file"].as_str().unwrap().to_string()
        })
        .collect();
    listed.sort();
    let files: Vec<String> = presets().into_iter().map(|(f, _)| f).collect();
    assert_eq!(listed, files, "models/presets.json must list exactly the preset files");
}

#[test]
fn malformed_specs_name_the_offending_field() {
    let cases = [
        (r#"{"name":"m","input":[1,8,8],"layers":[{"type":"conv2d","out":4,"kernel":0}]}"#, "invalid layers[0].kernel: must be >= 1"),
        (r#"{"name":"m","input":[1,8,8],"layers":[{"type":"linear","out":2},{"type":"conv2d","out":4,"kernel":9}]}"#, "invalid layers[1]:"),
        // Inside a tagged layer, serde reports the layer and the type problem.
        (r#"{"name":"m","input":[4],"layers":[{"type":"linear","out":"two"}]}"#, "invalid layers[0]: invalid type: string \"two\", expected usize"),
        (r#"{"name":"m","input":[4],"layers":[{"type":"linear","out":2,"bias":true,"colour":1}]}"#, "colour"),
        (r#"{"name":"m","input":[4],"layers":[{"type":"lineer","out":2}]}"#, "invalid layers[0].type: unknown variant `lineer`"),
        (r#"{"name":"m","input":[6,8],"layers":[{"type":"attention","heads":3}]}"#, "invalid layers[0].heads:"),
        (
            r#"{"name":"m","input":[3,8,8],"layers":[{"type":"residual","body":[{"type":"conv2d","out":5,"kernel":1}]}]}"#,
            "invalid layers[0]: the body gives [5, 8, 8] but the shortcut gives [3, 8, 8]",
        ),
        (
            r#"{"name":"m","input":[3,8,8],"layers":[{"type":"residual","body":[{"type":"conv2d","out":3,"kernel":3,"stride":2,"padding":"same"}]}]}"#,
            "invalid layers[0].body[0].padding:",
        ),
        (r#"{"name":"m","input":[0],"layers":[{"type":"linear","out":2}]}"#, "invalid input:"),
        (r#"{"name":"m","input":[4],"layers":[]}"#, "invalid layers:"),
        (r#"{"name":"m","input":[4],"layers":[{"type":"linear","out":18446744073709551615}]}"#, "invalid layers[0].out: must be <= 4096"),
        (r#"{"name":"m","input":[10,4],"layers":[{"type":"positional_encoding","maxLen":5}]}"#, "invalid layers[0].maxLen:"),
        ("not json", "invalid spec"),
    ];
    for (json, expected) in cases {
        let err = error_of(json);
        assert!(err.starts_with(expected) || err.contains(expected), "{json}\n  gave: {err}\n  expected: {expected}");
    }
}

/// Loss arguments that do not fit the data are refused before training, naming the field.
#[test]
fn loss_arguments_that_do_not_fit_the_data_are_named() {
    let (_, digits) = presets().into_iter().find(|(f, _)| f == "digits-cnn.json").unwrap();
    let (_, regression) = presets().into_iter().find(|(f, _)| f == "playground-reg-plane.json").unwrap();
    let cases = [
        (&digits, r#"{"name":"cross_entropy","reduction":"none"}"#, "invalid loss.reduction: \"none\" leaves one loss per example"),
        (&digits, r#"{"name":"cross_entropy","weight":[1,2]}"#, "invalid loss.weight: the dataset has 10 classes, so the loss takes 10 class weights, got 2"),
        (&digits, r#"{"name":"cross_entropy","weight":[1,1,1,1,1,1,1,1,1,-1]}"#, "invalid loss.weight: class weights are finite numbers of at least 0"),
        (&digits, r#"{"name":"cross_entropy","labelSmoothing":1.5}"#, "invalid loss.labelSmoothing:"),
        (
            &regression,
            r#"{"name":"bce_with_logits","posWeight":[1,2,3]}"#,
            "invalid loss.posWeight: the model gives 1 output(s) per example: pos_weight takes one value, or one per output, got 3",
        ),
        (&regression, r#"{"name":"mse","reduction":"none"}"#, "invalid loss.reduction:"),
    ];
    for (preset, loss, expected) in cases {
        let mut spec: serde_json::Value = serde_json::from_str(preset).unwrap();
        spec["loss"] = serde_json::from_str(loss).unwrap();
        let spec = ModelSpec::from_json(&spec.to_string()).unwrap();
        let err = check_fit(&spec, &infer(&spec).unwrap()).expect_err(loss).to_string();
        assert!(err.starts_with(expected), "{loss}\n  gave: {err}\n  expected: {expected}");
    }
    let mut spec: serde_json::Value = serde_json::from_str(&digits).unwrap();
    spec["loss"] = serde_json::json!({"name": "cross_entropy", "ignoreIndex": 3, "weight": [1, 1, 2, 1, 1, 1, 1, 1, 1, 0.5], "reduction": "sum"});
    let spec = ModelSpec::from_json(&spec.to_string()).unwrap();
    check_fit(&spec, &infer(&spec).unwrap()).unwrap();
}

#[test]
fn the_json_schema_describes_every_layer_type() {
    let schema = serde_json::to_string(&ModelSpec::schema()).unwrap();
    for kind in ["linear", "conv2d", "inverted_residual", "lstm", "transformer_encoder", "aaren", "s4d", "residual", "tail"] {
        assert!(schema.contains(&format!("\"{kind}\"")), "schema lacks {kind}");
    }
}

/// Arbitrary JSON, biased towards spec-like objects.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<u64>().prop_map(|n| serde_json::json!(n)),
        (0u64..40).prop_map(|n| serde_json::json!(n)),
        any::<i64>().prop_map(|n| serde_json::json!(n)),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| serde_json::json!(f)),
        prop::sample::select(vec!["same", "valid", "relu", "gelu", "last", "sequence", "learned", "x"]).prop_map(|s| serde_json::json!(s)),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "type", "out", "kernel", "stride", "padding", "dilation", "groups", "heads", "ff", "hidden", "layers", "body", "shortcut", "steps",
                    "state", "maxLen", "p", "num", "dim", "expand", "scale", "fn", "slope", "output"
                ])
                .prop_map(String::from),
                inner,
                0..6,
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Mutable references to every number in a JSON document.
fn number_slots<'a>(v: &'a mut serde_json::Value, out: &mut Vec<&'a mut serde_json::Value>) {
    match v {
        serde_json::Value::Number(_) => out.push(v),
        serde_json::Value::Array(a) => a.iter_mut().for_each(|x| number_slots(x, out)),
        serde_json::Value::Object(m) => m.values_mut().for_each(|x| number_slots(x, out)),
        _ => {}
    }
}

fn layer_types() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "linear",
        "conv1d",
        "conv2d",
        "max_pool1d",
        "avg_pool1d",
        "max_pool2d",
        "avg_pool2d",
        "adaptive_avg_pool1d",
        "adaptive_max_pool1d",
        "adaptive_avg_pool2d",
        "adaptive_max_pool2d",
        "pad",
        "global_avg_pool",
        "flatten",
        "dropout",
        "embedding",
        "batch_norm",
        "layer_norm",
        "activation",
        "residual",
        "inverted_residual",
        "conv_bn",
        "rnn",
        "gru",
        "lstm",
        "attention",
        "transformer_encoder",
        "positional_encoding",
        "aaren",
        "s4d",
        "last_step",
        "tail",
    ])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn no_spec_makes_parsing_inference_or_building_panic(
        input in prop::collection::vec(prop_oneof![0usize..12, any::<usize>()], 0..4),
        layers in prop::collection::vec((layer_types(), json_value()), 0..5),
    ) {
        let layers: Vec<serde_json::Value> = layers.into_iter().map(|(kind, extra)| {
            let mut obj = match extra { serde_json::Value::Object(m) => m, _ => Default::default() };
            obj.insert("type".into(), serde_json::json!(kind));
            serde_json::Value::Object(obj)
        }).collect();
        let json = serde_json::json!({ "name": "fuzz", "input": input, "layers": layers }).to_string();
        if let Ok(spec) = ModelSpec::from_json(&json)
            && let Ok(report) = infer(&spec) {
                // Building allocates; only small models are built here.
                if report.params < 200_000 {
                    let (model, _) = build(&spec, &Device::Cpu).expect("a spec that passes inference builds");
                    let _ = pytorch::module_source(&spec).expect("and exports");
                    let shape: Vec<usize> = std::iter::once(2).chain(spec.input.iter().copied()).collect();
                    if shape.iter().product::<usize>() < 100_000 {
                        let x = Tensor::zeros(&shape, &Device::Cpu).unwrap();
                        let _ = model.forward(&x);
                    }
                }
            }
    }

    /// Presets with some of their numbers replaced: mostly valid documents,
    /// so inference and building are exercised deeply.
    #[test]
    fn mutated_presets_never_panic(
        which in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), prop_oneof![0u64..20, any::<u64>()]), 1..4),
    ) {
        let all = presets();
        let mut doc: serde_json::Value = serde_json::from_str(&all[which.index(all.len())].1).unwrap();
        doc.as_object_mut().unwrap().remove("data");
        for (at, value) in edits {
            let mut slots = Vec::new();
            number_slots(&mut doc, &mut slots);
            if slots.is_empty() { break; }
            let n = slots.len();
            *slots.swap_remove(at.index(n)) = serde_json::json!(value);
        }
        if let Ok(spec) = ModelSpec::from_json(&doc.to_string())
            && let Ok(report) = infer(&spec)
                && report.params < 300_000 && spec.input.iter().product::<usize>() < 5_000 {
                    let (model, _) = build(&spec, &Device::Cpu).expect("a spec that passes inference builds");
                    let shape: Vec<usize> = std::iter::once(2).chain(spec.input.iter().copied()).collect();
                    let y = model.forward(&Tensor::zeros(&shape, &Device::Cpu).unwrap());
                    if let Ok(y) = y {
                        let expect: Vec<usize> = std::iter::once(2).chain(report.output.iter().copied()).collect();
                        prop_assert_eq!(y.shape(), expect.as_slice());
                    }
                }
    }

    #[test]
    fn arbitrary_json_never_panics(v in json_value()) {
        let _ = ModelSpec::from_json(&v.to_string()).map(|s| infer(&s));
    }
}

/// models/spec.schema.json is the published schema; it must match the types.
/// `NNLAB_WRITE_SCHEMA=1 cargo test -p nnlab-tests --test specs` rewrites it.
#[test]
fn the_committed_schema_is_current() {
    let path = format!("{}/../models/spec.schema.json", env!("CARGO_MANIFEST_DIR"));
    let current = serde_json::to_string_pretty(&ModelSpec::schema()).unwrap() + "\n";
    if std::env::var("NNLAB_WRITE_SCHEMA").is_ok() {
        std::fs::write(&path, &current).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(committed == current, "models/spec.schema.json is stale; regenerate with NNLAB_WRITE_SCHEMA=1");
}
