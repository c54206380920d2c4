//! CPU-vs-GPU parity for every GPU kernel, on odd shapes (1, 7, 33, 257) and
//! non-contiguous views. Tolerances: exact-rounding arithmetic (add, mul, max,
//! comparisons, copies) within 1e-6 absolute; division and transcendental
//! functions within 1e-4 relative + 1e-5 absolute (WGSL allows a few ULP of
//! error and our GPU erf is a 1.5e-7 polynomial); sums and matmuls, which
//! reassociate up to 257 terms, within 1e-4 relative + 1e-4 absolute; sin and
//! cos within the WGSL spec's absolute bound of 2^-11 (SwiftShader uses it).
//! Philox words are bit-identical on both backends, so uniform and Bernoulli
//! draws match exactly; normal draws inherit cos's bound times the radius
//! sqrt(-2 ln u) <= 5.6, hence 3e-3 absolute.

use nnlab_core::{AdamParams, Conv2dParams, Device, GpuContext, Pool2dParams, Result, SgdParams, Tensor};

use crate::coverage::{self, Family, OpKind};
use crate::{distinct, mismatch, uniform};

const EXACT: (f32, f32) = (1e-6, 1e-6);
const TRANSCENDENTAL: (f32, f32) = (1e-5, 1e-4);
const ACCUMULATE: (f32, f32) = (1e-4, 1e-4);
/// Sums of thousands of terms, added in another order on the GPU.
const LONG_SUM: (f32, f32) = (1e-3, 1e-4);
const SINCOS: (f32, f32) = (4.9e-4, 1e-4);
const NORMAL_DRAW: (f32, f32) = (3e-3, 1e-4);

#[derive(Default)]
pub struct Report {
    pub passed: Vec<String>,
    pub failed: Vec<String>,
    /// Ops that `coverage` gives to this family and none of its cases ran.
    pub missing: Vec<OpKind>,
}

struct Suite {
    gpu: Device,
    report: Report,
}

type Case<'a> = &'a dyn Fn(&[Tensor]) -> Result<Tensor>;

impl Suite {
    /// Runs `f` on CPU and GPU copies of `inputs` and compares the results.
    async fn check(&mut self, name: &str, inputs: &[(Vec<f32>, Vec<usize>)], tol: (f32, f32), f: Case<'_>) {
        let outcome = self.compare(inputs, tol, f).await;
        match outcome {
            Ok(None) => self.report.passed.push(name.to_string()),
            Ok(Some(why)) | Err(why) => self.report.failed.push(format!("{name}: {why}")),
        }
    }

    async fn compare(&self, inputs: &[(Vec<f32>, Vec<usize>)], tol: (f32, f32), f: Case<'_>) -> std::result::Result<Option<String>, String> {
        let on = |device: &Device| inputs.iter().map(|(d, s)| Tensor::from_vec(d.clone(), s, device)).collect::<Result<Vec<_>>>();
        // Ops are recorded only where an input needs a gradient: a third run,
        // on the CPU with every input marked, says which ops the case ran.
        let marked = on(&Device::Cpu).map_err(|e| e.to_string())?.into_iter().map(Tensor::requires_grad_).collect::<Vec<_>>();
        if let Ok(y) = f(&marked) {
            coverage::record(&y);
        }
        let cpu = f(&on(&Device::Cpu).map_err(|e| e.to_string())?).map_err(|e| format!("cpu: {e}"))?;
        let gpu = f(&on(&self.gpu).map_err(|e| e.to_string())?).map_err(|e| format!("gpu: {e}"))?;
        if cpu.shape() != gpu.shape() {
            return Ok(Some(format!("shape {:?} vs {:?}", gpu.shape(), cpu.shape())));
        }
        let (c, g) = (cpu.to_vec().await.map_err(|e| e.to_string())?, gpu.to_vec().await.map_err(|e| e.to_string())?);
        Ok(mismatch(&g, &c, tol.0, tol.1).map(|(i, a, b)| format!("element {i}: gpu {a} vs cpu {b}")))
    }
}

fn data(shape: &[usize], seed: u64) -> (Vec<f32>, Vec<usize>) {
    (uniform(shape, seed).iter().map(|v| v * 3.0).collect(), shape.to_vec())
}

fn positive(shape: &[usize], seed: u64) -> (Vec<f32>, Vec<usize>) {
    (uniform(shape, seed).iter().map(|v| 0.1 + v.abs() * 4.0).collect(), shape.to_vec())
}

const SHAPES: [&[usize]; 5] = [&[1], &[7], &[33], &[257], &[7, 33]];

/// Every case of one family, each failure reported.
pub async fn run_family(ctx: &GpuContext, family: Family) -> Report {
    let mut s = Suite { gpu: Device::Gpu(ctx.clone()), report: Report::default() };
    coverage::start();
    match family {
        Family::Unary => unary(&mut s).await,
        Family::Binary => binary(&mut s).await,
        Family::Reductions => reductions(&mut s).await,
        Family::Matmul => matmul(&mut s).await,
        Family::Random => random(&mut s).await,
        Family::Optimizers => optimizers(&mut s).await,
        Family::Spatial => spatial(&mut s).await,
        Family::Movement => movement(&mut s).await,
    }
    s.report.missing = coverage::missing(|k| coverage::coverage(k).0 == family);
    s.report
}

