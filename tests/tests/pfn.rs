//! PFN building blocks: the bar distribution against hand-computed values,
//! the exact GP against scikit-learn, the Bayes-optimal mixture against
//! brute-force quadrature, the priors, the attention mask, resuming, and
//! requests that must be refused.

use nnlab_core::Device;
use nnlab_nn::Module;
use nnlab_nn::datasets::Rng;
use nnlab_nn::pfn::gp::{GpParams, Kernel, Points, Posterior, bayes_predictive};
use nnlab_nn::pfn::prior::{GpPrior, Hyper, HyperPrior, TabularPrior};
use nnlab_nn::pfn::{BarDistribution, Pfn, PfnSpec, PfnTrainer, PredictRequest, Prior};
use serde_json::Value;

fn close(a: f64, b: f64, tol: f64, what: &str) {
    assert!((a - b).abs() <= tol * (1.0 + b.abs()), "{what}: {a} vs {b}");
}

/// Borders 0, 1, 3, 4 (buckets of width 1, 2, 1) with probabilities 0.2, 0.5, 0.3.
fn small_bar() -> (BarDistribution, Vec<f64>) {
    (BarDistribution::new(vec![0.0, 1.0, 3.0, 4.0]).unwrap(), vec![0.2, 0.5, 0.3])
}

#[test]
fn bar_distribution_matches_hand_computed_values() {
    let (bar, p) = small_bar();
    // Tail scale: width / 0.6745 (the half-normal's median).
    close(bar.tail_scales().0, 1.482_602_218_505_602, 1e-12, "tail scale");
    // Inner bucket: p / width.
    close(bar.log_density(&p, 2.0).unwrap(), (0.5f64 / 2.0).ln(), 1e-12, "inner density");
    // Left tail at 0.5 below its inner border; right tail 1.5 beyond its inner border.
    close(bar.log_density(&p, 0.5).unwrap(), -2.285_895_117_569_665_6, 1e-12, "left tail density");
    close(bar.log_density(&p, 4.5).unwrap(), -2.335_366_432_581_074, 1e-12, "right tail density");
    // Half of each tail bucket's mass lies beyond the outer border.
    for (y, cdf) in [(1.0, 0.2), (2.0, 0.45), (3.0, 0.7), (0.0, 0.1), (4.0, 0.85), (-1.0, 0.035_468_710_130_470_39)] {
        close(bar.cdf(&p, y).unwrap(), cdf, 1e-9, &format!("cdf at {y}"));
    }
    close(bar.mean(&p).unwrap(), 2.218_294_541_995_769_4, 1e-12, "mean");
    for (q, y) in [(0.1, 0.0), (0.45, 2.0), (0.85, 4.0), (0.2, 1.0)] {
        close(bar.quantile(&p, q).unwrap(), y, 1e-9, &format!("quantile {q}"));
    }
    // The density on a grid is the density at each point.
    let grid = bar.density_grid(&p, -1.0, 0.25, 25).unwrap();
    for (i, d) in grid.iter().enumerate() {
        close(*d as f64, bar.log_density(&p, -1.0 + 0.25 * i as f64).unwrap().exp(), 1e-6, "density grid");
    }
    // The density integrates to one, across the tails.
    let (lo, hi, steps) = (-25.0, 30.0, 200_000);
    let h = (hi - lo) / steps as f64;
    let mass: f64 = (0..steps).map(|i| bar.log_density(&p, lo + (i as f64 + 0.5) * h).unwrap().exp() * h).sum();
    close(mass, 1.0, 1e-4, "total mass");
    // Equal-mass borders of 0..=100 in four buckets.
    let samples: Vec<f64> = (0..=100).map(f64::from).collect();
    assert_eq!(BarDistribution::from_samples(&samples, 4).unwrap().borders(), &[0.0, 25.0, 50.0, 75.0, 100.0]);
    assert!(BarDistribution::new(vec![0.0, 1.0, 1.0]).is_err());
    assert!(bar.log_density(&[0.5, 0.5], 1.0).is_err());
    assert!(bar.quantile(&p, 1.0).is_err());
}

