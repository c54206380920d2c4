//! The inspection views' numbers (nnlab_nn::spec::inspect): probes agree with
//! the model's own outputs and with each other, the confusion matrix with the
//! metrics' accuracy, the histograms with the parameters, looking never
//! changes the run, and the GPU computes what the CPU does.
#![cfg(not(target_arch = "wasm32"))]

use nnlab_core::{Device, GpuContext};
use nnlab_nn::ProbeKind;
use nnlab_nn::spec::inspect::{ExampleRef, InspectRequest, Inspection, Split};
use nnlab_nn::spec::{ModelSpec, SpecTrainer};
use nnlab_tests::mismatch;

fn trainer(file: &str, device: Device, steps: usize) -> SpecTrainer {
    let path = format!("{}/../models/{file}", env!("CARGO_MANIFEST_DIR"));
    let spec = ModelSpec::from_json(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut t = pollster::block_on(SpecTrainer::new(&spec, device)).unwrap();
    t.train(steps).unwrap();
    t
}

fn everything(index: usize) -> InspectRequest {
    InspectRequest {
        example: Some(ExampleRef { split: Split::Test, index }),
        confusion: true,
        predictions: true,
        parameters: true,
        sparsity: true,
        filters: true,
        ..Default::default()
    }
}

fn inspect(t: &SpecTrainer, r: &InspectRequest) -> Inspection {
    pollster::block_on(t.inspect(r)).unwrap()
}

#[test]
fn digits_cnn_probes_confusion_histograms_and_filters_agree_with_the_model() {
    let t = trainer("digits-cnn.json", Device::Cpu, 60);
    let i = inspect(&t, &everything(3));
    let example = i.example.as_ref().unwrap();
    // Every layer's output, in order, with the shapes shape inference reports.
    let outputs: Vec<_> = example.probes.iter().filter(|p| p.kind == ProbeKind::Output).collect();
    assert_eq!(outputs.len(), t.report.layers.len());
    for (p, r) in outputs.iter().zip(&t.report.layers) {
        assert_eq!((&p.path, &p.shape), (&r.path, &r.output));
        assert_eq!(p.values.len(), r.output.iter().product::<usize>());
    }
    // The last probe is the logits; the output is their softmax, as predict gives.
    let logits = &outputs.last().unwrap().values;
    let total: f32 = logits.iter().map(|v| (v - logits[0]).exp()).sum();
    assert!((example.output[0] - 1.0 / total).abs() < 1e-5);
    let per = 64;
    let predicted = pollster::block_on(t.predict(&t.data().test.x[3 * per..4 * per], 1)).unwrap();
    assert!(mismatch(&predicted, &example.output, 1e-6, 1e-5).is_none());
    // A ReLU's probe has zeros exactly where the BatchNorm before it is <= 0.
    let (bn, relu) = (&outputs[1].values, &outputs[2].values);
    assert!(bn.iter().zip(relu).all(|(b, r)| *r == b.max(0.0)));

    // The confusion matrix holds the test accuracy of the metrics.
    let c = i.confusion.as_ref().unwrap();
    let m = pollster::block_on(t.metrics()).unwrap();
    let right: u32 = (0..10).map(|k| c.counts[k * 11]).sum();
    assert_eq!(c.counts.iter().sum::<u32>() as usize, c.examples);
    assert!((right as f32 / c.examples as f32 - m.test_accuracy.unwrap()).abs() < 1e-6);
    assert_eq!(c.wrong.len().min(32), (c.examples - right as usize).min(32));
    for w in &c.wrong {
        assert_ne!(w.label, w.predicted);
        assert_eq!(t.data().test.y[w.index] as usize, w.label);
    }

    // Sparsity on one example is the share of zeros in that example's ReLU probe.
    let one = inspect(&t, &InspectRequest { sparsity: true, limit: Some(1), ..Default::default() });
    let first = inspect(&t, &everything(0));
    let s = one.sparsity.unwrap();
    assert_eq!(s.iter().map(|s| s.path.as_str()).collect::<Vec<_>>(), ["layers[2]", "layers[6]"]);
    let probe = first.example.unwrap().probes.into_iter().find(|p| p.path == "layers[2]" && p.kind == ProbeKind::Output).unwrap();
    let zeros = probe.values.iter().filter(|v| **v == 0.0).count() as f32 / probe.values.len() as f32;
    assert!((s[0].zeros - zeros).abs() < 1e-6, "{} vs {zeros}", s[0].zeros);

    // Histograms count every parameter, per top-level layer.
    let params = i.parameters.as_ref().unwrap();
    assert_eq!(params.iter().map(|p| p.count).sum::<usize>(), t.report.params);
    for p in params {
        assert_eq!(p.weights.counts.iter().sum::<u32>() as usize, p.count);
        assert_eq!(p.gradients.counts.iter().sum::<u32>() as usize, p.count);
        assert!(p.gradient_norm.is_finite() && p.weight_norm > 0.0);
    }
    assert_eq!(params[0].path, "layers[0]");
    // The filters are the conv weights.
    let f = i.filters.as_ref().unwrap();
    assert_eq!(f.iter().map(|f| (f.path.as_str(), f.shape.clone())).collect::<Vec<_>>(), [("layers[0]", vec![16, 1, 3, 3]), ("layers[4]", vec![32, 16, 3, 3])]);
    let w = pollster::block_on(nnlab_nn::spec::state_dict(&t.model)[0].1.to_vec()).unwrap();
    assert_eq!(f[0].values, w);
}

#[test]
fn looking_does_not_change_the_run() {
    let mut a = trainer("digits-cnn.json", Device::Cpu, 5);
    let mut b = trainer("digits-cnn.json", Device::Cpu, 5);
    inspect(&a, &everything(1));
    a.train(5).unwrap();
    b.train(5).unwrap();
    let (sa, sb) = (pollster::block_on(a.export_state()).unwrap(), pollster::block_on(b.export_state()).unwrap());
    assert_eq!(serde_json::to_string(&sa).unwrap(), serde_json::to_string(&sb).unwrap());
}

#[test]
fn attention_rows_are_distributions_and_hidden_states_run_over_time() {
    let t = trainer("copy-transformer.json", Device::Cpu, 5);
    let e = inspect(&t, &everything(0)).example.unwrap();
    let attention: Vec<_> = e.probes.iter().filter(|p| p.kind == ProbeKind::Attention).collect();
    assert_eq!(
        attention.iter().map(|p| (p.path.as_str(), p.shape.clone())).collect::<Vec<_>>(),
        [("layers[2]", vec![4, 10, 10]), ("layers[3]", vec![4, 10, 10])]
    );
    for row in attention[0].values.chunks(10) {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }

    let t = trainer("adding-aaren.json", Device::Cpu, 5);
    let e = inspect(&t, &everything(0)).example.unwrap();
    let a = e.probes.iter().find(|p| p.kind == ProbeKind::Attention).unwrap();
    let steps = a.shape[1];
    assert_eq!((a.shape[0], a.shape[2]), (1, steps));
    for (k, row) in a.values.chunks(steps).enumerate() {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-4, "row {k}");
        assert!(row[k + 1..].iter().all(|v| *v == 0.0), "row {k} attends to the future");
    }

    let t = trainer("adding-lstm.json", Device::Cpu, 5);
    let e = inspect(&t, &everything(0)).example.unwrap();
    let h = e.probes.iter().find(|p| p.kind == ProbeKind::Hidden).unwrap();
    let input = &t.report.input;
    assert_eq!(h.shape[0], input[0]);
    assert!(h.values.iter().all(|v| v.abs() <= 1.0));
}