impl Report {
    /// Panics with every failing case and every op the family should have run and did not.
    pub fn assert_clean(&self, family: Family, on: &str) {
        let mut problems = self.failed.clone();
        problems.extend(self.missing.iter().map(|k| format!("{k:?}: no case of this family runs it (tests/src/coverage.rs gives it here)")));
        assert!(
            problems.is_empty(),
            "{family:?} parity on {on}: {} of {} cases failed, {} ops not run:\n{}",
            self.failed.len(),
            self.passed.len() + self.failed.len(),
            self.missing.len(),
            problems.join("\n")
        );
        assert!(!self.passed.is_empty(), "{family:?}: no cases ran");
    }
}

async fn unary(s: &mut Suite) {
    type F = fn(&Tensor) -> Result<Tensor>;
    let ops: [(&str, F, bool, (f32, f32)); 17] = [
        ("neg", Tensor::neg, false, EXACT),
        ("exp", Tensor::exp, false, TRANSCENDENTAL),
        ("log", Tensor::log, true, TRANSCENDENTAL),
        ("sqrt", Tensor::sqrt, true, TRANSCENDENTAL),
        ("recip", Tensor::recip, true, TRANSCENDENTAL),
        ("abs", Tensor::abs, false, EXACT),
        ("tanh", Tensor::tanh, false, TRANSCENDENTAL),
        ("sigmoid", Tensor::sigmoid, false, TRANSCENDENTAL),
        ("relu", Tensor::relu, false, EXACT),
        ("gelu", Tensor::gelu, false, TRANSCENDENTAL),
        ("gelu_tanh", Tensor::gelu_tanh, false, TRANSCENDENTAL),
        ("sin", Tensor::sin, false, SINCOS),
        ("cos", Tensor::cos, false, SINCOS),
        ("erf", Tensor::erf, false, TRANSCENDENTAL),
        ("powf", |x| x.powf(1.7), true, TRANSCENDENTAL),
        ("mul_scalar", |x| x.mul_scalar(-2.5), false, EXACT),
        ("add_scalar", |x| x.add_scalar(0.25), false, EXACT),
    ];
    for (name, f, pos, tol) in ops {
        for shape in SHAPES {
            let x = if pos { positive(shape, 1) } else { data(shape, 1) };
            s.check(&format!("{name} {shape:?}"), &[x], tol, &|t| f(&t[0])).await;
        }
        let x = if pos { positive(&[33, 7], 2) } else { data(&[33, 7], 2) };
        s.check(&format!("{name} transposed"), std::slice::from_ref(&x), tol, &|t| f(&t[0].t()?)).await;
        s.check(&format!("{name} backward of a transposed input"), &[x], tol, &|t| grad_of(t, 0, |t| f(&t[0].t()?))).await;
    }
    s.check("powf integral exponent on negatives", &[data(&[33], 3)], TRANSCENDENTAL, &|t| t[0].powf(3.0)).await;
    s.check("contiguous copy of a permuted view", &[data(&[3, 7, 5], 4)], EXACT, &|t| t[0].permute(&[2, 0, 1])?.contiguous()).await;
    s.check("gradient of slices tiling an axis (one concat)", &[data(&[3, 4, 9], 6)], ACCUMULATE, &|t| {
        grad_of(t, 0, |t| {
            let x = t[0].reshape(&[3, 4, 3, 3])?;
            let q = x.narrow(2, 0, 1)?.reshape(&[3, 4, 3])?.permute(&[0, 2, 1])?;
            let k = x.narrow(2, 1, 1)?.reshape(&[3, 4, 3])?;
            let v = x.narrow(2, 2, 1)?.reshape(&[3, 4, 3])?.permute(&[0, 2, 1])?.mul_scalar(2.0)?;
            q.matmul(&k)?.matmul(&v)
        })
    })
    .await;
    s.check("heads split out of a column block, a view", &[data(&[2, 3, 12], 5)], EXACT, &|t| {
        t[0].narrow(2, 4, 4)?.reshape(&[2, 3, 2, 2])?.permute(&[0, 2, 1, 3])?.contiguous()
    })
    .await;
    s.check("tanh saturates without NaN", &[(vec![-100.0, -20.0, 20.0, 100.0], vec![4])], TRANSCENDENTAL, &|t| t[0].tanh()).await;
}

