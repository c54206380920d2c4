//! Experiment cards (models/experiments/*.json): the format refuses what
//! it cannot run, the checks decide on made-up results as stated, and every
//! shipped card, trained natively on the CPU with its seeds, shows the
//! outcome it reports.

use nnlab_core::Device;
use nnlab_nn::experiment::{Experiment, RunResult, check, run_native, summarise};

fn dir() -> String {
    format!("{}/../models/experiments", env!("CARGO_MANIFEST_DIR"))
}

fn card(name: &str) -> Experiment {
    let path = format!("{}/{name}.json", dir());
    Experiment::parse(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Trains every run of the card and asserts each of its checks.
fn holds(name: &str) {
    let exp = card(name);
    let results =
        pollster::block_on(run_native(&exp, Device::Cpu, |run, r| eprintln!("{name}: {:<48} {:?} ({:.1} s)", run.label, r.metric, r.seconds))).unwrap();
    let summary = summarise(&exp, &results).unwrap();
    let checks = check(&exp, &summary);
    for c in &checks {
        eprintln!("{name}: {} {} ({})", if c.passed { "PASS" } else { "FAIL" }, c.text, c.measured);
    }
    let failed: Vec<_> = checks.iter().filter(|c| !c.passed).map(|c| format!("{} ({})", c.text, c.measured)).collect();
    assert!(failed.is_empty(), "{name}: {}", failed.join("; "));
}

#[test]
fn batchnorm_only_beats_as_many_random_conv_weights() {
    holds("batchnorm-only");
}

#[test]
fn random_pruning_closes_the_gap_to_dense_as_width_grows() {
    holds("random-pruning");
}

#[test]
fn gradient_noise_lets_a_deep_plain_mlp_train() {
    holds("gradient-noise");
}

#[test]
fn scaled_down_residuals_train_better_at_a_high_learning_rate() {
    holds("residual-scaling");
}

#[test]
fn s4d_solves_the_long_adding_problem_where_an_lstm_does_not() {
    holds("s4d-long-range");
}

#[test]
fn a_fresh_random_subset_each_epoch_beats_a_fixed_one() {
    holds("rs2-subsets");
}

#[test]
fn a_gru_pruned_gradually_keeps_its_accuracy_to_high_sparsity() {
    holds("gradual-pruning-rnn");
}

#[test]
fn a_deep_tanh_mlp_trains_only_near_the_critical_weight_scale() {
    holds("criticality");
}

#[test]
fn activation_variance_dies_out_below_the_critical_scale_and_settles_above_it() {
    holds("signal-propagation");
}

#[test]
fn trained_relu_networks_get_sparser_as_they_get_wider() {
    holds("lazy-neuron");
}

#[test]
fn a_linear_bottleneck_beats_a_relu6_one_most_where_it_is_narrow() {
    holds("linear-bottleneck");
}

#[test]
fn more_random_features_lower_the_test_error_at_every_ridge() {
    holds("more-is-better");
}

#[test]
fn attention_with_random_queries_and_keys_learns_a_sum_over_a_bag_of_tokens() {
    holds("random-feature-attention");
}

#[test]
fn the_bias_loss_does_not_beat_cross_entropy_on_the_digits() {
    holds("bias-loss");
}

#[test]
fn folding_batchnorm_into_the_convolution_keeps_the_outputs() {
    holds("efficient-convbn");
}

#[test]
fn aaren_runs_token_by_token_with_the_outputs_of_its_parallel_mode() {
    holds("attention-as-rnn");
}

/// models/experiment.schema.json must match the types; every card parses,
/// is named after its file and reports its outcome.
/// `NNLAB_WRITE_SCHEMA=1 cargo test -p nnlab-tests --test experiments` rewrites the schema.
#[test]
fn the_schema_is_current_and_every_card_parses() {
    let models = format!("{}/../models", env!("CARGO_MANIFEST_DIR"));
    let current = serde_json::to_string_pretty(&Experiment::schema()).unwrap() + "\n";
    if std::env::var("NNLAB_WRITE_SCHEMA").is_ok() {
        std::fs::write(format!("{models}/experiment.schema.json"), &current).unwrap();
    }
    let committed = std::fs::read_to_string(format!("{models}/experiment.schema.json")).unwrap_or_default();
    assert!(committed == current, "models/experiment.schema.json is stale; regenerate with NNLAB_WRITE_SCHEMA=1");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            let exp = card(&stem);
            assert_eq!(exp.name, stem);
            assert!(!exp.outcome.trim().is_empty() && !exp.claim.trim().is_empty(), "{stem}: the claim and the measured outcome are stated");
            names.push(stem);
        }
    }
    assert!(names.len() >= 8, "{names:?}");
}

const BASE: &str = r#"{"name": "m", "input": [2], "layers": [{"type": "linear", "out": 8}, {"type": "activation", "fn": "relu"}, {"type": "linear", "out": 2}],
  "data": {"name": "plane", "set": "xor"}, "loss": {"name": "cross_entropy"}, "training": {"steps": 10}}"#;

fn made_up(variants: &str, sweep: &str, expect: &str, metric: &str) -> Result<Experiment, String> {
    let sweep = if sweep.is_empty() { String::new() } else { format!(r#""sweep": {sweep},"#) };
    let json = format!(
        r#"{{"name": "t", "title": "T", "claim": "c", "citation": "c", "setup": "s", "outcome": "o", "base": {BASE},
        "variants": {variants}, {sweep} "seeds": [1, 2], "metric": "{metric}", "expect": {expect}}}"#
    );
    Experiment::parse(&json).map_err(|e| e.to_string())
}

