//! Every primitive's backward rule against central differences.
//!
//! Arithmetic is f32. The scalar checked is L = sum(f(x) * r) with fixed random
//! weights r, summed on the host in f64. With step h = 1e-3 the central
//! difference has truncation error O(h^2 f''') ~ 1e-6 and rounding error about
//! n_out * 6e-8 / (2h) ~ 3e-4 for the sizes below, so analytic and numeric
//! gradients must agree within atol = rtol = 5e-3 — loose enough for f32
//! rounding, tight enough that a wrong rule (a missing factor, a sign, a wrong
//! axis) fails by orders of magnitude.
//!
//! Compiled to wasm, the same checks run in the browser, on each of the
//! three builds (`cargo xtask test`), as `in_the_browser`'s tests.

use nnlab_core::{CellKind, Conv2dParams, PadMode, Pool2dParams, Result, Tensor, no_grad};
use nnlab_tests::coverage::{self, Gradients};
use nnlab_tests::{cpu_tensor, distinct, mismatch, uniform};

const H: f32 = 1e-3;
const TOL: f32 = 5e-3;

fn weighted_sum(y: &Tensor, r: &[f32]) -> f64 {
    let v = pollster::block_on(y.to_vec()).unwrap();
    v.iter().zip(r).map(|(&a, &b)| a as f64 * b as f64).sum()
}

/// Checks d/dx_i of sum(f(xs) * r) for every input marked in `diff`.
fn check_with(name: &str, inputs: Vec<(Vec<f32>, Vec<usize>, bool)>, f: impl Fn(&[Tensor]) -> Result<Tensor>) {
    let leaves: Vec<Tensor> = inputs
        .iter()
        .map(|(d, s, diff)| {
            let t = cpu_tensor(d.clone(), s);
            if *diff { t.requires_grad_() } else { t }
        })
        .collect();
    let y = f(&leaves).unwrap_or_else(|e| panic!("{name}: forward failed: {e}"));
    coverage::record(&y);
    let r = uniform(y.shape(), 99);
    let loss = y.mul(&cpu_tensor(r.clone(), y.shape())).unwrap().sum_all().unwrap();
    let grads = loss.backward().unwrap();
    let _g = no_grad();
    for (k, (data, shape, diff)) in inputs.iter().enumerate() {
        if !diff {
            continue;
        }
        let analytic = pollster::block_on(grads.get(&leaves[k]).unwrap_or_else(|| panic!("{name}: no gradient for input {k}")).to_vec()).unwrap();
        let mut numeric = Vec::with_capacity(data.len());
        for i in 0..data.len() {
            let eval = |delta: f32| {
                let mut xs = leaves.clone();
                let mut d = data.clone();
                d[i] += delta;
                xs[k] = cpu_tensor(d, shape);
                weighted_sum(&f(&xs).unwrap(), &r)
            };
            numeric.push(((eval(H) - eval(-H)) / (2.0 * H as f64)) as f32);
        }
        if let Some((i, a, n)) = mismatch(&analytic, &numeric, TOL, TOL) {
            panic!("{name}: input {k} element {i}: analytic {a} vs numeric {n}");
        }
    }
}

/// Fails if an op that tests/src/coverage.rs gives to `group` was not
/// differentiated by this test's checks.
fn covered(group: Gradients) {
    let missing = coverage::missing(|k| coverage::coverage(k).1 == group);
    assert!(missing.is_empty(), "{group:?}: no gradient check differentiates {missing:?}");
}

fn input(shape: &[usize], seed: u64) -> (Vec<f32>, Vec<usize>, bool) {
    (distinct(shape, seed), shape.to_vec(), true)
}

fn positive(shape: &[usize], seed: u64) -> (Vec<f32>, Vec<usize>, bool) {
    (uniform(shape, seed).iter().map(|v| 0.5 + v.abs() * 1.5).collect(), shape.to_vec(), true)
}