async fn binary(s: &mut Suite) {
    type F = fn(&Tensor, &Tensor) -> Result<Tensor>;
    let ops: [(&str, F, (f32, f32)); 12] = [
        ("add", Tensor::add, EXACT),
        ("sub", Tensor::sub, EXACT),
        ("mul", Tensor::mul, EXACT),
        ("div", Tensor::div, TRANSCENDENTAL),
        ("maximum", Tensor::maximum, EXACT),
        ("minimum", Tensor::minimum, EXACT),
        ("eq", Tensor::eq, EXACT),
        ("ne", Tensor::ne, EXACT),
        ("lt", Tensor::lt, EXACT),
        ("le", Tensor::le, EXACT),
        ("gt", Tensor::gt, EXACT),
        ("ge", Tensor::ge, EXACT),
    ];
    let pairs: [(&[usize], &[usize]); 4] = [(&[257], &[257]), (&[7, 33], &[33]), (&[33, 1], &[1, 7]), (&[1], &[7, 1, 5])];
    for (name, f, tol) in ops {
        for (a, b) in pairs {
            // Rounded values make equalities actually occur for the comparisons.
            let round = |(d, sh): (Vec<f32>, Vec<usize>)| (d.iter().map(|v| v.round()).collect(), sh);
            s.check(&format!("{name} {a:?} {b:?}"), &[round(data(a, 5)), round(data(b, 6))], tol, &|t| f(&t[0], &t[1])).await;
        }
        s.check(&format!("{name} strided"), &[data(&[33, 7], 7), data(&[7, 33], 8)], tol, &|t| f(&t[0].t()?, &t[1])).await;
    }
    let mask = (uniform(&[7, 33], 9).iter().map(|v| (*v > 0.0) as u8 as f32).collect(), vec![7, 33]);
    s.check("where", &[mask, data(&[7, 33], 10), data(&[33], 11)], EXACT, &|t| t[0].where_(&t[1], &t[2])).await;
}

async fn reductions(s: &mut Suite) {
    let axes_list: [&[isize]; 5] = [&[0], &[1], &[2], &[0, 2], &[0, 1, 2]];
    for axes in axes_list {
        s.check(&format!("sum {axes:?}"), &[data(&[7, 33, 5], 12)], ACCUMULATE, &|t| t[0].sum(axes, false)).await;
        s.check(&format!("mean {axes:?}"), &[data(&[7, 33, 5], 12)], ACCUMULATE, &|t| t[0].mean(axes, true)).await;
        s.check(&format!("max {axes:?}"), &[data(&[7, 33, 5], 12)], EXACT, &|t| t[0].max(axes, false)).await;
        s.check(&format!("min {axes:?}"), &[data(&[7, 33, 5], 12)], EXACT, &|t| t[0].min(axes, false)).await;
    }
    for axis in [0isize, 1, -1] {
        let x = (distinct(&[7, 33, 5], 13), vec![7, 33, 5]);
        s.check(&format!("argmax {axis}"), &[x], EXACT, &|t| t[0].argmax(axis, false)).await;
    }
    // Long runs into few outputs go through partials; ties test argmax's first-index rule.
    let long = data(&[3, 1100, 9], 76);
    let ties = ((0..3 * 1100 * 9).map(|i| ((i * 7919) % 13) as f32).collect::<Vec<f32>>(), vec![3, 1100, 9]);
    for axes in [&[1isize][..], &[0, 1]] {
        s.check(&format!("long sum {axes:?}"), std::slice::from_ref(&long), ACCUMULATE, &|t| t[0].sum(axes, false)).await;
        s.check(&format!("long max {axes:?}"), std::slice::from_ref(&long), EXACT, &|t| t[0].max(axes, false)).await;
        s.check(&format!("long min {axes:?}"), std::slice::from_ref(&long), EXACT, &|t| t[0].min(axes, false)).await;
    }
    s.check("argmax of long runs with ties", std::slice::from_ref(&ties), EXACT, &|t| t[0].argmax(1, false)).await;
    s.check("mean of long strided runs", std::slice::from_ref(&long), ACCUMULATE, &|t| t[0].transpose(0, 2)?.mean(&[1], false)).await;
    s.check("sum of a transposed view", &[data(&[257, 7], 14)], ACCUMULATE, &|t| t[0].t()?.sum(&[1], false)).await;
    s.check("sum of 257", &[data(&[257], 15)], ACCUMULATE, &|t| t[0].sum_all()).await;
    // Over 256 outputs take workgroups of 64 rather than 4 (a ragged last one).
    s.check("sum into 300 outputs", &[data(&[300, 9], 98)], ACCUMULATE, &|t| t[0].sum(&[1], false)).await;
    s.check("max into 300 outputs", &[data(&[300, 9], 98)], EXACT, &|t| t[0].max(&[1], false)).await;
}

