//! `nnlab experiment run CARD.json`: trains every run of an experiment card
//! (models/experiments/) and prints the final metric per variant and sweep
//! value, then the card's checks; fails when a check does not hold.

use std::path::Path;

use nnlab_core::{Device, GpuContext};
use nnlab_nn::experiment::{Experiment, Summary, check, run_native, show_number, summarise};
use serde_json::json;

use crate::args::{Args, read, write};

const USAGE: &str = "usage: nnlab experiment run CARD.json... [--backend cpu|wgpu] [--json OUT.json]";

pub fn run(args: &[String]) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("run") => run_cards(&args[1..]),
        _ => Err(USAGE.into()),
    }
}

fn run_cards(args: &[String]) -> Result<(), String> {
    let a = Args::parse(args, &[]);
    a.check(&["backend", "json"], USAGE)?;
    if a.positional.is_empty() {
        return Err(USAGE.into());
    }
    let device = match a.get("backend").unwrap_or("cpu") {
        "cpu" => Device::Cpu,
        "wgpu" => Device::Gpu(pollster::block_on(GpuContext::new()).map_err(|e| format!("wgpu: {e}"))?),
        other => return Err(format!("--backend takes cpu or wgpu, got {other}")),
    };
    let (mut failed, mut reports) = (Vec::new(), Vec::new());
    for path in &a.positional {
        let text = String::from_utf8_lossy(&read(Path::new(path))?).into_owned();
        let exp = Experiment::parse(&text).map_err(|e| format!("{path}: {e}"))?;
        println!("{}\n  claim: {}\n  ({})", exp.title, exp.claim, exp.citation);
        let results = pollster::block_on(run_native(&exp, device.clone(), |run, r| {
            let value = r.metric.map_or_else(|| format!("diverged after step {}", r.diverged_at.unwrap_or(0)), show_number);
            let eval = r.eval_seconds.map_or_else(String::new, |e| format!("  (final evaluation {:.1} ms)", e * 1000.0));
            eprintln!("  {:<48} {value:>10}  {:6.1} s{eval}", run.label, r.seconds);
        }))
        .map_err(|e| format!("{path}: {e}"))?;
        let summary = summarise(&exp, &results).map_err(|e| format!("{path}: {e}"))?;
        print_table(&summary);
        let checks = check(&exp, &summary);
        for c in &checks {
            println!("  {} {} ({})", if c.passed { "PASS" } else { "FAIL" }, c.text, c.measured);
            if !c.passed {
                failed.push(format!("{}: {}", exp.name, c.text));
            }
        }
        println!();
        reports.push(json!({"name": exp.name, "summary": summary, "checks": checks, "runs": results}));
    }
    if let Some(out) = a.get("json") {
        write(Path::new(out), serde_json::to_string_pretty(&reports).map_err(|e| e.to_string())?.as_bytes())?;
    }
    if failed.is_empty() { Ok(()) } else { Err(format!("checks that do not hold:\n  {}", failed.join("\n  "))) }
}

/// Variants down, sweep values across: the mean final metric over the seeds
/// (lowest-highest when there are several).
fn print_table(s: &Summary) {
    let width = 18;
    let (corner, head) = match &s.sweep_label {
        Some(label) => (format!("{} by {label}:", s.metric.name()), s.sweep_values.clone()),
        None => (String::new(), vec![s.metric.name().to_string()]),
    };
    println!("  {corner:<32}{}", head.iter().map(|h| format!("{h:>width$}")).collect::<String>());
    for (v, name) in s.variants.iter().enumerate() {
        let row = &s.cells[v * s.sweep_values.len()..(v + 1) * s.sweep_values.len()];
        let cells: String = row
            .iter()
            .map(|c| {
                let text = match (c.mean, c.min, c.max) {
                    (Some(m), Some(lo), Some(hi)) if c.runs > 1 && m.abs() >= 1e-3 => format!("{m:.3} ({lo:.2}-{hi:.2})"),
                    (Some(m), _, _) => show_number(m),
                    _ => format!("{}/{} diverged", c.diverged, c.runs),
                };
                format!("{text:>width$}")
            })
            .collect();
        println!("  {name:<32}{cells}");
    }
}
