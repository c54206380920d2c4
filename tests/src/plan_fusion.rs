//! Matmul epilogue fusion in step plans (nnlab-gpu's epilogue.rs), natively
//! and in the browser. Each case records a few ops as a plan, replays it on
//! new input values and compares every output with the same ops run eagerly
//! on those values; it also says whether its sum must be folded into a
//! matmul. Every rule of the fusion has a case that replays wrong numbers, or
//! binds a buffer both ways, when the rule is skipped.

use nnlab_core::{GpuContext, Result, Tensor};

use crate::{mismatch, uniform};

pub struct Case {
    pub name: &'static str,
    /// The inputs' shapes.
    pub inputs: &'static [&'static [usize]],
    /// Whether the plan folds a sum into a matmul (then one dispatch less).
    pub folds: bool,
    pub run: fn(&[Tensor]) -> Result<Vec<Tensor>>,
}

const M: usize = 9;
const K: usize = 6;
const N: usize = 11;

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "a residual sum folds into the 4x4-block kernel",
            inputs: &[&[M, K], &[K, N], &[M, N]],
            folds: true,
            run: |t| Ok(vec![t[0].matmul(&t[1])?.add(&t[2])?]),
        },
        Case {
            name: "a residual sum folds into the 8x8-block kernel",
            inputs: &[&[65, K], &[K, 70], &[65, 70]],
            folds: true,
            run: |t| Ok(vec![t[0].matmul(&t[1])?.add(&t[2])?]),
        },
        Case {
            name: "a residual sum folds into the tiled kernel",
            inputs: &[&[130, 260], &[260, 129], &[130, 129]],
            folds: true,
            run: |t| Ok(vec![t[0].matmul(&t[1])?.add(&t[2])?]),
        },
        Case {
            name: "the product on the right of the sum, with a bias",
            inputs: &[&[M, K], &[K, N], &[N], &[M, N]],
            folds: true,
            run: |t| Ok(vec![t[3].add(&t[0].matmul_bias(&t[1], &t[2])?)?]),
        },
        Case {
            name: "a product takes one addend",
            inputs: &[&[M, K], &[K, N], &[M, N], &[N, M]],
            folds: true,
            // The reshape keeps elementwise fusion from merging the sums.
            run: |t| Ok(vec![t[0].matmul(&t[1])?.add(&t[2])?.reshape(&[N, M])?.add(&t[3])?]),
        },
        Case {
            name: "a product that is read again stays written",
            inputs: &[&[M, K], &[K, N], &[M, N]],
            folds: false,
            run: |t| {
                let h = t[0].matmul(&t[1])?;
                Ok(vec![h.add(&t[2])?, h])
            },
        },
        Case {
            name: "the addend is computed after the product: the later product takes it",
            inputs: &[&[M, K], &[K, N], &[M, K], &[K, N]],
            folds: true,
            run: |t| {
                let h = t[0].matmul(&t[1])?;
                let r = t[2].matmul(&t[3])?;
                Ok(vec![h.add(&r)?])
            },
        },
        Case {
            name: "the sum's output is in use between the product and the sum",
            inputs: &[&[M, K], &[K, N], &[M, N], &[N, N]],
            folds: false,
            run: |t| {
                let h = t[0].matmul(&t[1])?;
                // A temporary of the sum's size, written and read after the
                // product, then freed: the sum's output reuses its buffer.
                let temp = t[2].matmul(&t[3])?;
                let s = temp.sum(&[0], false)?;
                drop(temp);
                Ok(vec![h.add(&t[2])?, s])
            },
        },
        Case {
            name: "the sum's output reuses an operand of the product",
            inputs: &[&[M, K], &[K, N], &[N, N], &[M, N]],
            folds: false,
            run: |t| {
                // a has the sum's size and is freed once h is computed.
                let a = t[0].matmul(&t[1])?;
                let h = a.matmul(&t[2])?;
                drop(a);
                Ok(vec![h.add(&t[3])?])
            },
        },
        Case {
            name: "a broadcast addend is not read in place",
            inputs: &[&[M, K], &[K, N], &[N]],
            folds: false,
            run: |t| Ok(vec![t[0].matmul(&t[1])?.add(&t[2])?]),
        },
    ]
}

/// Records `case` on one set of inputs, replays it on another, and checks the
/// replay against eager ops on the second set and the fold against `folds`.
pub async fn check(ctx: &GpuContext, case: &Case) -> std::result::Result<(), String> {
    let device = nnlab_core::Device::Gpu(ctx.clone());
    let values = |seed: u64| -> Vec<Vec<f32>> { case.inputs.iter().enumerate().map(|(i, s)| uniform(s, seed * 16 + i as u64)).collect() };
    let upload = |vs: &[Vec<f32>]| -> Result<Vec<Tensor>> { vs.iter().zip(case.inputs).map(|(v, s)| Tensor::from_vec(v.clone(), s, &device)).collect() };
    let fail = |e: &dyn std::fmt::Display| format!("{}: {e}", case.name);
    let _guard = nnlab_core::no_grad();

    let recorded = upload(&values(1)).map_err(|e| fail(&e))?;
    ctx.begin_recording().map_err(|e| fail(&e))?;
    let outputs = (case.run)(&recorded);
    let plan = ctx.end_recording().map_err(|e| fail(&e))?;
    let outputs = outputs.map_err(|e| fail(&e))?;
    let replayed = values(2);
    let buffers: Vec<_> = recorded.iter().map(|t| t.gpu_buffer().cloned().expect("an uploaded input")).collect();
    let writes: Vec<_> = buffers.iter().zip(&replayed).map(|(b, v)| (b, v.as_slice())).collect();
    plan.replay(&writes, &[]).map_err(|e| fail(&e))?;
    let expected = (case.run)(&upload(&replayed).map_err(|e| fail(&e))?).map_err(|e| fail(&e))?;
    for (i, (got, want)) in outputs.iter().zip(&expected).enumerate() {
        let (got, want) = (got.to_vec().await.map_err(|e| fail(&e))?, want.to_vec().await.map_err(|e| fail(&e))?);
        if let Some((at, a, b)) = mismatch(&got, &want, 1e-5, 1e-5) {
            return Err(fail(&format!("output {i}, element {at}: replay {a}, eager {b}")));
        }
    }
    if plan.fused() != case.folds as usize {
        return Err(fail(&format!("{} dispatches folded away, expected {}", plan.fused(), case.folds as usize)));
    }
    Ok(())
}