async fn matmul(s: &mut Suite) {
    let cases: [(&[usize], &[usize]); 5] =
        [(&[1, 1], &[1, 1]), (&[7, 33], &[33, 5]), (&[33, 257], &[257, 7]), (&[3, 7, 33], &[33, 1]), (&[2, 1, 7, 5], &[3, 5, 33])];
    for (a, b) in cases {
        s.check(&format!("matmul {a:?} @ {b:?}"), &[data(a, 16), data(b, 17)], ACCUMULATE, &|t| t[0].matmul(&t[1])).await;
    }
    s.check("matmul transposed operands", &[data(&[33, 7], 18), data(&[5, 33], 19)], ACCUMULATE, &|t| t[0].t()?.matmul(&t[1].t()?)).await;
    // Larger matrices with ragged edges.
    s.check("matmul 130x257 @ 257x129", &[data(&[130, 257], 60), data(&[257, 129], 61)], ACCUMULATE, &|t| t[0].matmul(&t[1])).await;
    s.check("matmul batched and transposed, 65x70 @ 70x200", &[data(&[2, 70, 65], 62), data(&[2, 200, 70], 63)], ACCUMULATE, &|t| t[0].t()?.matmul(&t[1].t()?))
        .await;
    s.check("matmul tiled, batched and transposed, 140x257 @ 257x260", &[data(&[2, 257, 140], 66), data(&[2, 260, 257], 67)], ACCUMULATE, &|t| {
        t[0].t()?.matmul(&t[1].t()?)
    })
    .await;
    // Several tile rows and columns, the last of each ragged, and a K that ends mid-slice.
    s.check("matmul tiled, many tiles, 531x270 @ 270x400", &[data(&[531, 270], 68), data(&[270, 400], 69)], ACCUMULATE, &|t| t[0].matmul(&t[1])).await;
    // A's rows read as vec4s (K a multiple of 4 that ends mid-slice).
    s.check("matmul tiled, A as vec4s, 200x260 @ 260x150", &[data(&[200, 260], 91), data(&[260, 150], 92)], ACCUMULATE, &|t| t[0].matmul(&t[1])).await;
    // Enough tiles for 128-row ones (what a large GPU gets).
    s.check("matmul tiled, 128-row tiles, 64 x 129x260 @ 260x130", &[data(&[64, 129, 260], 93), data(&[64, 260, 130], 94)], ACCUMULATE, &|t| {
        t[0].matmul(&t[1])
    })
    .await;
    // Attention's [batch, heads] over [batch, time, heads, width] buffers: two batch strides, read in place.
    let heads = [data(&[2, 5, 3, 4], 83), data(&[2, 7, 3, 4], 84)];
    s.check("matmul over two batch strides", &heads, ACCUMULATE, &|t| t[0].permute(&[0, 2, 1, 3])?.matmul(&t[1].permute(&[0, 2, 3, 1])?)).await;
    s.check("matmul over two batch strides, its gradient", &heads, ACCUMULATE, &|t| {
        grad_of(t, 0, |t| t[0].permute(&[0, 2, 1, 3])?.matmul(&t[1].permute(&[0, 2, 3, 1])?))
    })
    .await;
    s.check("matmul scaled (attention scores), its gradient", &heads, ACCUMULATE, &|t| {
        grad_of(t, 1, |t| t[0].permute(&[0, 2, 1, 3])?.matmul_scaled(&t[1].permute(&[0, 2, 3, 1])?, 0.25))
    })
    .await;
    s.check("matmul scaled, tiled", &[data(&[130, 256], 89), data(&[256, 129], 90)], ACCUMULATE, &|t| t[0].matmul_scaled(&t[1], -1.5)).await;
    s.check("matmul over two batch strides by a matrix per head", &[data(&[2, 5, 3, 4], 85), data(&[3, 4, 6], 86)], ACCUMULATE, &|t| {
        t[0].permute(&[0, 2, 1, 3])?.matmul(&t[1])
    })
    .await;
    s.check("matmul tiled over two batch strides", &[data(&[2, 130, 3, 256], 87), data(&[2, 140, 3, 256], 88)], ACCUMULATE, &|t| {
        t[0].permute(&[0, 2, 1, 3])?.matmul(&t[1].permute(&[0, 2, 3, 1])?)
    })
    .await;
    // A weight shared by a batch: folded into one product, forward and backward.
    let shared = [data(&[4, 40, 33], 70), data(&[33, 130], 71)];
    s.check("matmul of a batch by a shared matrix", &shared, ACCUMULATE, &|t| t[0].matmul(&t[1])).await;
    s.check("matmul of a batch by a shared matrix, its gradient", &shared, ACCUMULATE, &|t| grad_of(t, 1, |t| t[0].matmul(&t[1]))).await;
    s.check("matmul in 8x8 blocks, batched, ragged, transposed", &[data(&[9, 37, 19], 74), data(&[9, 45, 19], 75)], ACCUMULATE, &|t| {
        t[0].matmul(&t[1].transpose(1, 2)?)
    })
    .await;
    for (name, a, b) in [("small", [5, 33, 7], [7, 9]), ("8x8 blocks", [9, 37, 19], [19, 45]), ("tiled", [1, 130, 260], [260, 140])] {
        let inputs = [data(&a, 77), data(&b, 78), data(&[b[1]], 79)];
        s.check(&format!("matmul with bias, {name}"), &inputs, ACCUMULATE, &|t| t[0].matmul_bias(&t[1], &t[2])).await;
        s.check(&format!("matmul with bias, {name}, bias grad"), &inputs, ACCUMULATE, &|t| grad_of(t, 2, |t| t[0].matmul_bias(&t[1], &t[2]))).await;
    }
    s.check("matmul with a narrowed bias", &[data(&[6, 5], 80), data(&[5, 4], 81), data(&[12], 82)], ACCUMULATE, &|t| {
        t[0].matmul_bias(&t[1], &t[2].narrow(0, 4, 4)?)
    })
    .await;
    s.check("matmul 64x17 @ 17x64", &[data(&[64, 17], 64), data(&[17, 64], 65)], ACCUMULATE, &|t| t[0].matmul(&t[1])).await;
    s.check("matmul k = 0", &[(vec![], vec![3, 0]), (vec![], vec![0, 2])], EXACT, &|t| t[0].matmul(&t[1])).await;
}

