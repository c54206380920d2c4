//! The layers' PyTorch options (the specs in tests/fixtures/specs) compute
//! the same on the GPU (wgpu, lavapipe here) as on the CPU: outputs and the
//! gradients of every parameter.

use nnlab_core::{Device, GpuContext, Op, Tensor};
use nnlab_nn::layers::{Recurrent, RecurrentKind};
use nnlab_nn::spec::{LayerSpec, ModelSpec, build};
use nnlab_nn::{Inference, Module};
use nnlab_tests::{mismatch, option_specs};

fn values(t: &Tensor) -> Vec<f32> {
    pollster::block_on(t.to_vec()).unwrap()
}

/// A seeded batch of 3: token ids for an embedding, uniform values otherwise.
fn input_for(spec: &ModelSpec, device: &Device) -> Tensor {
    let shape: Vec<usize> = std::iter::once(3).chain(spec.input.iter().copied()).collect();
    let u = nnlab_core::random::sample(shape.iter().product(), nnlab_core::random::RandomKind::Uniform { low: 0.0, high: 1.0 }, spec.seed, 5);
    let values = match spec.layers.first() {
        Some(LayerSpec::Embedding { num, .. }) => u.iter().map(|v| (v * *num as f32).floor()).collect(),
        _ => u,
    };
    Tensor::from_vec(values, &shape, device).unwrap()
}

/// Output and parameter gradients of sum(output^2) in training mode.
fn run(spec: &ModelSpec, device: &Device) -> Vec<(String, Vec<f32>)> {
    let (model, _) = build(spec, device).unwrap();
    let y = model.forward(&input_for(spec, device)).unwrap();
    let grads = y.square().unwrap().sum_all().unwrap().backward().unwrap();
    let mut out = vec![("output".to_string(), values(&y))];
    for (name, p) in model.parameters() {
        out.push((format!("grad {name}"), grads.get(&p.get()).map(values).unwrap_or_default()));
    }
    out
}

#[test]
fn layer_options_agree_on_gpu_and_cpu() {
    let ctx = pollster::block_on(GpuContext::new()).expect("a wgpu adapter (install mesa-vulkan-drivers for lavapipe)");
    for (file, json) in option_specs() {
        let spec = ModelSpec::from_json(&json).unwrap();
        let (cpu, gpu) = (run(&spec, &Device::Cpu), run(&spec, &Device::Gpu(ctx.clone())));
        for ((what, a), (_, b)) in cpu.iter().zip(&gpu) {
            assert_eq!(a.len(), b.len(), "{file}: {what}");
            if let Some((i, x, y)) = mismatch(b, a, 1e-4, 1e-3) {
                panic!("{file}: {what}[{i}] GPU {x} vs CPU {y}");
            }
        }
        eprintln!("{file}: {} tensors agree", cpu.len());
    }
}

/// Whether the graph that produced `t` holds an op that `is` picks (one
/// kernel for a layer's steps rather than the steps one by one).
fn graph_holds(t: &Tensor, is: fn(&Op) -> bool) -> bool {
    let mut stack = vec![t.clone()];
    while let Some(t) = stack.pop() {
        match t.op() {
            Some(op) if is(op) => return true,
            Some(op) => stack.extend(op.inputs().into_iter().cloned()),
            None => {}
        }
    }
    false
}

fn ran_as_recurrence(t: &Tensor) -> bool {
    graph_holds(t, |op| matches!(op, Op::Recurrence { .. }))
}

/// The output `y` of `layer` and the gradients of sum(y^2) for each of its
/// parameters, by name.
fn output_and_gradients(layer: &dyn Module, y: &Tensor) -> Vec<(String, Vec<f32>)> {
    let grads = y.square().unwrap().sum_all().unwrap().backward().unwrap();
    let mut out = vec![("output".to_string(), values(y))];
    for (name, p) in layer.parameters() {
        out.push((format!("grad {name}"), values(grads.get(&p.get()).unwrap())));
    }
    out
}

/// Aaren's recurrent mode runs as one attention scan on the GPU: outputs
/// and every parameter's gradient equal the CPU's token-by-token steps, on
/// 40 tokens whose scores span the cap's range.
#[test]
fn aaren_recurrent_mode_is_one_scan_on_the_gpu_and_agrees_with_the_steps() {
    let ctx = pollster::block_on(GpuContext::new()).expect("a wgpu adapter (install mesa-vulkan-drivers for lavapipe)");
    let (n, t, dim) = (3, 40, 6);
    let x: Vec<f32> = nnlab_tests::uniform(&[n, t, dim], 9).iter().map(|v| v * 30.0).collect();
    let run = |device: &Device| {
        let layer = nnlab_nn::layers::Aaren::new(dim, 4, 0, device).unwrap();
        let y = layer.forward_recurrent(&Tensor::from_vec(x.clone(), &[n, t, dim], device).unwrap()).unwrap();
        (output_and_gradients(&layer, &y), graph_holds(&y, |op| matches!(op, Op::AttentionScan { .. })))
    };
    let ((cpu, cpu_scan), (gpu, gpu_scan)) = (run(&Device::Cpu), run(&Device::Gpu(ctx)));
    assert!(gpu_scan && !cpu_scan, "the GPU runs one scan, the CPU its steps");
    for ((what, a), (_, b)) in cpu.iter().zip(&gpu) {
        if let Some((i, x, y)) = mismatch(b, a, 1e-4, 1e-3) {
            panic!("{what}[{i}] GPU {x} vs CPU {y}");
        }
    }
}

