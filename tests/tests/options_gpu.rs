//! The layers' PyTorch options (the specs in tests/fixtures/specs) compute
//! the same on the GPU (wgpu, lavapipe here) as on the CPU: outputs and the
//! gradients of every parameter.

use nnlab_core::{Device, GpuContext, Tensor};
use nnlab_nn::Module;
use nnlab_nn::spec::{LayerSpec, ModelSpec, build};
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