fn numbers(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

#[test]
fn gp_posterior_matches_scikit_learn() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/gp/sklearn_gp.json")).unwrap();
    let fixture: Value = serde_json::from_str(&text).unwrap();
    let cases = fixture["cases"].as_array().unwrap();
    assert!(cases.len() >= 7);
    for (i, c) in cases.iter().enumerate() {
        let kernel: Kernel = serde_json::from_value(c["kernel"].clone()).unwrap();
        let params = GpParams {
            kernel,
            lengthscale: c["lengthscale"].as_f64().unwrap(),
            outputscale: c["outputscale"].as_f64().unwrap(),
            noise_std: c["noise_std"].as_f64().unwrap(),
        };
        let f = c["features"].as_u64().unwrap() as usize;
        let (x, y, xq) = (numbers(&c["x_context"]), numbers(&c["y_context"]), numbers(&c["x_query"]));
        let post = Posterior::new(params, Points::new(&x, f), &y).unwrap();
        close(post.log_marginal, c["log_marginal"].as_f64().unwrap(), 1e-6, &format!("case {i} log marginal"));
        for (q, (p, (mean, var))) in post.predict(Points::new(&xq, f)).iter().zip(numbers(&c["mean"]).into_iter().zip(numbers(&c["var"]))).enumerate() {
            close(p.mean, mean, 1e-7, &format!("case {i} query {q} mean"));
            close(p.var, var, 1e-7, &format!("case {i} query {q} variance"));
        }
    }
}

#[test]
fn bayes_mixture_matches_quadrature_over_the_lengthscale() {
    let prior = GpPrior {
        kernel: Kernel::Rbf,
        lengthscale: Hyper::Drawn(HyperPrior::Uniform { low: 0.1, high: 0.6 }),
        outputscale: Hyper::Fixed(1.0),
        noise_std: Hyper::Fixed(0.1),
        x: [0.0, 1.0],
        features: 1,
    };
    let (grid, weights) = prior.grid(256);
    assert_eq!(grid.len(), 256);
    let x = [0.05, 0.2, 0.31, 0.5, 0.72, 0.9];
    let y = [0.3, -0.4, 0.8, 0.1, -1.1, 0.2];
    let xq = [0.12, 0.6, 0.95];
    let mixtures = bayes_predictive(&grid, &weights, Points::new(&x, 1), &y, Points::new(&xq, 1)).unwrap();
    // Brute force: p(y* | D) = ∫ p(l) p(D | l) p(y* | D, l) dl / ∫ p(l) p(D | l) dl,
    // by the midpoint rule on 20,000 lengthscales.
    let steps = 20_000;
    let ls: Vec<f64> = (0..steps).map(|i| 0.1 + 0.5 * (i as f64 + 0.5) / steps as f64).collect();
    let params = |l: f64| GpParams { kernel: Kernel::Rbf, lengthscale: l, outputscale: 1.0, noise_std: 0.1 };
    let evidence: Vec<f64> = ls.iter().map(|&l| Posterior::new(params(l), Points::new(&x, 1), &y).unwrap().log_marginal).collect();
    let max = evidence.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    for (q, m) in mixtures.iter().enumerate() {
        for y_star in [-2.0, -0.5, 0.0, 0.4, 1.5] {
            let (mut num, mut den) = (0.0, 0.0);
            for (&l, &e) in ls.iter().zip(&evidence) {
                let w = (e - max).exp();
                let pred = Posterior::new(params(l), Points::new(&x, 1), &y).unwrap().predict(Points::new(&xq[q..q + 1], 1))[0];
                num += w * pred.log_density(y_star).exp();
                den += w;
            }
            // Midpoints of 256 equal-mass cells: within 2e-3 nats where the
            // density is above e^-5, 0.05 in the far tails.
            let (got, want) = (m.log_density(y_star), (num / den).ln());
            let tol = if want > -5.0 { 2e-3 } else { 0.05 };
            assert!((got - want).abs() <= tol, "query {q} at {y_star}: {got} vs {want}");
        }
        // The mixture's quantiles invert its CDF.
        for level in [0.05, 0.5, 0.95] {
            close(m.cdf(m.quantile(level)), level, 1e-9, "mixture quantile");
        }
    }
}

