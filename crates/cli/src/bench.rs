//! The shared timing protocol: warm-up with synchronous steps (at least 5
//! steps and 500 ms), N = clamp(ceil(1500 ms / t), 5, 2000) from the median of
//! the last three warm-up steps, then three repeats of a synchronous run (every
//! step reads its loss back) and an asynchronous run (only the last loss is
//! read). Median ms/step per mode; matmuls also report GFLOPS. The browser
//! harness (bench/page/protocol.js) implements the same protocol in JS.

use std::time::Instant;

use nnlab_bench::{LARGE_MATMULS, MATMULS, Runner, training_workloads};
use nnlab_core::{Device, GpuContext, Result};
use serde::Serialize;

#[derive(Debug, Serialize)]
struct Row {
    backend: String,
    workload: String,
    group: String,
    steps: usize,
    first_step_ms: f64,
    sync_ms: f64,
    async_ms: f64,
    gflops_sync: Option<f64>,
    gflops_async: Option<f64>,
    /// Matmuls on a GPU: products queued BURST at a time in one submission,
    /// so per-submission overhead (tens of microseconds natively) drops out.
    gflops_burst: Option<f64>,
    /// Host time of one `step` call (median over the async runs).
    host_ms: f64,
    /// Of that, writing inputs and encoding a plan replay (before `queue.submit`).
    encode_ms: Option<f64>,
    /// "cpu", "plan (N dispatches)" or "eager (why)".
    mode: String,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs one workload under the protocol: (N, first step ms, sync ms/step,
/// async ms/step, host ms/step).
fn protocol(runner: &mut Runner, min_steps: usize, warmup_steps: usize) -> Result<(usize, f64, f64, f64, f64)> {
    // Host time spent inside `Runner::step` (encoding and submission, no waits).
    let host = std::cell::Cell::new(0.0);
    let mut step = |read: bool| -> Result<()> {
        let t = Instant::now();
        runner.step()?;
        host.set(host.get() + t.elapsed().as_secs_f64() * 1e3);
        if read {
            pollster::block_on(runner.read())?;
        }
        Ok(())
    };
    let t0 = Instant::now();
    step(true)?;
    let first = t0.elapsed().as_secs_f64() * 1e3;
    let (mut times, start) = (Vec::new(), Instant::now());
    while times.len() < warmup_steps || start.elapsed().as_millis() < 500 {
        let t = Instant::now();
        step(true)?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let t = median(times[times.len().saturating_sub(3)..].to_vec()).max(1e-3);
    let n = ((1500.0 / t).ceil() as usize).clamp(min_steps, 2000);
    let (mut sync, mut asynchronous, mut hosts) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..3 {
        let t = Instant::now();
        for _ in 0..n {
            step(true)?;
        }
        sync.push(t.elapsed().as_secs_f64() * 1e3 / n as f64);
        host.set(0.0);
        let t = Instant::now();
        for k in 0..n {
            step(k + 1 == n)?;
        }
        asynchronous.push(t.elapsed().as_secs_f64() * 1e3 / n as f64);
        hosts.push(host.get() / n as f64);
    }
    Ok((n, first, median(sync), median(asynchronous), median(hosts)))
}

fn measure(id: &str, group: &str, n: Option<usize>, device: &Device, backend: &str) -> Result<Row> {
    let mut runner = Runner::new(id, device)?;
    let encoded = |d: &Device| {
        if let Device::Gpu(ctx) = d { ctx.encode_time().as_secs_f64() * 1e3 } else { 0.0 }
    };
    let before = (encoded(device), runner.replays());
    let (steps, first, sync_ms, async_ms, host_ms) = protocol(&mut runner, 5, 5)?;
    let replays = runner.replays() - before.1;
    let encode_ms = (replays > 0).then(|| (encoded(device) - before.0) / replays as f64);
    let gflops = |ms: f64| n.map(|n| 2.0 * (n as f64).powi(3) / (ms / 1e3) / 1e9);
    let burst_ms = match (n, device) {
        (Some(_), Device::Gpu(_)) => Some(burst(&mut runner, async_ms)?),
        _ => None,
    };
    Ok(Row {
        backend: backend.into(),
        workload: id.into(),
        group: group.into(),
        steps,
        first_step_ms: first,
        sync_ms,
        async_ms,
        gflops_sync: gflops(sync_ms),
        gflops_async: gflops(async_ms),
        gflops_burst: burst_ms.and_then(gflops),
        host_ms,
        encode_ms,
        mode: runner.mode(),
    })
}

/// Products per submission in a burst.
const BURST: usize = 20;

/// Median ms per product over bursts of BURST products, as many bursts as fit
/// in about 1.5 s (at least 3) by the async time per product.
fn burst(runner: &mut Runner, async_ms: f64) -> Result<f64> {
    let bursts = ((1500.0 / (async_ms * BURST as f64)).ceil() as usize).clamp(3, 50);
    runner.burst(BURST)?;
    pollster::block_on(runner.read_first())?;
    let mut times = Vec::new();
    for _ in 0..bursts {
        let t = Instant::now();
        runner.burst(BURST)?;
        pollster::block_on(runner.read_first())?;
        times.push(t.elapsed().as_secs_f64() * 1e3 / BURST as f64);
    }
    Ok(median(times))
}

/// `--profile`: GPU time per kernel entry point of one recorded training step
/// (each dispatch timed alone) for each workload, through wgpu.
fn profile_kernels(ids: &[&str]) -> std::result::Result<(), String> {
    let ctx = pollster::block_on(GpuContext::new()).map_err(|e| format!("wgpu: {e}"))?;
    let device = Device::Gpu(ctx.clone());
    let start = Instant::now();
    let now = || start.elapsed().as_secs_f64() * 1e3;
    for id in ids {
        let mut runner = Runner::new(id, &device).map_err(|e| e.to_string())?;
        for _ in 0..3 {
            runner.step().map_err(|e| e.to_string())?;
            pollster::block_on(runner.read()).map_err(|e| e.to_string())?;
        }
        let rows = pollster::block_on(runner.profile(&now)).map_err(|e| e.to_string())?;
        println!("\n{id} on {}, each dispatch timed alone: {:.1} ms", ctx.info(), rows.iter().map(|r| r.2).sum::<f64>());
        for (name, count, ms) in rows {
            println!("  {name:24} {count:5} x  {ms:8.1} ms");
        }
    }
    Ok(())
}

pub fn run(args: &[String]) -> std::result::Result<(), String> {
    let (mut backends, mut only, mut json) = (vec!["cpu".to_string(), "wgpu".to_string()], None::<Vec<String>>, None::<String>);
    let (mut profile, mut large) = (false, false);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--backend" => match it.next().map(String::as_str) {
                Some("all") => {}
                Some(b @ ("cpu" | "wgpu")) => backends = vec![b.to_string()],
                other => return Err(format!("--backend takes cpu, wgpu or all, got {other:?}")),
            },
            "--only" => only = Some(it.next().ok_or("--only needs a list such as W1,W5")?.split(',').map(str::to_string).collect()),
            "--json" => json = Some(it.next().ok_or("--json needs a path")?.clone()),
            "--profile" => profile = true,
            "--large" => large = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let wanted = |g: &str| only.as_ref().is_none_or(|o| o.iter().any(|x| x == g));
    if profile {
        return profile_kernels(&training_workloads().iter().filter(|w| wanted(w.group)).map(|w| w.id).collect::<Vec<_>>());
    }
    let mut jobs: Vec<(&str, &str, Option<usize>)> = training_workloads().iter().map(|w| (w.id, w.group, None)).collect();
    jobs.extend(MATMULS.iter().map(|&(id, n, _)| (id, "W5", Some(n))));
    if large {
        jobs.extend(LARGE_MATMULS.iter().map(|&(id, n, _)| (id, "W5", Some(n))));
    }
    let mut rows = Vec::new();
    for backend in &backends {
        let device = if backend == "cpu" {
            Device::Cpu
        } else {
            let ctx = pollster::block_on(GpuContext::new()).map_err(|e| format!("wgpu: {e}"))?;
            eprintln!("wgpu adapter: {}", ctx.info());
            Device::Gpu(ctx)
        };
        for &(id, group, n) in jobs.iter().filter(|j| wanted(j.1)) {
            eprintln!("{backend} {id} ...");
            rows.push(measure(id, group, n, &device, backend).map_err(|e| format!("{id} on {backend}: {e}"))?);
        }
    }
    println!(
        "| backend | workload | steps | first step ms | sync ms/step (steps/s) | async ms/step (steps/s) | host ms/step | encode ms/step | GFLOPS sync / async (/ burst) | mode |"
    );
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
    for r in &rows {
        let gf = match (r.gflops_sync, r.gflops_async, r.gflops_burst) {
            (Some(s), Some(a), Some(b)) => format!("{s:.2} / {a:.2} / {b:.2}"),
            (Some(s), Some(a), None) => format!("{s:.2} / {a:.2}"),
            _ => "".into(),
        };
        println!(
            "| {} | {} {} | {} | {:.1} | {:.3} ({:.0}) | {:.3} ({:.0}) | {:.3} | {} | {gf} | {} |",
            r.backend,
            r.group,
            r.workload,
            r.steps,
            r.first_step_ms,
            r.sync_ms,
            1e3 / r.sync_ms,
            r.async_ms,
            1e3 / r.async_ms,
            r.host_ms,
            r.encode_ms.map_or(String::new(), |e| format!("{e:.3}")),
            r.mode
        );
    }
    if let Some(path) = json {
        if let Some(dir) = std::path::Path::new(&path).parent() {
            std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        }
        std::fs::write(&path, serde_json::to_string_pretty(&rows).map_err(|e| e.to_string())?).map_err(|e| format!("{path}: {e}"))?;
        eprintln!("wrote {path}");
    }
    Ok(())
}
