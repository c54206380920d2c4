//! The shared timing protocol: warm-up with synchronous steps (at least 5
//! steps and 500 ms), N = clamp(ceil(1500 ms / t), 5, 2000) from the median of
//! the last three warm-up steps, then three repeats of a synchronous run (every
//! step reads its loss back) and an asynchronous run (only the last loss is
//! read). Median ms/step per mode; matmuls also report GFLOPS.

use std::time::Instant;

use nnlab_core::{Device, GpuContext, Result, Tensor};
use nnlab_nn::{Module, Optimizer, OptimizerConfig};
use serde::Serialize;

use crate::workloads::{training_workloads, Mulberry32, Workload, MATMULS};

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
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs `step(i, read)` under the protocol; `read` says whether the step must
/// wait for its result on the host.
fn protocol(min_steps: usize, warmup_steps: usize, mut step: impl FnMut(usize, bool) -> Result<()>) -> Result<(usize, f64, f64, f64)> {
    let t0 = Instant::now();
    step(0, true)?;
    let first = t0.elapsed().as_secs_f64() * 1e3;
    let (mut times, start, mut i) = (Vec::new(), Instant::now(), 1);
    while i <= warmup_steps || start.elapsed().as_millis() < 500 {
        let t = Instant::now();
        step(i, true)?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
        i += 1;
    }
    let t = median(times[times.len().saturating_sub(3)..].to_vec()).max(1e-3);
    let n = ((1500.0 / t).ceil() as usize).clamp(min_steps, 2000);
    let (mut sync, mut asynchronous) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        let t = Instant::now();
        for k in 0..n {
            step(i + k, true)?;
        }
        sync.push(t.elapsed().as_secs_f64() * 1e3 / n as f64);
        let t = Instant::now();
        for k in 0..n {
            step(i + k, k + 1 == n)?;
        }
        asynchronous.push(t.elapsed().as_secs_f64() * 1e3 / n as f64);
        i += n;
    }
    Ok((n, first, median(sync), median(asynchronous)))
}

fn train(w: &Workload, device: &Device, backend: &str) -> Result<Row> {
    let model = w.model(device)?;
    let params = model.parameters().into_iter().map(|(_, p)| p).collect();
    let mut opt = Optimizer::new(OptimizerConfig::Adam { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-7, weight_decay: 0.0 }, params)?;
    // Data is uploaded once, before timing; steps cycle through the batches.
    let shape: Vec<usize> = std::iter::once(w.batch).chain(w.input.iter().copied()).collect();
    let batches = w
        .batches()
        .into_iter()
        .map(|b| Ok((Tensor::from_vec(b.x, &shape, device)?, Tensor::from_vec(b.y, &[w.batch], device)?)))
        .collect::<Result<Vec<_>>>()?;
    let (steps, first, sync_ms, async_ms) = protocol(5, 5, |i, read| {
        let (x, y) = &batches[i % batches.len()];
        let loss = model.forward(x)?.cross_entropy(y)?;
        let grads = loss.backward()?;
        opt.step(&grads)?;
        if read {
            pollster::block_on(loss.to_scalar())?;
        } else {
            device.flush();
        }
        Ok(())
    })?;
    Ok(Row { backend: backend.into(), workload: w.id.into(), group: w.group.into(), steps, first_step_ms: first, sync_ms, async_ms, gflops_sync: None, gflops_async: None })
}

fn matmul(id: &str, n: usize, seed: u32, device: &Device, backend: &str) -> Result<Row> {
    let mut rng = Mulberry32::new(seed);
    let mut draw = || (0..n * n).map(|_| (2.0 * rng.uniform() - 1.0) as f32).collect::<Vec<f32>>();
    let (a, b) = (Tensor::from_vec(draw(), &[n, n], device)?, Tensor::from_vec(draw(), &[n, n], device)?);
    let (steps, first, sync_ms, async_ms) = protocol(3, 3, |_, read| {
        let c = a.matmul(&b)?;
        if read {
            pollster::block_on(c.to_vec())?;
        } else {
            device.flush();
        }
        Ok(())
    })?;
    let gflops = |ms: f64| 2.0 * (n as f64).powi(3) / (ms / 1e3) / 1e9;
    Ok(Row { backend: backend.into(), workload: id.into(), group: "W5".into(), steps, first_step_ms: first, sync_ms, async_ms, gflops_sync: Some(gflops(sync_ms)), gflops_async: Some(gflops(async_ms)) })
}

pub fn run(args: &[String]) -> std::result::Result<(), String> {
    let (mut backends, mut only, mut json) = (vec!["cpu".to_string(), "wgpu".to_string()], None::<Vec<String>>, None::<String>);
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
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let wanted = |g: &str| only.as_ref().is_none_or(|o| o.iter().any(|x| x == g));
    let mut rows = Vec::new();
    for backend in &backends {
        let device = if backend == "cpu" {
            Device::Cpu
        } else {
            let ctx = pollster::block_on(GpuContext::new()).map_err(|e| format!("wgpu: {e}"))?;
            eprintln!("wgpu adapter: {}", ctx.info());
            Device::Gpu(ctx)
        };
        for w in training_workloads().iter().filter(|w| wanted(w.group)) {
            eprintln!("{backend} {} ...", w.id);
            rows.push(train(w, &device, backend).map_err(|e| format!("{} on {backend}: {e}", w.id))?);
        }
        if wanted("W5") {
            for (id, n, seed) in MATMULS {
                eprintln!("{backend} {id} ...");
                rows.push(matmul(id, n, seed, &device, backend).map_err(|e| format!("{id} on {backend}: {e}"))?);
            }
        }
    }
    println!("| backend | workload | steps | first step ms | sync ms/step (steps/s) | async ms/step (steps/s) | GFLOPS sync / async |");
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: |");
    for r in &rows {
        let gf = match (r.gflops_sync, r.gflops_async) {
            (Some(s), Some(a)) => format!("{s:.2} / {a:.2}"),
            _ => "".into(),
        };
        println!("| {} | {} {} | {} | {:.1} | {:.3} ({:.0}) | {:.3} ({:.0}) | {gf} |", r.backend, r.group, r.workload, r.steps, r.first_step_ms, r.sync_ms, 1e3 / r.sync_ms, r.async_ms, 1e3 / r.async_ms);
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