async fn random(s: &mut Suite) {
    let draw = |kind: u8| {
        move |t: &[Tensor]| {
            let d = t[0].device();
            match kind {
                0 => Tensor::rand_uniform(&[257], -2.0, 3.0, 0x1234_5678_9abc, 7, &d),
                1 => Tensor::randn(&[257], 0.0, 1.0, 42, 3, &d),
                _ => Tensor::bernoulli(&[257], 0.3, 9, 1, &d),
            }
        }
    };
    let one = [(vec![0.0], vec![1])];
    s.check("philox uniform", &one, EXACT, &draw(0)).await;
    s.check("philox normal", &one, NORMAL_DRAW, &draw(1)).await;
    s.check("philox bernoulli", &one, (0.0, 0.0), &draw(2)).await;
}

async fn optimizers(s: &mut Suite) {
    let inputs = [data(&[257], 20), data(&[257], 21), data(&[257], 22), positive(&[257], 23)];
    let adam = AdamParams::new(0.9, 0.999, 1e-7, 0.01);
    for part in 0..3 {
        s.check(&format!("adam output {part}"), &inputs, TRANSCENDENTAL, &|t| {
            // [lr, 1 - beta1^t, 1 - beta2^t, gradient scale] at t = 1
            let step = Tensor::from_vec(vec![0.01, 0.1, 0.001, 0.5], &[4], &t[0].device())?;
            let (p, m, v) = Tensor::adam_update(&t[0], &t[1], &t[2], &t[3], adam, &step)?;
            Ok([p, m, v][part].clone())
        })
        .await;
    }
    let sgd = SgdParams { n: 0, lr: 0.1, momentum: 0.9, weight_decay: 0.001 };
    for part in 0..2 {
        s.check(&format!("sgd output {part}"), &inputs[..3], EXACT, &|t| {
            let (p, b) = Tensor::sgd_update(&t[0], &t[1], &t[2], sgd)?;
            Ok([p, b][part].clone())
        })
        .await;
    }
    // The backward pass of an MLP-shaped graph, end to end.
    let labels = (vec![0.0, 2.0, 1.0, 2.0, 0.0, 1.0, 1.0], vec![7]);
    let mlp_inputs = [data(&[7, 5], 24), data(&[33, 5], 25), data(&[3, 33], 26), labels];
    for which in 0..2 {
        s.check(&format!("mlp gradient of layer {which}"), &mlp_inputs, ACCUMULATE, &|t| {
            let w = [t[1].mul_scalar(0.3)?.requires_grad_(), t[2].mul_scalar(0.3)?.requires_grad_()];
            let h = t[0].matmul(&w[0].t()?)?.tanh()?;
            let loss = h.matmul(&w[1].t()?)?.cross_entropy(&t[3])?;
            let g = loss.backward()?;
            Ok(g.get(&w[which]).expect("gradient").clone())
        })
        .await;
    }
}

/// Gradient of sum(f(inputs) * weights) with respect to input `which`.
fn grad_of(t: &[Tensor], which: usize, f: impl Fn(&[Tensor]) -> Result<Tensor>) -> Result<Tensor> {
    let leaves: Vec<Tensor> = t.iter().enumerate().map(|(i, x)| if i == which { x.detach().requires_grad_() } else { x.detach() }).collect();
    let y = f(&leaves)?;
    coverage::record(&y);
    let r = Tensor::rand_uniform(y.shape(), -1.0, 1.0, 5, 5, &y.device())?;
    let g = y.mul(&r)?.sum_all()?.backward()?;
    Ok(g.get(&leaves[which]).expect("gradient").clone())
}

