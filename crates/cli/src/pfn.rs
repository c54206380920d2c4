//! `nnlab pfn train|predict|eval`: trains a PFN spec (models/pfn-*.json) on
//! the CPU with checkpoints to resume from, predicts for datasets in a JSON
//! file, and scores a model on held-out prior datasets against the exact
//! references.

use std::path::{Path, PathBuf};
use std::time::Instant;

use nnlab_core::Device;
use nnlab_nn::pfn::classify::{Baseline, ENSEMBLE, baseline, table_split};
use nnlab_nn::pfn::eval::{HeldOut, evaluate};
use nnlab_nn::pfn::{Pfn, PfnSpec, PfnTrainer, PredictRequest};
use serde_json::json;

use crate::args::{Args, read, write};

const USAGE: &str = "usage: nnlab pfn train SPEC.json [--resume] [--minutes M] [--steps N] [--checkpoint PATH] [--out PATH] [--every N]
       nnlab pfn predict --model NAME|PATH --input IN.json --output OUT.json
       nnlab pfn eval --model NAME|PATH [--datasets 500] [--queries 20] [--seed S] [--json PATH]
       nnlab pfn classify --model NAME|PATH TABLE.csv... [--label class] [--train 0.5] [--splits 10] [--views 8]";

pub fn run(args: &[String]) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("train") => train(&args[1..]),
        Some("predict") => predict(&args[1..]),
        Some("eval") => eval(&args[1..]),
        Some("classify") => classify(&args[1..]),
        _ => Err(USAGE.into()),
    }
}

/// A model name (models/NAME.safetensors) or a path.
fn model_path(name: &str) -> PathBuf {
    let p = PathBuf::from(name);
    if p.extension().is_some() || p.components().count() > 1 { p } else { PathBuf::from("models").join(format!("{name}.safetensors")) }
}

fn load(name: &str) -> Result<Pfn, String> {
    let path = model_path(name);
    let (pfn, _, _) = Pfn::from_safetensors(&read(&path)?, &Device::Cpu).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(pfn)
}

fn train(args: &[String]) -> Result<(), String> {
    let a = Args::parse(args, &["resume"]);
    a.check(&["resume", "minutes", "steps", "checkpoint", "out", "every"], USAGE)?;
    let [spec_path] = a.positional.as_slice() else { return Err(USAGE.into()) };
    let spec = PfnSpec::parse(&String::from_utf8_lossy(&read(Path::new(spec_path))?)).map_err(|e| format!("{spec_path}: {e}"))?;
    let checkpoint = a.get("checkpoint").map_or_else(|| PathBuf::from(format!("target/pfn/{}.checkpoint.safetensors", spec.name)), PathBuf::from);
    let out = a.get("out").map_or_else(|| model_path(&spec.name), PathBuf::from);
    let minutes: Option<f64> = a.number("minutes")?;
    let every: u32 = a.number("every")?.unwrap_or(100);
    let device = Device::Cpu;
    let mut trainer = if a.flag("resume") && checkpoint.exists() {
        let t = PfnTrainer::resume(&read(&checkpoint)?, &device).map_err(|e| format!("{}: {e}", checkpoint.display()))?;
        if t.spec() != &spec {
            return Err(format!("{} was trained from a different spec than {spec_path}; start afresh without --resume", checkpoint.display()));
        }
        println!("resumed {} at step {}", checkpoint.display(), t.step);
        t
    } else {
        PfnTrainer::new(spec.clone(), &device).map_err(|e| e.to_string())?
    };
    let last = a.number::<u32>("steps")?.map_or(spec.training.steps, |s| (trainer.step + s).min(spec.training.steps));
    let start = Instant::now();
    let (mut sum, mut count, mut saved_at) = (0.0, 0u32, Instant::now());
    let save = |t: &PfnTrainer| -> Result<(), String> {
        let bytes = pollster::block_on(t.checkpoint()).map_err(|e| e.to_string())?;
        write(&checkpoint, &bytes)
    };
    while trainer.step < last && minutes.is_none_or(|m| start.elapsed().as_secs_f64() < m * 60.0) {
        let r = pollster::block_on(trainer.train_step()).map_err(|e| e.to_string())?;
        sum += r.nll;
        count += 1;
        if trainer.step.is_multiple_of(every) || trainer.step == last {
            println!("step {:>6}  nll {:>8.4}  lr {:.2e}  {:>7.1} s", trainer.step, sum / count as f64, r.lr, start.elapsed().as_secs_f64());
            (sum, count) = (0.0, 0);
        }
        if saved_at.elapsed().as_secs() >= 300 {
            save(&trainer)?;
            saved_at = Instant::now();
        }
    }
    save(&trainer)?;
    write(&out, &pollster::block_on(trainer.model_file()).map_err(|e| e.to_string())?)?;
    println!(
        "{} steps of {} in {:.1} s; checkpoint {}, model {}",
        trainer.step,
        spec.training.steps,
        start.elapsed().as_secs_f64(),
        checkpoint.display(),
        out.display()
    );
    Ok(())
}