#[test]
fn bad_cards_are_refused_with_the_place_of_the_problem() {
    let two = r#"[{"label": "a"}, {"label": "b", "set": {"/training/steps": 20}}]"#;
    let beats = r#"[{"kind": "beats", "run": "a", "other": "b"}]"#;
    assert!(made_up(two, "", beats, "testAccuracy").is_ok());
    let cases = [
        (made_up(two, "", r#"[{"kind": "beats", "run": "a", "other": "c"}]"#, "testAccuracy"), "expect[0].other"),
        (made_up(r#"[{"label": "a"}, {"label": "a"}]"#, "", beats, "testAccuracy"), "variants[1].label"),
        (made_up(r#"[{"label": "a"}, {"label": "b", "set": {"/nowhere/at/all": 1}}]"#, "", beats, "testAccuracy"), "variants[1].set./nowhere/at/all"),
        (made_up(r#"[{"label": "a"}, {"label": "b", "set": {"/layers/0/out": -3}}]"#, "", beats, "testAccuracy"), "run \"b, seed 1\""),
        (made_up(two, "", r#"[{"kind": "gapShrinks", "run": "a", "other": "b"}]"#, "testAccuracy"), "expect[0].kind"),
        (
            made_up(
                two,
                r#"{"label": "w", "paths": ["/layers/0/out"], "values": [4, 8]}"#,
                r#"[{"kind": "beats", "run": "a", "other": "b", "at": 16}]"#,
                "testAccuracy",
            ),
            "expect[0].at",
        ),
        (
            made_up(
                r#"[{"label": "a"}, {"label": "b"}, {"label": "c"}, {"label": "d"}]"#,
                r#"{"label": "w", "paths": ["/layers/0/out"], "values": [1, 2, 3, 4, 5, 6, 7, 8]}"#,
                beats,
                "testAccuracy",
            ),
            "variants",
        ),
        (made_up(two, "", "[]", "testAccuracy"), "expect"),
        (made_up(two, "", beats, "accuracy"), "metric"),
    ];
    for (i, (result, place)) in cases.into_iter().enumerate() {
        let e = result.err().unwrap_or_else(|| panic!("case {i} was accepted"));
        assert!(e.contains(place), "case {i}: {e}");
    }
}

fn result(variant: &str, k: Option<usize>, seed: u64, metric: Option<f64>) -> RunResult {
    RunResult {
        variant: variant.into(),
        sweep_index: k,
        seed,
        metric,
        diverged_at: metric.is_none().then_some(5),
        seconds: 1.0,
        eval_seconds: None,
        layers: Vec::new(),
    }
}

#[test]
fn checks_decide_on_the_mean_over_seeds_and_a_diverged_run_loses() {
    let two = r#"[{"label": "a"}, {"label": "b"}]"#;
    let exp =
        made_up(two, "", r#"[{"kind": "beats", "run": "a", "other": "b", "margin": 0.1}, {"kind": "reaches", "run": "b", "value": 0.5}]"#, "testAccuracy")
            .unwrap();
    let decide = |a: [Option<f64>; 2], b: [Option<f64>; 2]| -> Vec<bool> {
        let rs = vec![result("a", None, 1, a[0]), result("a", None, 2, a[1]), result("b", None, 1, b[0]), result("b", None, 2, b[1])];
        check(&exp, &summarise(&exp, &rs).unwrap()).iter().map(|c| c.passed).collect()
    };
    assert_eq!(decide([Some(0.85), Some(0.7)], [Some(0.6), Some(0.8)]), [false, true], "0.775 vs 0.7 is under the margin");
    assert_eq!(decide([Some(0.9), Some(0.9)], [Some(0.6), Some(0.8)]), [true, true]);
    assert_eq!(decide([Some(0.9), Some(0.9)], [Some(0.6), None]), [true, false], "a diverged seed makes b the worst");
    assert_eq!(decide([Some(0.9), None], [Some(0.1), Some(0.1)]), [false, false]);
    // A missing run is an error, not a guess.
    assert!(summarise(&exp, &[result("a", None, 1, Some(0.5))]).is_err());

    // Along a sweep, for a loss (lower is better).
    let sweep = r#"{"label": "w", "paths": ["/layers/0/out"], "values": [4, 8, 16]}"#;
    let exp = made_up(two, sweep, r#"[{"kind": "gapShrinks", "run": "a", "other": "b"}, {"kind": "improvesAlongSweep", "run": "a", "slack": 0.01}, {"kind": "reaches", "run": "a", "value": 0.3, "at": 16}, {"kind": "noBetterThan", "run": "a", "value": 0.8, "at": 4}]"#, "testLoss").unwrap();
    let decide = |a: [f64; 3], b: [f64; 3]| -> Vec<bool> {
        let mut rs = Vec::new();
        for k in 0..3 {
            for seed in [1, 2] {
                rs.push(result("a", Some(k), seed, Some(a[k])));
                rs.push(result("b", Some(k), seed, Some(b[k])));
            }
        }
        check(&exp, &summarise(&exp, &rs).unwrap()).iter().map(|c| c.passed).collect()
    };
    assert_eq!(decide([0.9, 0.5, 0.25], [0.2, 0.2, 0.2]), [true, true, true, true]);
    assert_eq!(decide([0.9, 0.905, 0.4], [0.2, 0.2, 0.2]), [true, true, false, true], "a step back within the slack");
    assert_eq!(decide([0.3, 0.5, 0.6], [0.2, 0.2, 0.2]), [false, false, false, false], "a loss of 0.3 at w = 4 is better than 0.8");
}