async fn spatial(s: &mut Suite) {
    let convs: [(&str, [usize; 4], [usize; 4], Conv2dParams); 6] = [
        ("plain", [2, 3, 7, 9], [5, 3, 3, 3], Conv2dParams::default()),
        ("strided dilated grouped", [2, 4, 9, 8], [6, 2, 3, 2], Conv2dParams { stride: [2, 1], padding: [1, 2], dilation: [1, 2], groups: 2 }),
        ("depthwise", [1, 5, 33, 7], [5, 1, 3, 3], Conv2dParams { padding: [1, 1], groups: 5, ..Default::default() }),
        // Two blocks of 16 output columns, the second ragged.
        ("depthwise strided dilated", [2, 3, 5, 40], [3, 1, 2, 5], Conv2dParams { stride: [1, 2], padding: [1, 3], dilation: [2, 1], groups: 3 }),
        // 4 output channels per group: the forward pass computes them together.
        ("grouped in blocks of 4 channels", [2, 4, 9, 7], [8, 2, 3, 3], Conv2dParams { stride: [2, 1], padding: [1, 1], dilation: [2, 1], groups: 2 }),
        // Ragged channel and tap blocks, a width stride that skips input columns.
        ("ragged blocks wide stride", [2, 6, 8, 11], [7, 6, 2, 3], Conv2dParams { stride: [1, 3], padding: [0, 1], dilation: [1, 1], groups: 1 }),
    ];
    for (name, xs, ws, p) in convs {
        let inputs = [data(&xs, 30), data(&ws, 31)];
        s.check(&format!("conv2d {name}"), &inputs, ACCUMULATE, &|t| t[0].conv2d(&t[1], p)).await;
        s.check(&format!("conv2d input grad {name}"), &inputs, ACCUMULATE, &|t| grad_of(t, 0, |t| t[0].conv2d(&t[1], p))).await;
        s.check(&format!("conv2d weight grad {name}"), &inputs, ACCUMULATE, &|t| grad_of(t, 1, |t| t[0].conv2d(&t[1], p))).await;
        let with_bias = [data(&xs, 30), data(&ws, 31), data(&[ws[0]], 35)];
        s.check(&format!("conv2d with bias {name}"), &with_bias, ACCUMULATE, &|t| t[0].conv2d_bias(&t[1], Some(&t[2]), p)).await;
        s.check(&format!("conv2d bias grad {name}"), &with_bias, ACCUMULATE, &|t| grad_of(t, 2, |t| t[0].conv2d_bias(&t[1], Some(&t[2]), p))).await;
    }
    let logits = data(&[37, 11], 72);
    let labels = (((0..37).map(|i| ((i * 7) % 11) as f32).collect::<Vec<f32>>()), vec![37]);
    let ce = [logits, labels];
    s.check("cross entropy rows", &ce, TRANSCENDENTAL, &|t| t[0].cross_entropy_rows(&t[1])).await;
    s.check("cross entropy rows of transposed logits", &ce, TRANSCENDENTAL, &|t| t[0].t()?.contiguous()?.t()?.cross_entropy_rows(&t[1])).await;
    s.check("cross entropy gradient", &ce, TRANSCENDENTAL, &|t| grad_of(t, 0, |t| t[0].cross_entropy(&t[1]))).await;
    let rows = [data(&[3, 5, 33], 73)];
    type RowFn = fn(&Tensor) -> Result<Tensor>;
    let row_ops: [(&str, RowFn); 3] = [("softmax", |x| x.softmax(-1)), ("log_softmax", |x| x.log_softmax(-1)), ("layer_norm", |x| x.layer_norm(1e-5))];
    for (name, f) in row_ops {
        s.check(&format!("{name} rows"), &rows, TRANSCENDENTAL, &|t| f(&t[0])).await;
        s.check(&format!("{name} rows of a permuted input"), &rows, TRANSCENDENTAL, &|t| f(&t[0].permute(&[2, 0, 1])?)).await;
        s.check(&format!("{name} rows backward"), &rows, TRANSCENDENTAL, &|t| grad_of(t, 0, |t| f(&t[0].permute(&[0, 2, 1])?))).await;
    }
    // Layer norm with its affine part in the kernel, a narrowed weight; each input's gradient.
    let ln = [data(&[3, 5, 33], 74), data(&[40], 75), data(&[33], 76)];
    let ln_affine = |t: &[Tensor]| t[0].permute(&[0, 2, 1])?.contiguous()?.permute(&[0, 2, 1])?.layer_norm_affine(&t[1].narrow(0, 7, 33)?, &t[2], 1e-5);
    s.check("layer norm affine rows", &ln, TRANSCENDENTAL, &ln_affine).await;
    for (which, part) in [(0, "x"), (1, "weight"), (2, "bias")] {
        s.check(&format!("layer norm affine backward, {part}"), &ln, TRANSCENDENTAL, &|t| grad_of(t, which, ln_affine)).await;
    }
    let lstm = [data(&[5, 4 * 33], 68), data(&[5, 33], 69)];
    s.check("lstm cell", &lstm, TRANSCENDENTAL, &|t| Tensor::lstm_cell(&t[0], &t[1])).await;
    s.check("lstm cell gates grad", &lstm, TRANSCENDENTAL, &|t| grad_of(t, 0, |t| Tensor::lstm_cell(&t[0], &t[1]))).await;
    s.check("lstm cell state grad", &lstm, TRANSCENDENTAL, &|t| grad_of(t, 1, |t| Tensor::lstm_cell(&t[0], &t[1]))).await;
    recurrences(s).await;
    s.check("conv2d of a sliced input", &[data(&[3, 2, 6, 6], 32), data(&[4, 2, 3, 3], 33)], ACCUMULATE, &|t| {
        t[0].narrow(0, 1, 2)?.conv2d(&t[1], Conv2dParams::default())
    })
    .await;
    let ceil = |p: Pool2dParams| Pool2dParams { ceil_mode: true, ..p };
    let pools: [(&str, Pool2dParams); 6] = [
        ("2x2", Pool2dParams::new([2, 2], [2, 2], [0, 0])),
        ("3x2 tiles with uncovered edges", Pool2dParams::new([3, 2], [3, 2], [0, 0])),
        ("3x2 padded overlapping", Pool2dParams::new([3, 2], [2, 1], [1, 1])),
        ("2x2 ceil mode (partial last windows)", ceil(Pool2dParams::new([2, 2], [2, 2], [0, 0]))),
        ("3x3 padded ceil mode without the padding counted", Pool2dParams { count_include_pad: false, ..ceil(Pool2dParams::new([3, 3], [2, 2], [1, 1])) }),
        ("3x2 dilated", Pool2dParams { dilation: [2, 3], ..Pool2dParams::new([3, 2], [2, 1], [1, 1]) }),
    ];
    for (name, p) in pools {
        let average = p.dilation == [1, 1];
        let x = (distinct(&[2, 3, 7, 9], 34), vec![2, 3, 7, 9]);
        s.check(&format!("max_pool2d {name}"), std::slice::from_ref(&x), EXACT, &|t| t[0].max_pool2d(p)).await;
        s.check(&format!("max_pool2d backward {name}"), std::slice::from_ref(&x), ACCUMULATE, &|t| grad_of(t, 0, |t| t[0].max_pool2d(p))).await;
        s.check(&format!("max_pool2d indices {name}"), std::slice::from_ref(&x), EXACT, &|t| t[0].max_pool2d_indices(p)).await;
        if average {
            s.check(&format!("avg_pool2d {name}"), std::slice::from_ref(&x), ACCUMULATE, &|t| t[0].avg_pool2d(p)).await;
            s.check(&format!("avg_pool2d backward {name}"), std::slice::from_ref(&x), ACCUMULATE, &|t| grad_of(t, 0, |t| t[0].avg_pool2d(p))).await;
        }
    }
}