fn predict(args: &[String]) -> Result<(), String> {
    let a = Args::parse(args, &[]);
    a.check(&["model", "input", "output"], USAGE)?;
    let (Some(model), Some(input), Some(output)) = (a.get("model"), a.get("input"), a.get("output")) else { return Err(USAGE.into()) };
    let pfn = load(model)?;
    let request: PredictRequest = serde_json::from_slice(&read(Path::new(input))?).map_err(|e| format!("{input}: {e}"))?;
    let predictions = pollster::block_on(pfn.predict(&request)).map_err(|e| format!("{input}: {e}"))?;
    let datasets: Vec<_> = predictions.iter().map(|p| json!({ "probs": p.probs })).collect();
    let body = match &pfn.bar {
        Some(bar) => json!({ "type": "bar", "tails": "halfnormal-pfn", "borders": bar.borders(), "datasets": datasets }),
        None => json!({ "type": "classes", "datasets": datasets }),
    };
    write(Path::new(output), serde_json::to_string(&body).map_err(|e| e.to_string())?.as_bytes())
}

fn eval(args: &[String]) -> Result<(), String> {
    let a = Args::parse(args, &[]);
    a.check(&["model", "datasets", "queries", "seed", "json"], USAGE)?;
    let model = a.get("model").ok_or(USAGE)?;
    let pfn = load(model)?;
    let d = HeldOut::default();
    let held_out = HeldOut {
        datasets: a.number("datasets")?.unwrap_or(d.datasets),
        queries: a.number("queries")?.unwrap_or(d.queries),
        seed: a.number("seed")?.unwrap_or(d.seed),
    };
    let start = Instant::now();
    let report = pollster::block_on(evaluate(&pfn, held_out)).map_err(|e| e.to_string())?;
    println!(
        "{}: {} held-out datasets, {} queries each, seed {} ({:.1} s)",
        pfn.spec.name,
        held_out.datasets,
        held_out.queries,
        held_out.seed,
        start.elapsed().as_secs_f64()
    );
    println!("{:<8} {:>7} {:>9} {:>9} {:>8} {:>7} {:>7} {:>7} {:>7}", "context", "queries", "pfn nll", "exact", "gap", "pfn50", "pfn90", "gp50", "gp90");
    let fmt = |v: Option<f64>, p: usize| v.map_or("-".to_string(), |v| format!("{v:.p$}"));
    let rows = report.bins.iter().map(|(b, s)| (format!("{}-{}", b[0], b[1]), s)).chain(std::iter::once(("all".to_string(), &report.all)));
    for (name, s) in rows {
        println!(
            "{name:<8} {:>7} {:>9.4} {:>9} {:>8} {:>7.3} {:>7.3} {:>7} {:>7}",
            s.queries,
            s.pfn_nll,
            fmt(s.exact_nll, 4),
            fmt(s.gap(), 4),
            s.pfn_coverage50,
            s.pfn_coverage90,
            fmt(s.exact_coverage50, 3),
            fmt(s.exact_coverage90, 3)
        );
    }
    if let Some(path) = a.get("json") {
        write(Path::new(path), serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?.as_bytes())?;
    }
    Ok(())
}

/// Test accuracy of the PFN and the two baselines on each table, averaged
/// over `--splits` random train/test splits.
fn classify(args: &[String]) -> Result<(), String> {
    let a = Args::parse(args, &[]);
    a.check(&["model", "label", "train", "splits", "views"], USAGE)?;
    let pfn = load(a.get("model").ok_or(USAGE)?)?;
    let label = a.get("label").unwrap_or("class");
    let ratio: f32 = a.number("train")?.unwrap_or(0.5);
    let splits: u64 = a.number("splits")?.unwrap_or(10);
    let views: usize = a.number("views")?.unwrap_or(ENSEMBLE);
    println!(
        "{:<20} {:>6} {:>9} {:>9} {:>9}   (mean test accuracy over {splits} splits, {:.0}% training rows)",
        "table",
        "rows",
        "pfn",
        "logistic",
        "mlp",
        ratio * 100.0
    );
    for path in &a.positional {
        let csv = String::from_utf8_lossy(&read(Path::new(path))?).into_owned();
        let mut sums = [0.0; 3];
        let mut rows = 0;
        for seed in 0..splits {
            let t = table_split(&csv, label, ratio, seed).map_err(|e| format!("{path}: {e}"))?;
            rows = t.train_y.len() + t.test_y.len();
            let predictions = [
                pollster::block_on(pfn.classify(&t, views)),
                pollster::block_on(baseline(&t, Baseline::Logistic)),
                pollster::block_on(baseline(&t, Baseline::Mlp)),
            ];
            for (sum, p) in sums.iter_mut().zip(predictions) {
                *sum += t.accuracy(&p.map_err(|e| format!("{path}: {e}"))?);
            }
        }
        let name = Path::new(path).file_stem().map_or(path.clone(), |s| s.to_string_lossy().into_owned());
        println!("{name:<20} {rows:>6} {:>9.4} {:>9.4} {:>9.4}", sums[0] / splits as f64, sums[1] / splits as f64, sums[2] / splits as f64);
    }
    Ok(())
}