fn constant(data: Vec<f32>, shape: &[usize]) -> (Vec<f32>, Vec<usize>, bool) {
    (data, shape.to_vec(), false)
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
fn unary_ops_on_contiguous_and_transposed_inputs() {
    coverage::start();
    type F = fn(&Tensor) -> Result<Tensor>;
    let cases: [(&str, F, bool); 17] = [
        ("neg", Tensor::neg, false),
        ("exp", Tensor::exp, false),
        ("log", Tensor::log, true),
        ("sqrt", Tensor::sqrt, true),
        ("recip", Tensor::recip, true),
        ("abs", Tensor::abs, false),
        ("tanh", Tensor::tanh, false),
        ("sigmoid", Tensor::sigmoid, false),
        ("relu", Tensor::relu, false),
        ("gelu", Tensor::gelu, false),
        ("gelu_tanh", Tensor::gelu_tanh, false),
        ("sin", Tensor::sin, false),
        ("cos", Tensor::cos, false),
        ("erf", Tensor::erf, false),
        ("powf", |x| x.powf(2.5), true),
        ("mul_scalar", |x| x.mul_scalar(-1.5), false),
        ("add_scalar", |x| x.add_scalar(0.7), false),
    ];
    for (name, f, needs_positive) in cases {
        let x = if needs_positive { positive(&[3, 4], 1) } else { input(&[3, 4], 1) };
        check_with(name, vec![x.clone()], |xs| f(&xs[0]));
        check_with(&format!("{name} (transposed)"), vec![x], |xs| f(&xs[0].t()?));
    }
    check_with("powf integral on negatives", vec![input(&[7], 2)], |xs| xs[0].powf(3.0));
    covered(Gradients::Unary);
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
fn binary_ops_with_broadcasting_and_strides() {
    coverage::start();
    type F = fn(&Tensor, &Tensor) -> Result<Tensor>;
    let cases: [(&str, F); 6] =
        [("add", Tensor::add), ("sub", Tensor::sub), ("mul", Tensor::mul), ("div", Tensor::div), ("maximum", Tensor::maximum), ("minimum", Tensor::minimum)];
    for (name, f) in cases {
        let b = if name == "div" { positive(&[5, 4], 4) } else { input(&[5, 4], 4) };
        check_with(name, vec![input(&[3, 1, 4], 3), b.clone()], |xs| f(&xs[0], &xs[1]));
        check_with(&format!("{name} (strided)"), vec![input(&[4, 5], 5), b], |xs| f(&xs[0].t()?, &xs[1]));
    }
    covered(Gradients::Binary);
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
fn where_select() {
    coverage::start();
    let mask = constant(vec![1.0, 0.0, 0.0, 1.0, 1.0, 0.0], &[2, 3]);
    check_with("where", vec![mask, input(&[2, 3], 6), input(&[3], 7)], |xs| xs[0].where_(&xs[1], &xs[2]));
    covered(Gradients::Where);
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
fn reductions_over_axes() {
    coverage::start();
    for (axes, keep) in [(vec![0isize], false), (vec![1], true), (vec![0, 2], false), (vec![-1], true), (vec![0, 1, 2], false)] {
        check_with(&format!("sum {axes:?}"), vec![input(&[2, 3, 4], 8)], |xs| xs[0].sum(&axes, keep));
        check_with(&format!("mean {axes:?}"), vec![input(&[2, 3, 4], 8)], |xs| xs[0].mean(&axes, keep));
        check_with(&format!("max {axes:?}"), vec![input(&[2, 3, 4], 8)], |xs| xs[0].max(&axes, keep));
        check_with(&format!("min {axes:?}"), vec![input(&[2, 3, 4], 8)], |xs| xs[0].min(&axes, keep));
    }
    check_with("sum of a transposed view", vec![input(&[3, 5], 9)], |xs| xs[0].t()?.sum(&[1], false));
    covered(Gradients::Reductions);
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
fn matmul_batched_broadcast_and_transposed() {
    coverage::start();
    check_with("matmul", vec![input(&[3, 4], 10), input(&[4, 5], 11)], |xs| xs[0].matmul(&xs[1]));
    check_with("matmul batched", vec![input(&[2, 3, 4], 12), input(&[4, 2], 13)], |xs| xs[0].matmul(&xs[1]));
    check_with("matmul broadcast batch", vec![input(&[2, 1, 3, 4], 14), input(&[3, 4, 2], 15)], |xs| xs[0].matmul(&xs[1]));
    check_with("matmul scaled", vec![input(&[2, 3, 4], 18), input(&[2, 4, 5], 19)], |xs| xs[0].matmul_scaled(&xs[1], 0.3));
    check_with("matmul scaled by a shared transposed matrix", vec![input(&[2, 3, 4], 20), input(&[5, 4], 21)], |xs| xs[0].matmul_scaled(&xs[1].t()?, -2.0));
    check_with("matmul transposed operands", vec![input(&[4, 3], 16), input(&[5, 4], 17)], |xs| xs[0].t()?.matmul(&xs[1].t()?));
    covered(Gradients::Matmul);
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
fn matmul_with_bias() {
    coverage::start();
    check_with("matmul_bias", vec![input(&[3, 4], 27), input(&[4, 5], 28), input(&[5], 29)], |xs| xs[0].matmul_bias(&xs[1], &xs[2]));
    check_with("matmul_bias batched by a shared matrix", vec![input(&[2, 3, 4], 30), input(&[5, 4], 31), input(&[5], 32)], |xs| {
        xs[0].matmul_bias(&xs[1].t()?, &xs[2])
    });
    covered(Gradients::MatmulBias);
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
fn conv2d_stride_padding_dilation_groups() {
    coverage::start();
    let p = Conv2dParams { stride: [2, 1], padding: [1, 2], dilation: [1, 2], groups: 2 };
    check_with("conv2d", vec![input(&[2, 4, 5, 6], 18), input(&[6, 2, 3, 2], 19)], |xs| xs[0].conv2d(&xs[1], p));
    check_with("conv2d plain", vec![input(&[1, 2, 4, 4], 20), input(&[3, 2, 3, 3], 21)], |xs| xs[0].conv2d(&xs[1], Conv2dParams::default()));
    check_with("conv2d with bias", vec![input(&[2, 4, 5, 6], 24), input(&[6, 2, 3, 2], 25), input(&[6], 26)], |xs| xs[0].conv2d_bias(&xs[1], Some(&xs[2]), p));
    let depthwise = Conv2dParams { groups: 3, padding: [1, 1], ..Default::default() };
    check_with("conv2d depthwise", vec![input(&[1, 3, 4, 4], 22), input(&[3, 1, 3, 3], 23)], |xs| xs[0].conv2d(&xs[1], depthwise));
    covered(Gradients::Convolution);
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
fn pooling() {
    coverage::start();
    let p = Pool2dParams::new([2, 3], [2, 2], [1, 1]);
    check_with("max_pool2d", vec![input(&[2, 2, 5, 6], 24)], |xs| xs[0].max_pool2d(p));
    check_with("avg_pool2d", vec![input(&[2, 2, 5, 6], 25)], |xs| xs[0].avg_pool2d(p));
    let ceil = Pool2dParams { ceil_mode: true, count_include_pad: false, ..p };
    check_with("avg_pool2d ceil mode, padding not counted", vec![input(&[2, 2, 5, 6], 25)], |xs| xs[0].avg_pool2d(ceil));
    let dilated = Pool2dParams { dilation: [2, 1], ceil_mode: true, ..p };
    check_with("max_pool2d dilated, ceil mode", vec![input(&[2, 2, 7, 6], 24)], |xs| xs[0].max_pool2d(dilated));
    covered(Gradients::Pooling);
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
fn gather_scatter_concat_slice_pad_cumsum_lstm_recurrence() {
    coverage::start();
    let idx = constant(vec![2.0, 0.0, 2.0, 1.0], &[4]);
    check_with("index_select", vec![input(&[3, 5], 26), idx.clone()], |xs| xs[0].index_select(0, &xs[1]));
    check_with("index_select axis 1", vec![input(&[2, 3, 2], 27), idx.clone()], |xs| xs[0].index_select(1, &xs[1]));
    check_with("scatter_add", vec![input(&[3, 2], 28), idx, input(&[4, 2], 29)], |xs| xs[0].scatter_add(0, &xs[1], &xs[2]));
    check_with("concat", vec![input(&[2, 3], 30), input(&[2, 1], 31), input(&[2, 2], 32)], |xs| Tensor::concat(xs, 1));
    check_with("narrow", vec![input(&[4, 5], 33)], |xs| xs[0].narrow(1, 1, 3));
    // Slices that tile an axis (their gradients meet in one concat), that
    // overlap, and that leave gaps, each also reaching x another way.
    let parts = |xs: &[Tensor], cuts: &[(usize, usize)]| -> Result<Tensor> {
        let x = &xs[0];
        let mut y = x.mul_scalar(0.5)?.sum(&[1], true)?;
        for (i, &(start, len)) in cuts.iter().enumerate() {
            let p = x.narrow(1, start, len)?.mul_scalar(i as f32 + 1.0)?.sum(&[1], true)?;
            y = y.add(&p)?;
        }
        Ok(y)
    };
    check_with("slices tiling an axis", vec![input(&[3, 6], 39)], |xs| parts(xs, &[(2, 3), (0, 2), (5, 1)]));
    check_with("overlapping slices", vec![input(&[3, 6], 40)], |xs| parts(xs, &[(0, 4), (2, 4)]));
    check_with("slices with a gap", vec![input(&[3, 6], 41)], |xs| parts(xs, &[(0, 2), (3, 2)]));
    check_with("reshape", vec![input(&[4, 3], 34)], |xs| xs[0].t()?.reshape(&[2, 6]));
    check_with("permute", vec![input(&[2, 3, 4], 35)], |xs| xs[0].permute(&[2, 0, 1]));
    check_with("broadcast_to", vec![input(&[3, 1], 36)], |xs| xs[0].broadcast_to(&[2, 3, 4]));
    check_with("pad", vec![input(&[2, 3], 37)], |xs| xs[0].pad(&[(1, 0), (2, 1)]));
    for mode in [PadMode::Constant(0.5), PadMode::Reflect, PadMode::Replicate, PadMode::Circular] {
        check_with(&format!("pad {mode:?}"), vec![input(&[3, 4], 37)], |xs| xs[0].pad_mode(&[(2, 1), (1, 3)], mode));
    }
    check_with("cumsum", vec![input(&[3, 4], 38)], |xs| xs[0].cumsum(1));
    check_with("lstm cell", vec![input(&[3, 8], 42), input(&[3, 2], 43)], |xs| Tensor::lstm_cell(&xs[0], &xs[1]));
    check_with("lstm cell of strided gates", vec![input(&[8, 3], 44), input(&[3, 2], 45)], |xs| Tensor::lstm_cell(&xs[0].t()?, &xs[1]));
    let kinds = [CellKind::RnnTanh, CellKind::RnnRelu, CellKind::Gru, CellKind::Lstm];
    for (i, kind) in kinds.into_iter().enumerate() {
        let (g, s) = (kind.gates() * 2, kind.states());
        let inputs = vec![input(&[3, 2, g], 50 + i as u64), input(&[g, 2], 60 + i as u64), input(&[g], 70 + i as u64), input(&[s, 2, 2], 80 + i as u64)];
        let reverse = i % 2 == 0;
        check_with(&format!("{kind:?} recurrence"), inputs, move |xs| Tensor::recurrence(kind, &xs[0], &xs[1], Some(&xs[2]), &xs[3], reverse));
    }
    check_with("attention scan", vec![input(&[2, 4], 90), input(&[2, 4, 3], 91)], |xs| Tensor::attention_scan(&xs[0].mul_scalar(3.0)?, &xs[1]));
    check_with("state-space scan", vec![input(&[2, 3], 92), input(&[2, 3], 93), input(&[2, 3], 94), input(&[2, 3], 95), input(&[2, 4, 2], 96)], |xs| {
        Tensor::ssm_scan([&xs[0].mul_scalar(0.5)?, &xs[1].mul_scalar(0.5)?], [&xs[2], &xs[3]], &xs[4])
    });
    check_with("cumsum axis 0 strided", vec![input(&[3, 4], 39)], |xs| xs[0].t()?.cumsum(0));
    check_with("contiguous", vec![input(&[3, 4], 40)], |xs| xs[0].t()?.contiguous());
    covered(Gradients::Indexing);
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
fn stable_composites() {
    coverage::start();
    check_with("softmax", vec![input(&[3, 5], 41)], |xs| xs[0].softmax(-1));
    check_with("log_softmax", vec![input(&[3, 5], 42)], |xs| xs[0].log_softmax(1));
    check_with("softmax over a middle axis", vec![input(&[2, 3, 4], 45)], |xs| xs[0].softmax(1));
    check_with("layer_norm", vec![input(&[2, 3, 6], 46)], |xs| xs[0].layer_norm(1e-5));
    check_with("layer_norm of a transposed input", vec![input(&[6, 4], 47)], |xs| xs[0].t()?.layer_norm(1e-3));
    check_with("layer_norm_affine", vec![input(&[2, 3, 6], 48), input(&[6], 49), input(&[6], 50)], |xs| xs[0].layer_norm_affine(&xs[1], &xs[2], 1e-5));
    check_with("logsumexp", vec![input(&[3, 5], 43)], |xs| xs[0].logsumexp(0, false));
    let labels = constant(vec![1.0, 0.0, 4.0], &[3]);
    check_with("cross_entropy", vec![input(&[3, 5], 44), labels.clone()], |xs| xs[0].cross_entropy(&xs[1]));
    check_with("cross_entropy of transposed logits", vec![input(&[5, 3], 46), labels], |xs| xs[0].t()?.cross_entropy_rows(&xs[1]));
    covered(Gradients::Normalisations);
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
fn composites_stay_finite_for_large_logits() {
    let x = cpu_tensor(vec![1000.0, 0.0, -1000.0], &[1, 3]);
    let v = pollster::block_on(x.log_softmax(-1).unwrap().to_vec()).unwrap();
    assert!(v.iter().all(|x| x.is_finite()), "{v:?}");
    assert!((v[0]).abs() < 1e-6 && (v[1] + 1000.0).abs() < 1e-3);
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
fn gradients_accumulate_and_detach_stops_them() {
    let x = cpu_tensor(vec![2.0], &[1]).requires_grad_();
    let y = x.mul(&x).unwrap().add(&x.mul_scalar(3.0).unwrap()).unwrap(); // x^2 + 3x
    let g = y.backward().unwrap();
    assert_eq!(pollster::block_on(g.get(&x).unwrap().to_vec()).unwrap(), vec![7.0]);
    let z = x.detach().mul(&x).unwrap();
    let g = z.backward().unwrap();
    assert_eq!(pollster::block_on(g.get(&x).unwrap().to_vec()).unwrap(), vec![2.0]);
    let _guard = no_grad();
    assert!(!x.mul(&x).unwrap().requires_grad());
}

/// x @ W^T (a linear layer) leaves W's gradient contiguous, so the optimizer
/// reads it without a copy.
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn a_transposed_weight_gets_a_contiguous_gradient() {
    for x_shape in [&[3, 4][..], &[2, 3, 4]] {
        let x = cpu_tensor(distinct(x_shape, 50), x_shape);
        let w = cpu_tensor(distinct(&[5, 4], 51), &[5, 4]).requires_grad_();
        let grads = x.matmul(&w.t().unwrap()).unwrap().sum_all().unwrap().backward().unwrap();
        let g = grads.get(&w).expect("a gradient for w");
        assert_eq!(g.shape(), &[5, 4]);
        assert!(g.layout().is_contiguous(), "x {x_shape:?}: gradient strides {:?}", g.layout().strides);
    }
}

#[cfg(target_arch = "wasm32")]
mod in_the_browser {
    #[cfg(not(feature = "threads"))]
    wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
    #[cfg(feature = "threads")]
    wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

    macro_rules! in_the_browser {
        ($($check:ident),* $(,)?) => {$(
            #[wasm_bindgen_test::wasm_bindgen_test]
            async fn $check() {
                nnlab_tests::threads::pool().await;
                super::$check();
            }
        )*};
    }

    in_the_browser!(
        unary_ops_on_contiguous_and_transposed_inputs,
        binary_ops_with_broadcasting_and_strides,
        where_select,
        reductions_over_axes,
        matmul_batched_broadcast_and_transposed,
        matmul_with_bias,
        conv2d_stride_padding_dilation_groups,
        pooling,
        gather_scatter_concat_slice_pad_cumsum_lstm_recurrence,
        stable_composites,
        composites_stay_finite_for_large_logits,
        gradients_accumulate_and_detach_stops_them,
        a_transposed_weight_gets_a_contiguous_gradient,
    );
}