#[test]
fn gp_prior_samples_have_the_kernel_covariance() {
    let prior = Prior::Gp(GpPrior {
        kernel: Kernel::Rbf,
        lengthscale: Hyper::Fixed(0.3),
        outputscale: Hyper::Fixed(1.0),
        noise_std: Hyper::Fixed(0.1),
        x: [0.0, 1.0],
        features: 1,
    });
    let mut rng = Rng::new(7);
    let (mut var, mut products, mut expected, n) = (0.0, 0.0, 0.0, 4000);
    for _ in 0..n {
        let d = prior.sample(&mut rng, 2).unwrap();
        assert!(d.x.iter().all(|v| (0.0..=1.0).contains(v)));
        var += d.y[0] * d.y[0];
        products += d.y[0] * d.y[1];
        expected += (-0.5 * ((d.x[0] - d.x[1]) / 0.3f64).powi(2)).exp();
    }
    // Var y = 1 + 0.01; E[y0 y1] = E[k(x0, x1)], each within 4 standard errors.
    close(var / n as f64, 1.01, 4.0 * (2.0f64 / n as f64).sqrt(), "variance");
    close(products / n as f64, expected / n as f64, 4.0 * (1.0 / n as f64).sqrt(), "covariance");
    // The same seed draws the same dataset.
    assert_eq!(prior.sample(&mut Rng::new(3), 5).unwrap(), prior.sample(&mut Rng::new(3), 5).unwrap());
}

#[test]
fn tabular_prior_draws_classification_datasets_within_its_limits() {
    let prior = Prior::Tabular(TabularPrior { max_features: 10, max_classes: 10, layers: [1, 3], width: [4, 16], noise_std: Hyper::Fixed(0.1) });
    let mut rng = Rng::new(11);
    let mut saw = (usize::MAX, 0, 0);
    for _ in 0..200 {
        let d = prior.sample(&mut rng, 60).unwrap();
        assert!((1..=10).contains(&d.features));
        assert_eq!(d.x.len(), 60 * d.features);
        assert!(d.y.iter().all(|&c| (0.0..10.0).contains(&c) && c.fract() == 0.0));
        assert!(d.x.iter().all(|v| v.is_finite()));
        let classes = d.y.iter().map(|&c| c as usize).max().unwrap() + 1;
        saw = (saw.0.min(d.features), saw.1.max(d.features), saw.2.max(classes));
        // Features are standardised over the dataset.
        let mean: f64 = (0..60).map(|r| d.x[r * d.features]).sum::<f64>() / 60.0;
        assert!(mean.abs() < 1e-9, "feature mean {mean}");
    }
    assert_eq!((saw.0, saw.1), (1, 10), "every feature count is drawn");
    assert!(saw.2 >= 8, "many classes are drawn, at most {}", saw.2);
}

#[test]
fn bnn_prior_draws_standardised_random_functions_with_noise() {
    use nnlab_nn::pfn::prior::{BnnActivation, BnnPrior};
    let prior = Prior::Bnn(BnnPrior {
        layers: [1, 3],
        width: [4, 16],
        activations: vec![BnnActivation::Tanh, BnnActivation::Relu],
        weight_std: Hyper::Fixed(2.0),
        bias_std: Hyper::Fixed(0.5),
        noise_std: Hyper::Fixed(0.0),
        x: [-1.0, 1.0],
        features: 2,
    });
    prior.validate().unwrap();
    let mut rng = Rng::new(5);
    for _ in 0..50 {
        let d = prior.sample(&mut rng, 40).unwrap();
        assert_eq!((d.x.len(), d.y.len(), d.features), (80, 40, 2));
        assert!(d.x.iter().all(|v| (-1.0..=1.0).contains(v)));
        // Without noise the function values are standardised over the dataset.
        let mean = d.y.iter().sum::<f64>() / 40.0;
        let var = d.y.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 40.0;
        assert!(mean.abs() < 1e-9 && ((var - 1.0).abs() < 1e-9 || var < 1e-12), "mean {mean}, variance {var}");
    }
    // A function of x: the same x gives the same y within a dataset.
    let Prior::Bnn(b) = &prior else { unreachable!() };
    let noisy = Prior::Bnn(BnnPrior { noise_std: Hyper::Fixed(0.3), ..b.clone() });
    let (a, c) = (noisy.sample(&mut Rng::new(9), 30).unwrap(), prior.sample(&mut Rng::new(9), 30).unwrap());
    assert_eq!(a.x, c.x, "the noise is drawn after the inputs");
    assert!(a.y != c.y);
    assert!(Prior::Bnn(BnnPrior { activations: vec![], ..b.clone() }).validate().is_err());
}

