//! Layers with two ways to compute the same thing must agree: Aaren's parallel
//! prefix scan and its token-by-token recurrence, S4D's convolution and its
//! recurrence, and a Conv-BN block before and after folding the BatchNorm.

use nnlab_core::{Device, Tensor, no_grad};
use nnlab_nn::layers::{Aaren, ConvBn, Padding, S4d};
use nnlab_nn::{Activation, Module};
use nnlab_tests::{cpu_tensor, mismatch, uniform};

const CPU: Device = Device::Cpu;

fn values(t: &Tensor) -> Vec<f32> {
    pollster::block_on(t.to_vec()).unwrap()
}

/// Runs `step` over the time axis of x [N, T, F] and stacks the outputs.
fn unroll(x: &Tensor, mut step: impl FnMut(&Tensor) -> Tensor) -> Tensor {
    let (n, t, f) = (x.shape()[0], x.shape()[1], x.shape()[2]);
    let outs: Vec<Tensor> = (0..t).map(|i| step(&x.narrow(1, i, 1).unwrap().reshape(&[n, f]).unwrap()).unsqueeze(1).unwrap()).collect();
    Tensor::concat(&outs, 1).unwrap()
}

#[test]
fn aaren_parallel_and_recurrent_modes_agree() {
    let _g = no_grad();
    let layer = Aaren::new(6, 3, 0, &CPU).unwrap();
    let x = cpu_tensor(uniform(&[2, 9, 6], 1).iter().map(|v| v * 3.0).collect(), &[2, 9, 6]);
    let parallel = layer.forward_parallel(&x).unwrap();
    let mut state = layer.initial_state(2, &CPU).unwrap();
    let recurrent = unroll(&x, |xt| {
        let (y, next) = layer.step(xt, &state).unwrap();
        state = next;
        y
    });
    assert_eq!(parallel.shape(), recurrent.shape());
    assert_eq!(mismatch(&values(&recurrent), &values(&parallel), 1e-5, 1e-4), None);
    // The first output attends to the first token alone: out(value(x_1)).
    let first = layer.out.forward(&layer.value.forward(&x.narrow(1, 0, 1).unwrap()).unwrap()).unwrap();
    assert_eq!(mismatch(&values(&parallel.narrow(1, 0, 1).unwrap()), &values(&first), 1e-5, 1e-4), None);
}

#[test]
fn s4d_convolution_and_recurrent_modes_agree() {
    let _g = no_grad();
    let layer = S4d::new(3, 8, 5, 0, &CPU).unwrap();
    let x = cpu_tensor(uniform(&[2, 12, 3], 2), &[2, 12, 3]);
    let conv = layer.forward_conv(&x).unwrap();
    let mut state = layer.initial_state(2, &CPU).unwrap();
    let recurrent = unroll(&x, |ut| {
        let (y, next) = layer.step(ut, &state).unwrap();
        state = next;
        y
    });
    assert_eq!(conv.shape(), [2, 12, 3]);
    assert_eq!(mismatch(&values(&recurrent), &values(&conv), 1e-5, 1e-4), None);
    // The whole sequence's recurrence as one scan (`Inference::Recurrent`).
    assert_eq!(mismatch(&values(&layer.forward_recurrent(&x).unwrap()), &values(&conv), 1e-5, 1e-4), None);
    // Causality: changing the last input leaves earlier outputs alone.
    let mut later = uniform(&[2, 12, 3], 2);
    later[11 * 3] += 5.0;
    let changed = layer.forward_conv(&cpu_tensor(later, &[2, 12, 3])).unwrap();
    assert_eq!(values(&changed.narrow(1, 0, 11).unwrap()), values(&conv.narrow(1, 0, 11).unwrap()));
}

#[test]
fn s4d_trains_by_gradient() {
    let layer = S4d::new(2, 4, 1, 0, &CPU).unwrap();
    let x = cpu_tensor(uniform(&[1, 6, 2], 3), &[1, 6, 2]);
    let g = layer.forward(&x).unwrap().square().unwrap().sum_all().unwrap().backward().unwrap();
    for (name, p) in layer.parameters() {
        let grad = values(g.get(&p.get()).unwrap_or_else(|| panic!("no gradient for {name}")));
        assert!(grad.iter().all(|v| v.is_finite()) && grad.iter().any(|v| *v != 0.0), "{name}: {grad:?}");
    }
}

#[test]
fn conv_bn_folds_into_one_convolution() {
    let block = ConvBn::new(3, 4, 3, 1, Padding::Explicit([1, 1]), 1, Some(Activation::Relu), 7, 0, &CPU).unwrap();
    // A few training steps give the running statistics non-trivial values.
    for seed in 0..3 {
        block.forward(&cpu_tensor(uniform(&[4, 3, 5, 5], 10 + seed), &[4, 3, 5, 5])).unwrap();
    }
    block.set_training(false);
    let x = cpu_tensor(uniform(&[2, 3, 5, 5], 20), &[2, 3, 5, 5]);
    let _g = no_grad();
    let reference = block.bn.forward(&block.conv.forward(&x).unwrap()).unwrap();
    let folded = block.fold().unwrap().forward(&x).unwrap();
    assert_eq!(mismatch(&values(&folded), &values(&reference), 1e-5, 1e-4), None);
}

/// On a GPU, S4D's convolution mode is a depthwise convolution of the padded
/// input (on the CPU a Toeplitz matmul): outputs and every gradient agree.
#[test]
fn s4d_on_the_gpu_computes_what_the_cpu_does() {
    let gpu = Device::Gpu(pollster::block_on(nnlab_core::GpuContext::new()).expect("a wgpu adapter (lavapipe)"));
    let run = |device: &Device| {
        let layer = S4d::new(5, 8, 3, 0, device).unwrap();
        let x = Tensor::from_vec(uniform(&[3, 17, 5], 4), &[3, 17, 5], device).unwrap().requires_grad_();
        let y = layer.forward_conv(&x).unwrap();
        let grads = y.square().unwrap().sum_all().unwrap().backward().unwrap();
        let mut out = vec![values(&y), values(grads.get(&x).unwrap())];
        out.extend(layer.parameters().iter().map(|(_, p)| values(grads.get(&p.get()).unwrap())));
        out
    };
    for (i, (c, g)) in run(&CPU).iter().zip(run(&gpu)).enumerate() {
        assert_eq!(mismatch(&g, c, 1e-4, 1e-3), None, "output, input gradient and parameter gradients (#{i})");
    }
}