/// Each cell's recurrence, forward and every input's gradient, on 7 steps of
/// 5 rows of 33 units (every gate block ragged against a 32-wide workgroup),
/// one direction reversed, and the input projections of a batch-first
/// sequence (rows and steps strided); and an LSTM of 61 units, whose
/// invocations each take the most gate rows (8, the last ones ragged) and
/// whose backward's blocks of 8 units overhang the layer. Sums of up to 61
/// products per step, carried over 7 steps: the matmul tolerance.
async fn recurrences(s: &mut Suite) {
    use nnlab_core::CellKind;
    let cases = [(CellKind::RnnTanh, 33), (CellKind::RnnRelu, 33), (CellKind::Gru, 33), (CellKind::Lstm, 33), (CellKind::Lstm, 61)];
    for (i, (kind, h)) in cases.into_iter().enumerate() {
        let (t, n, gh) = (7, 5, kind.gates() * h);
        let seed = 80 + 10 * i as u64;
        let inputs = [data(&[n, t, gh], seed), data(&[gh, h], seed + 1), data(&[gh], seed + 2), data(&[kind.states(), n, h], seed + 3)];
        let reverse = i % 2 == 1;
        // Small weights keep the 33-term sums inside the gates' working range.
        let f = move |x: &[Tensor]| Tensor::recurrence(kind, &x[0].transpose(0, 1)?, &x[1].mul_scalar(0.3)?, Some(&x[2]), &x[3], reverse);
        s.check(&format!("{kind:?} recurrence of {h} units"), &inputs, ACCUMULATE, &f).await;
        for (which, part) in [(0, "inputs"), (1, "recurrent weights"), (2, "recurrent bias"), (3, "initial state")] {
            s.check(&format!("{kind:?} recurrence of {h} units, grad of its {part}"), &inputs, ACCUMULATE, &|x| grad_of(x, which, f)).await;
        }
    }
    // Attention over every prefix: scores spanning 40 (Aaren caps them to
    // 60), values a transposed view; 37 steps, 33 features (ragged against
    // the 64-invocation workgroups).
    let (n, t, d) = (5, 37, 33);
    let inputs = [data(&[n, t], 120), data(&[t, n, d], 121)];
    let f = |x: &[Tensor]| Tensor::attention_scan(&x[0].mul_scalar(20.0 / 3.0)?, &x[1].transpose(0, 1)?);
    s.check("attention scan", &inputs, ACCUMULATE, &f).await;
    for (which, part) in [(0, "scores"), (1, "values")] {
        s.check(&format!("attention scan grad of its {part}"), &inputs, ACCUMULATE, &|x| grad_of(x, which, f)).await;
    }
    // A diagonal state-space scan: 3 sequences of 50 steps, 67 channels
    // (ragged against the workgroups), 5 modes decaying at 0.79-0.98 (as
    // exp(dt A) does), the input a transposed view.
    let (n, t, c, m) = (3, 50, 67, 5);
    let inputs = [data(&[c, m], 122), data(&[c, m], 123), data(&[c, m], 124), data(&[c, m], 125), data(&[t, n, c], 126)];
    let f = |x: &[Tensor]| {
        let (a_re, a_im) = (x[0].mul_scalar(0.03)?.add_scalar(0.88)?, x[1].mul_scalar(0.03)?);
        Tensor::ssm_scan([&a_re, &a_im], [&x[2], &x[3]], &x[4].transpose(0, 1)?)
    };
    s.check("state-space scan", &inputs, ACCUMULATE, &f).await;
    for (which, part) in [(0, "decays' real part"), (1, "decays' imaginary part"), (2, "readouts' real part"), (3, "readouts' imaginary part"), (4, "input")] {
        s.check(&format!("state-space scan grad of its {part}"), &inputs, ACCUMULATE, &|x| grad_of(x, which, f)).await;
    }
}