/// S4D's recurrent mode over a whole sequence runs as one state-space scan
/// on the GPU: outputs and every parameter's gradient equal the convolution
/// mode's on the CPU, and the outputs its token-by-token steps', over 40
/// steps.
#[test]
fn s4d_recurrent_mode_is_one_scan_on_the_gpu_and_agrees_with_the_convolution() {
    let ctx = pollster::block_on(GpuContext::new()).expect("a wgpu adapter (install mesa-vulkan-drivers for lavapipe)");
    let (n, t, channels) = (3, 40, 5);
    let x = nnlab_tests::uniform(&[n, t, channels], 11);
    let run = |device: &Device, inference: Inference| {
        let layer = nnlab_nn::layers::S4d::new(channels, 8, 0, 0, device).unwrap();
        layer.set_inference(inference).unwrap();
        let y = layer.forward(&Tensor::from_vec(x.clone(), &[n, t, channels], device).unwrap()).unwrap();
        (output_and_gradients(&layer, &y), graph_holds(&y, |op| matches!(op, Op::SsmScan { .. })))
    };
    let ((conv, conv_scan), (gpu, gpu_scan)) = (run(&Device::Cpu, Inference::Standard), run(&Device::Gpu(ctx), Inference::Recurrent));
    assert!(gpu_scan && !conv_scan, "the GPU runs one scan, the CPU its convolution");
    for ((what, a), (_, b)) in conv.iter().zip(&gpu) {
        if let Some((i, x, y)) = mismatch(b, a, 1e-4, 1e-3) {
            panic!("{what}[{i}] GPU scan {x} vs CPU convolution {y}");
        }
    }
    let layer = nnlab_nn::layers::S4d::new(channels, 8, 0, 0, &Device::Cpu).unwrap();
    let mut carry = nnlab_nn::Carry::default();
    let mut steps = vec![0.0; n * t * channels];
    for k in 0..t {
        let token: Vec<f32> = (0..n).flat_map(|row| x[(row * t + k) * channels..][..channels].to_vec()).collect();
        let y = values(&layer.forward_token(&Tensor::from_vec(token, &[n, 1, channels], &Device::Cpu).unwrap(), &mut carry).unwrap());
        for row in 0..n {
            steps[(row * t + k) * channels..][..channels].copy_from_slice(&y[row * channels..][..channels]);
        }
    }
    if let Some((i, x, y)) = mismatch(&gpu[0].1, &steps, 1e-4, 1e-3) {
        panic!("output[{i}] GPU scan {x} vs CPU steps {y}");
    }
}

/// Each recurrent layer on both sides of the adapter's bound for one
/// recurrence kernel (the largest hidden size within it, where the bound on
/// the weights an invocation holds shapes the workgroup most, and the
/// smallest past it, which runs step by step):
/// outputs, final states and every gradient (parameters, h0 and c0) equal
/// the CPU's, bidirectional, two layers, batch-first, from given states.
#[test]
fn recurrent_layers_agree_on_both_sides_of_the_one_kernel_bound() {
    let ctx = pollster::block_on(GpuContext::new()).expect("a wgpu adapter (install mesa-vulkan-drivers for lavapipe)");
    let gpu = Device::Gpu(ctx.clone());
    let (batch, steps, features) = (5, 3, 4);
    for kind in [RecurrentKind::RnnTanh, RecurrentKind::RnnRelu, RecurrentKind::Gru, RecurrentKind::Lstm] {
        let past = (1..4096).find(|&h| !ctx.recurrence_fits(kind, h, batch)).expect("a bound below 4096 units");
        for hidden in [6, past - 1, past] {
            let run = |device: &Device| {
                let layer = Recurrent::new(kind, features, hidden, 2, true, true, 7, 1, device).unwrap();
                let x = Tensor::rand_uniform(&[batch, steps, features], -1.0, 1.0, 3, 0, device).unwrap();
                let state = |seed| Tensor::rand_uniform(&[4, batch, hidden], -0.5, 0.5, seed, 0, device).unwrap().requires_grad_();
                let (h0, c0) = (state(4), state(5));
                let out = layer.run_from(&x, Some(&h0), (kind == RecurrentKind::Lstm).then_some(&c0)).unwrap();
                let fused = ran_as_recurrence(&out.output);
                let mut loss = out.output.square().unwrap().sum_all().unwrap().add(&out.h_n.sum_all().unwrap()).unwrap();
                if let Some(c_n) = &out.c_n {
                    loss = loss.add(&c_n.mul_scalar(0.5).unwrap().sum_all().unwrap()).unwrap();
                }
                let grads = loss.backward().unwrap();
                let mut tensors = vec![
                    ("output".to_string(), values(&out.output)),
                    ("h_n".to_string(), values(&out.h_n)),
                    ("grad h0".to_string(), values(grads.get(&h0).unwrap())),
                ];
                if kind == RecurrentKind::Lstm {
                    tensors.push(("grad c0".to_string(), values(grads.get(&c0).unwrap())));
                }
                for (name, p) in layer.parameters() {
                    tensors.push((format!("grad {name}"), values(grads.get(&p.get()).unwrap())));
                }
                (fused, tensors)
            };
            let ((_, cpu), (fused, gpu)) = (run(&Device::Cpu), run(&gpu));
            assert_eq!(fused, hidden < past, "{kind:?} with {hidden} units: one kernel {fused}, bound {past}");
            for ((what, a), (_, b)) in cpu.iter().zip(&gpu) {
                assert_eq!(a.len(), b.len(), "{kind:?} {hidden}: {what}");
                if let Some((i, x, y)) = mismatch(b, a, 1e-4, 1e-3) {
                    panic!("{kind:?} with {hidden} units: {what}[{i}] GPU {x} vs CPU {y}");
                }
            }
            eprintln!("{kind:?} with {hidden} units ({}): {} tensors agree", if fused { "one kernel" } else { "step by step" }, cpu.len());
        }
    }
}