#[test]
fn a_drawing_is_probed_like_an_example_and_bad_drawings_are_refused() {
    let t = trainer("digits-cnn.json", Device::Cpu, 20);
    let x = t.data().test.x[..64].to_vec();
    let drawn = inspect(&t, &InspectRequest { input: Some(x), ..Default::default() }).drawing.unwrap();
    let example = inspect(&t, &everything(0)).example.unwrap();
    assert_eq!(drawn.output, example.output);
    for bad in [vec![0.0; 63], vec![f32::NAN; 64]] {
        let e = pollster::block_on(t.inspect(&InspectRequest { input: Some(bad), ..Default::default() })).unwrap_err();
        assert!(e.to_string().contains("64 finite values"), "{e}");
    }
    let e =
        pollster::block_on(t.inspect(&InspectRequest { example: Some(ExampleRef { split: Split::Test, index: 1 << 20 }), ..Default::default() })).unwrap_err();
    assert!(e.to_string().contains("out of range"), "{e}");
}

#[test]
fn the_gpu_inspects_what_the_cpu_does() {
    let ctx = pollster::block_on(GpuContext::new()).expect("a wgpu adapter (install mesa-vulkan-drivers for lavapipe)");
    for file in ["digits-cnn.json", "copy-transformer.json", "adding-lstm.json", "sine-s4d.json"] {
        let cpu = trainer(file, Device::Cpu, 0);
        let gpu = trainer(file, Device::Gpu(ctx.clone()), 0);
        let (a, b) = (inspect(&cpu, &everything(2)), inspect(&gpu, &everything(2)));
        let (ea, eb) = (a.example.unwrap(), b.example.unwrap());
        assert!(mismatch(&ea.output, &eb.output, 1e-4, 1e-3).is_none(), "{file}: output");
        for (pa, pb) in ea.probes.iter().zip(&eb.probes) {
            assert_eq!((&pa.path, pa.kind), (&pb.path, pb.kind));
            assert!(
                mismatch(&pa.values, &pb.values, 1e-4, 1e-3).is_none(),
                "{file}: {} {:?} {:?}",
                pa.path,
                pa.kind,
                mismatch(&pa.values, &pb.values, 1e-4, 1e-3)
            );
        }
        for (pa, pb) in a.parameters.unwrap().iter().zip(&b.parameters.unwrap()) {
            assert!(
                (pa.gradient_norm - pb.gradient_norm).abs() <= 1e-3 * pa.gradient_norm.max(1e-3),
                "{file}: {} {} {}",
                pa.path,
                pa.gradient_norm,
                pb.gradient_norm
            );
        }
    }
}