fn tiny_spec() -> PfnSpec {
    PfnSpec::parse(
        r#"{"name": "tiny", "prior": {"kind": "gp", "kernel": "matern32", "lengthscale": {"dist": "logUniform", "low": 0.1, "high": 1.0}, "outputscale": 1, "noiseStd": 0.1, "x": [0, 1]},
            "context": [2, 8], "queries": 6,
            "model": {"dModel": 16, "heads": 2, "layers": 2, "ff": 32, "decoderHidden": 32, "buckets": 20},
            "training": {"steps": 10, "batch": 4, "lr": 0.003, "warmup": 2, "seed": 5, "borderSamples": 2000}}"#,
    )
    .unwrap()
}

fn request(xc: &[f64], yc: &[f64], xq: &[f64]) -> PredictRequest {
    let rows = |v: &[f64]| v.iter().map(|&x| vec![x]).collect();
    PredictRequest { datasets: vec![nnlab_nn::pfn::pfn::PredictDataset { x_context: rows(xc), y_context: yc.to_vec(), x_query: rows(xq) }] }
}

#[test]
fn a_query_never_influences_another_query() {
    let pfn = Pfn::new(tiny_spec(), &Device::Cpu).unwrap();
    let (xc, yc) = ([0.1, 0.4, 0.8], [0.5, -0.2, 1.0]);
    let queries = [0.05, 0.3, 0.55, 0.9];
    let base = pollster::block_on(pfn.predict(&request(&xc, &yc, &queries))).unwrap();
    let mut moved = queries;
    moved[2] = 0.77;
    let after = pollster::block_on(pfn.predict(&request(&xc, &yc, &moved))).unwrap();
    for q in [0, 1, 3] {
        let bits = |p: &[f32]| p.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&base[0].probs[q]), bits(&after[0].probs[q]), "query {q} changed when query 2 moved");
    }
    assert_ne!(base[0].probs[2], after[0].probs[2], "the moved query itself changes");
    // A context point does influence every query.
    let shifted = pollster::block_on(pfn.predict(&request(&xc, &[0.5, -0.2, 0.0], &queries))).unwrap();
    assert!((0..4).all(|q| base[0].probs[q] != shifted[0].probs[q]));
}

#[test]
fn training_resumes_exactly_from_a_checkpoint() {
    let device = Device::Cpu;
    let mut straight = PfnTrainer::new(tiny_spec(), &device).unwrap();
    let mut split = PfnTrainer::new(tiny_spec(), &device).unwrap();
    let mut losses = Vec::new();
    for _ in 0..5 {
        losses.push(pollster::block_on(straight.train_step()).unwrap().nll);
    }
    for _ in 0..3 {
        pollster::block_on(split.train_step()).unwrap();
    }
    let bytes = pollster::block_on(split.checkpoint()).unwrap();
    let mut resumed = PfnTrainer::resume(&bytes, &device).unwrap();
    assert_eq!(resumed.step, 3);
    for expected in &losses[3..] {
        assert_eq!(pollster::block_on(resumed.train_step()).unwrap().nll, *expected);
    }
    let weights = |t: &PfnTrainer| t.pfn.model.parameters().into_iter().map(|(n, p)| (n, pollster::block_on(p.get().to_vec()).unwrap())).collect::<Vec<_>>();
    assert!(weights(&straight) == weights(&resumed), "the same weights after 5 steps either way");
    // A model file is not a checkpoint.
    assert!(PfnTrainer::resume(&pollster::block_on(straight.model_file()).unwrap(), &device).is_err());
}