async fn movement(s: &mut Suite) {
    s.check("contiguous copy of a narrowed, transposed view", &[data(&[7, 33], 46)], EXACT, &|t| t[0].narrow(1, 3, 20)?.t()?.contiguous()).await;
    for axis in [0isize, 1, -1] {
        s.check(&format!("cumsum axis {axis}"), &[data(&[7, 33, 5], 40)], ACCUMULATE, &|t| t[0].cumsum(axis)).await;
    }
    s.check("cumsum of a transposed view", &[data(&[33, 7], 41)], ACCUMULATE, &|t| t[0].t()?.cumsum(1)).await;
    s.check("cumsum backward", &[data(&[7, 33], 42)], ACCUMULATE, &|t| grad_of(t, 0, |t| t[0].cumsum(1))).await;
    // Few lines longer than a chunk (1024) are scanned in chunks on the GPU.
    for shape in [[1, 1025, 1], [3, 5000, 1], [2, 2500, 3]] {
        s.check(&format!("cumsum of long lines {shape:?}"), &[data(&shape, 47)], LONG_SUM, &|t| t[0].cumsum(1)).await;
    }
    s.check("cumsum backward of long lines", &[data(&[2, 3000], 48)], LONG_SUM, &|t| grad_of(t, 0, |t| t[0].cumsum(1))).await;
    s.check("concat", &[data(&[7, 3], 43), data(&[7, 1], 44), data(&[33, 7], 45)], EXACT, &|t| {
        Tensor::concat(&[t[0].clone(), t[1].clone(), t[2].narrow(0, 0, 7)?.narrow(1, 2, 5)?], 1)
    })
    .await;
    // Eight parts (two dispatches of up to six), strided, broadcast and empty ones among them.
    s.check("concat of eight parts along a middle axis", &[data(&[3, 5, 4], 95), data(&[4, 2, 3], 96), data(&[3, 1, 1], 97)], EXACT, &|t| {
        let parts = [
            t[0].clone(),
            t[1].permute(&[2, 1, 0])?.narrow(0, 0, 3)?,
            t[2].broadcast_to(&[3, 4, 4])?,
            t[0].narrow(1, 1, 0)?,
            t[0].narrow(1, 2, 3)?,
            t[1].permute(&[2, 1, 0])?.narrow(2, 0, 4)?,
            t[0].clone(),
            t[2].broadcast_to(&[3, 1, 4])?,
        ];
        Tensor::concat(&parts, 1)
    })
    .await;
    s.check("concat axis 0 of transposed parts", &[data(&[5, 7], 46), data(&[5, 1], 47)], EXACT, &|t| Tensor::concat(&[t[0].t()?, t[1].t()?], 0)).await;
    s.check("pad", &[data(&[7, 33], 48)], EXACT, &|t| t[0].pad(&[(1, 2), (0, 3)])).await;
    s.check("pad of a strided view", &[data(&[33, 7], 49)], EXACT, &|t| t[0].t()?.pad(&[(2, 0), (1, 1)])).await;
    s.check("reshape of a narrowed step (a strided view)", &[data(&[5, 7, 3], 53)], EXACT, &|t| {
        t[0].narrow(1, 4, 1)?.reshape(&[5, 1, 3, 1])?.matmul(&t[0].narrow(1, 2, 1)?.reshape(&[5, 1, 1, 3])?)
    })
    .await;
    s.check("reshape of a narrowed step, backward", &[data(&[5, 7, 3], 54)], TRANSCENDENTAL, &|t| {
        grad_of(t, 0, |t| t[0].narrow(1, 4, 1)?.reshape(&[5, 3])?.exp())
    })
    .await;
    s.check("narrow backward (pad)", &[data(&[7, 33], 50)], EXACT, &|t| grad_of(t, 0, |t| t[0].narrow(1, 3, 20))).await;
    let idx = (vec![2.0, 0.0, 6.0, 2.0, 5.0], vec![5]);
    s.check("index_select axis 0", &[data(&[7, 33], 53), idx.clone()], EXACT, &|t| t[0].index_select(0, &t[1])).await;
    s.check("index_select axis 1", &[data(&[3, 7, 5], 54), idx.clone()], EXACT, &|t| t[0].index_select(1, &t[1])).await;
    s.check("scatter_add with repeated indices", &[data(&[7, 33], 55), idx.clone(), data(&[5, 33], 56)], ACCUMULATE, &|t| t[0].scatter_add(0, &t[1], &t[2]))
        .await;
    s.check("embedding backward (scatter_add)", &[data(&[7, 4], 57), idx.clone()], ACCUMULATE, &|t| grad_of(t, 0, |t| t[0].index_select(0, &t[1]))).await;
    s.check("concat backward (narrow)", &[data(&[7, 3], 51), data(&[7, 5], 52)], EXACT, &|t| grad_of(t, 1, |t| Tensor::concat(&t[..2], 1))).await;
}
