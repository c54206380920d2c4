//! The shipped PFNs (models/pfn-*.safetensors) against their targets, on
//! held-out data no training step saw: 500 datasets from each GP prior
//! (context sizes uniform in 1..50, 20 query points each, the held-out seed
//! domain), where the PFN's mean NLL must come within 0.05 nats of the exact
//! reference's; and the tabular PFN on three classic tables, where its mean
//! test accuracy must be at least that of the better of two baselines
//! trained on the same splits.

use nnlab_core::Device;
use nnlab_nn::pfn::Pfn;
use nnlab_nn::pfn::classify::{Baseline, ENSEMBLE, baseline, table_split};
use nnlab_nn::pfn::eval::{EvalReport, HeldOut, evaluate};

fn model(name: &str) -> Pfn {
    let path = format!("{}/../models/{name}.safetensors", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    Pfn::from_safetensors(&bytes, &Device::Cpu).unwrap_or_else(|e| panic!("{path}: {e}")).0
}

fn report(name: &str) -> EvalReport {
    let pfn = model(name);
    let r = pollster::block_on(evaluate(&pfn, HeldOut::default())).unwrap();
    eprintln!("{name}: {} held-out datasets", r.held_out.datasets);
    for (bin, s) in r.bins.iter().map(|(b, s)| (format!("{}-{}", b[0], b[1]), s)).chain(std::iter::once(("all".to_string(), &r.all))) {
        eprintln!(
            "  context {bin:<6} PFN {:.4}  exact {:.4}  gap {:+.4}  coverage 50%: {:.3} (exact {:.3})  90%: {:.3} (exact {:.3})",
            s.pfn_nll,
            s.exact_nll.unwrap(),
            s.gap().unwrap(),
            s.pfn_coverage50,
            s.exact_coverage50.unwrap(),
            s.pfn_coverage90,
            s.exact_coverage90.unwrap()
        );
    }
    r
}

#[test]
fn pfn_gp_is_within_0_05_nats_of_the_exact_gp_posterior() {
    let r = report("pfn-gp");
    let gap = r.all.gap().unwrap();
    assert!(gap < 0.05, "pfn-gp is {gap:.4} nats per point above the exact GP posterior");
    // Calibrated intervals: the 50% and 90% intervals hold about that share.
    assert!(
        (r.all.pfn_coverage50 - 0.5).abs() < 0.05 && (r.all.pfn_coverage90 - 0.9).abs() < 0.03,
        "coverage {} / {}",
        r.all.pfn_coverage50,
        r.all.pfn_coverage90
    );
}

#[test]
fn pfn_gp_ls_is_within_0_05_nats_of_the_bayes_optimal_predictive() {
    let r = report("pfn-gp-ls");
    let gap = r.all.gap().unwrap();
    assert!(gap < 0.05, "pfn-gp-ls is {gap:.4} nats per point above the Bayes-optimal predictive");
    assert!(
        (r.all.pfn_coverage50 - 0.5).abs() < 0.05 && (r.all.pfn_coverage90 - 0.9).abs() < 0.03,
        "coverage {} / {}",
        r.all.pfn_coverage50,
        r.all.pfn_coverage90
    );
}

#[test]
fn pfn_tabular_is_at_least_as_accurate_as_the_better_baseline_on_average() {
    let pfn = model("pfn-tabular");
    let splits = 10;
    // Mean test accuracy per table of the PFN, logistic regression and the MLP.
    let mut table_means = Vec::new();
    for name in ["iris", "wine", "breast-cancer"] {
        let path = format!("{}/../models/tables/{name}.csv", env!("CARGO_MANIFEST_DIR"));
        let csv = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut sums = [0.0; 3];
        for seed in 0..splits {
            let t = table_split(&csv, "class", 0.5, seed).unwrap();
            let predicted = [
                pollster::block_on(pfn.classify(&t, ENSEMBLE)),
                pollster::block_on(baseline(&t, Baseline::Logistic)),
                pollster::block_on(baseline(&t, Baseline::Mlp)),
            ];
            for (sum, p) in sums.iter_mut().zip(predicted) {
                *sum += t.accuracy(&p.unwrap()) / splits as f64;
            }
        }
        eprintln!("{name:<14} PFN {:.4}  logistic {:.4}  MLP {:.4}", sums[0], sums[1], sums[2]);
        table_means.push(sums);
    }
    let mean = |i: usize| table_means.iter().map(|s| s[i]).sum::<f64>() / table_means.len() as f64;
    let (pfn, logistic, mlp) = (mean(0), mean(1), mean(2));
    eprintln!("mean           PFN {pfn:.4}  logistic {logistic:.4}  MLP {mlp:.4}");
    assert!(pfn >= logistic.max(mlp), "the PFN's mean accuracy {pfn:.4} is below the better baseline's {:.4}", logistic.max(mlp));
}