#[test]
fn bad_requests_and_files_get_messages() {
    let pfn = Pfn::new(tiny_spec(), &Device::Cpu).unwrap();
    let refuse = |r: PredictRequest, needle: &str| {
        let e = pollster::block_on(pfn.predict(&r)).err().unwrap_or_else(|| panic!("accepted a request that should fail on {needle}")).to_string();
        assert!(e.contains(needle), "{e}");
    };
    refuse(request(&[], &[], &[0.5]), "context points");
    refuse(request(&[0.1; 9], &[0.0; 9], &[0.5]), "takes 1 to 8");
    refuse(request(&[0.1], &[0.0, 1.0], &[0.5]), "2 values for 1 context points");
    refuse(request(&[0.1], &[f64::NAN], &[0.5]), "finite");
    refuse(request(&[0.1], &[0.0], &[]), "query points");
    refuse(request(&[0.1], &[0.0], &[f64::INFINITY]), "finite numbers");
    let mut wide = request(&[0.1], &[0.0], &[0.5]);
    wide.datasets[0].x_context[0].push(1.0);
    refuse(wide, "features");
    assert!(Pfn::from_safetensors(b"not a file", &Device::Cpu).is_err());
    assert!(PfnSpec::parse(r#"{"name": "x"}"#).is_err());
    let bad = serde_json::to_string(&tiny_spec()).unwrap().replace(r#""dModel":16"#, r#""dModel":15"#);
    assert!(PfnSpec::parse(&bad).unwrap_err().to_string().contains("multiple of heads"));
    let huge = serde_json::to_string(&tiny_spec()).unwrap().replace(r#""batch":4"#, r#""batch":4096"#).replace(r#""context":[2,8]"#, r#""context":[2,4000]"#);
    assert!(PfnSpec::parse(&huge).unwrap_err().to_string().contains("values per layer in one step"), "a spec that would exhaust memory is refused");
}

#[test]
fn a_model_file_round_trips() {
    let pfn = Pfn::new(tiny_spec(), &Device::Cpu).unwrap();
    let bytes = pollster::block_on(pfn.to_safetensors(Vec::new(), Default::default())).unwrap();
    let (back, _, _) = Pfn::from_safetensors(&bytes, &Device::Cpu).unwrap();
    assert_eq!(back.spec, pfn.spec);
    assert_eq!(back.bar, pfn.bar);
    let r = request(&[0.2, 0.7], &[1.0, -1.0], &[0.5]);
    assert_eq!(pollster::block_on(pfn.predict(&r)).unwrap(), pollster::block_on(back.predict(&r)).unwrap());
}

#[test]
fn the_regression_view_curves_are_consistent_and_refuse_bad_points() {
    use nnlab_nn::pfn::curve::{CurveRequest, HeldOutPoints, Reference, YGrid};
    let pfn = Pfn::new(tiny_spec(), &Device::Cpu).unwrap();
    let Prior::Gp(prior) = &pfn.spec.prior else { unreachable!() };
    let fixed = Reference { lengthscale: Hyper::Fixed(0.3), ..Reference::of_prior(prior) };
    let request = CurveRequest {
        x_context: vec![0.1, 0.5, 0.9],
        y_context: vec![0.4, -0.3, 1.2],
        x_query: (0..=20).map(|i| i as f64 / 20.0).collect(),
        y_grid: Some(YGrid { low: -3.0, high: 3.0, count: 31 }),
        held_out: Some(HeldOutPoints { x: vec![0.3, 0.7], y: vec![0.1, 0.5] }),
        reference: Some(fixed),
    };
    let curve = pollster::block_on(pfn.curve(&request)).unwrap();
    assert_eq!(curve.density.len(), 21 * 31);
    for band in [&curve.pfn, curve.exact.as_ref().unwrap()] {
        for q in 0..21 {
            assert!(band.q05[q] < band.q25[q] && band.q25[q] < band.q75[q] && band.q75[q] < band.q95[q], "ordered quantiles at {q}");
        }
    }
    // With fixed hyperparameters the reference is the GP posterior itself.
    let post = Posterior::new(
        GpParams { kernel: Kernel::Matern32, lengthscale: 0.3, outputscale: 1.0, noise_std: 0.1 },
        Points::new(&request.x_context, 1),
        &request.y_context,
    )
    .unwrap();
    let exact = post.predict(Points::new(&request.x_query, 1));
    let band = curve.exact.as_ref().unwrap();
    for (q, p) in exact.iter().enumerate() {
        close(band.mean[q], p.mean, 1e-9, "exact mean");
        close(band.q95[q], p.mean + 1.644_853_626_951_472_2 * p.var.sqrt(), 1e-6, "exact 95% quantile");
    }
    let scores = curve.held_out.unwrap();
    assert_eq!(scores.points, 2);
    let held = post.predict(Points::new(&[0.3, 0.7], 1));
    close(scores.exact_nll.unwrap(), -(held[0].log_density(0.1) + held[1].log_density(0.5)) / 2.0, 1e-9, "exact held-out NLL");
    assert!(scores.pfn_nll.is_finite());
    let refuse = |r: CurveRequest, needle: &str| {
        let e = pollster::block_on(pfn.curve(&r)).err().unwrap_or_else(|| panic!("accepted a request that should fail on {needle}")).to_string();
        assert!(e.contains(needle), "{e}");
    };
    refuse(CurveRequest { x_context: vec![0.1, 1.4, 0.9], ..request.clone() }, "outside the plotted domain [0, 1]");
    refuse(CurveRequest { x_query: vec![-0.2], ..request.clone() }, "outside the plotted domain");
    refuse(CurveRequest { x_context: vec![0.5; 9], y_context: vec![0.0; 9], ..request.clone() }, "takes 1 to 8");
    refuse(CurveRequest { y_context: vec![0.4, f64::NAN, 1.2], ..request.clone() }, "not a finite number");
    refuse(CurveRequest { y_grid: Some(YGrid { low: 1.0, high: 0.0, count: 10 }), ..request.clone() }, "low < high");
    refuse(CurveRequest { held_out: Some(HeldOutPoints { x: vec![0.3], y: vec![] }), ..request.clone() }, "0 values for 1 points");
}

#[test]
fn attending_to_the_context_is_the_masked_transformer_layer() {
    use nnlab_core::Tensor;
    use nnlab_nn::Activation;
    use nnlab_nn::layers::TransformerEncoderLayer;
    use nnlab_nn::pfn::PfnModel;
    let device = Device::Cpu;
    for norm_first in [false, true] {
        let layer = TransformerEncoderLayer::new(16, 4, 24, 0.0, Activation::Gelu, norm_first, 3, 1, &device).unwrap();
        let x = Tensor::rand_uniform(&[2, 9, 16], -1.0, 1.0, 4, 0, &device).unwrap();
        let mask = PfnModel::context_mask(4, 9, &device).unwrap();
        let masked = pollster::block_on(layer.forward_masked(&x, None, Some(&mask)).unwrap().to_vec()).unwrap();
        let direct = pollster::block_on(layer.forward_context(&x, 4).unwrap().to_vec()).unwrap();
        let diff = masked.iter().zip(&direct).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(diff < 1e-5, "norm_first {norm_first}: {diff}");
    }
}

/// models/pfn.schema.json is the published schema of PFN specs; it must match
/// the types. `NNLAB_WRITE_SCHEMA=1 cargo test -p nnlab-tests --test pfn` rewrites it.
#[test]
fn the_committed_pfn_schema_is_current_and_the_shipped_specs_parse() {
    let dir = format!("{}/../models", env!("CARGO_MANIFEST_DIR"));
    let current = serde_json::to_string_pretty(&PfnSpec::schema()).unwrap() + "\n";
    if std::env::var("NNLAB_WRITE_SCHEMA").is_ok() {
        std::fs::write(format!("{dir}/pfn.schema.json"), &current).unwrap();
    }
    let committed = std::fs::read_to_string(format!("{dir}/pfn.schema.json")).unwrap_or_default();
    assert!(committed == current, "models/pfn.schema.json is stale; regenerate with NNLAB_WRITE_SCHEMA=1");
    for name in ["pfn-gp", "pfn-gp-ls", "pfn-tabular"] {
        let spec = PfnSpec::parse(&std::fs::read_to_string(format!("{dir}/{name}.json")).unwrap()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(spec.name, name);
    }
}
