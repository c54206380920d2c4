//! The JavaScript API of nnlab. The playground's worker (www/worker.js) uses it:
//!
//! ```js
//! import init, { Session, webgpuInfo } from './pkg/nnlab_web.js';
//! await init();
//! const adapter = await webgpuInfo();            // null without WebGPU
//! const s = await Session.create(settings, 'webgpu');
//! await s.train(10);
//! const m = await s.metrics();                   // {step, trainLoss, testLoss, ...}
//! const grid = await s.grid(50);                 // Float32Array, 50 x 50
//! ```
//!
//! Every failure is a JS `Error` with a readable message; nothing here panics on
//! user input (a panic would kill the instance and the user's work).

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Float32Array, Object, Promise, Reflect};
use nnlab_core::{Device, GpuContext};
use nnlab_nn::datasets::Task;
use nnlab_nn::{Trainer, TrainerConfig};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

thread_local! {
    /// One WebGPU device per worker, opened on first use and reused by every session.
    static GPU: RefCell<Option<GpuContext>> = const { RefCell::new(None) };
}

#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

fn js_error(e: impl std::fmt::Display) -> JsValue {
    JsError::new(&e.to_string()).into()
}

async fn gpu_context() -> Result<GpuContext, nnlab_core::Error> {
    if let Some(ctx) = GPU.with(|g| g.borrow().clone()) {
        return Ok(ctx);
    }
    let ctx = GpuContext::new().await?;
    GPU.with(|g| *g.borrow_mut() = Some(ctx.clone()));
    Ok(ctx)
}

/// A description of the WebGPU adapter, or null when WebGPU is unavailable.
#[wasm_bindgen(js_name = webgpuInfo)]
pub async fn webgpu_info() -> Option<String> {
    gpu_context().await.ok().map(|ctx| ctx.info().to_string())
}

/// A model, its data and its optimizer on one backend.
#[wasm_bindgen]
pub struct Session {
    trainer: Rc<RefCell<Trainer>>,
    backend: String,
}

// The trainer stays borrowed across its own readback on purpose: a second call
// that overlaps it gets "the session is busy" instead of racing it.
#[allow(clippy::await_holding_refcell_ref)]
#[wasm_bindgen]
impl Session {
    /// Resolves to a Session for `settings` (a plain object, camelCase) on
    /// `backend` ("webgpu" or "cpu"); rejects with a readable Error.
    pub fn create(settings: JsValue, backend: String) -> Promise {
        future_to_promise(async move {
            let config: TrainerConfig = serde_wasm_bindgen::from_value(settings).map_err(|e| js_error(format!("invalid settings: {e}")))?;
            let device = match backend.as_str() {
                "cpu" => Device::Cpu,
                "webgpu" => Device::Gpu(gpu_context().await.map_err(js_error)?),
                other => return Err(js_error(format!("invalid backend: unknown backend \"{other}\" (expected webgpu or cpu)"))),
            };
            let trainer = Trainer::new(&config, device).map_err(|e| {
                if matches!(e, nnlab_core::Error::DeviceLost(_)) {
                    GPU.with(|g| g.borrow_mut().take());
                }
                js_error(e)
            })?;
            Ok(Session { trainer: Rc::new(RefCell::new(trainer)), backend }.into())
        })
    }

    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.backend.clone()
    }

    /// Runs `steps` optimizer steps. GPU work is submitted, not awaited.
    pub fn train(&self, steps: u32) -> Result<(), JsValue> {
        let mut t = self.trainer.try_borrow_mut().map_err(|_| js_error("the session is busy"))?;
        t.train(steps as usize).map_err(js_error)
    }

    /// Resolves to {step, trainLoss, testLoss, trainAccuracy, testAccuracy}.
    pub fn metrics(&self) -> Promise {
        let trainer = self.trainer.clone();
        future_to_promise(async move {
            let t = trainer.try_borrow().map_err(|_| js_error("the session is busy"))?;
            let m = t.metrics().await.map_err(js_error)?;
            m.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).map_err(js_error)
        })
    }

    /// Resolves to a Float32Array of res x res model outputs over [-1, 1]^2,
    /// row 0 at the top.
    pub fn grid(&self, res: u32) -> Promise {
        let trainer = self.trainer.clone();
        future_to_promise(async move {
            let mut t = trainer.try_borrow_mut().map_err(|_| js_error("the session is busy"))?;
            let values = t.grid(res as usize).await.map_err(js_error)?;
            Ok(Float32Array::from(values.as_slice()).into())
        })
    }

    /// Keeps a host copy of the weights and optimizer state (one readback), for
    /// `fallBackToCpu`.
    pub fn snapshot(&self) -> Promise {
        let trainer = self.trainer.clone();
        future_to_promise(async move {
            let mut t = trainer.try_borrow_mut().map_err(|_| js_error("the session is busy"))?;
            t.snapshot().await.map_err(js_error)?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// After the GPU was lost: continues on the CPU from the last snapshot (or
    /// from the initial weights). Returns the step training resumes at.
    #[wasm_bindgen(js_name = fallBackToCpu)]
    pub fn fall_back_to_cpu(&mut self) -> Result<f64, JsValue> {
        let mut t = self.trainer.try_borrow_mut().map_err(|_| js_error("the session is busy"))?;
        let step = t.fall_back_to_cpu().map_err(js_error)?;
        self.backend = "cpu".into();
        GPU.with(|g| g.borrow_mut().take());
        Ok(step as f64)
    }

    /// Destroys this session's GPU device, as a driver reset would (for testing
    /// the fallback). No effect on the CPU.
    #[wasm_bindgen(js_name = loseGpuDevice)]
    pub fn lose_gpu_device(&self) -> Result<(), JsValue> {
        let t = self.trainer.try_borrow().map_err(|_| js_error("the session is busy"))?;
        if let Device::Gpu(ctx) = t.device() {
            ctx.destroy();
        }
        Ok(())
    }

    /// {task, trainX, trainY, testX, testY}: points (x, y interleaved) and targets.
    pub fn dataset(&self) -> Result<Object, JsValue> {
        let t = self.trainer.try_borrow().map_err(|_| js_error("the session is busy"))?;
        let d = t.dataset();
        let out = Object::new();
        let task = match d.task { Task::Classification => "classification", Task::Regression => "regression" };
        Reflect::set(&out, &"task".into(), &task.into())?;
        for (key, values) in [("trainX", &d.train.x), ("trainY", &d.train.y), ("testX", &d.test.x), ("testY", &d.test.y)] {
            Reflect::set(&out, &key.into(), &Float32Array::from(values.as_slice()))?;
        }
        Ok(out)
    }
}


/// One reference workload (../shared/bench/workloads.json) for the browser
/// benchmark page, which runs the timing protocol itself.
#[wasm_bindgen(js_name = BenchRunner)]
pub struct BenchRunner {
    runner: Rc<RefCell<nnlab_bench::Runner>>,
}

#[allow(clippy::await_holding_refcell_ref)]
#[wasm_bindgen(js_class = BenchRunner)]
impl BenchRunner {
    /// Resolves to a runner for workload `id` ("mlp-spiral", ..., "matmul-1024")
    /// on `backend` ("webgpu" or "cpu"), its data already uploaded.
    pub fn create(id: String, backend: String) -> Promise {
        future_to_promise(async move {
            let device = match backend.as_str() {
                "cpu" => Device::Cpu,
                "webgpu" => Device::Gpu(gpu_context().await.map_err(js_error)?),
                other => return Err(js_error(format!("invalid backend: unknown backend \"{other}\" (expected webgpu or cpu)"))),
            };
            let runner = nnlab_bench::Runner::new(&id, &device).map_err(js_error)?;
            Ok(BenchRunner { runner: Rc::new(RefCell::new(runner)) }.into())
        })
    }

    /// The sum of every input value (the page checks TF.js got the same data).
    pub fn checksum(&self) -> f64 {
        self.runner.borrow().checksum()
    }

    /// Queues and submits one step without waiting for it.
    pub fn step(&self) -> Result<(), JsValue> {
        let mut r = self.runner.try_borrow_mut().map_err(|_| js_error("the runner is busy"))?;
        r.step().map_err(js_error)
    }

    /// Resolves to [[kernel, dispatches, ms], ...]: one recorded step's GPU
    /// time per kernel entry point, each dispatch timed alone, slowest first.
    pub fn profile(&self) -> Promise {
        let runner = self.runner.clone();
        future_to_promise(async move {
            let r = runner.try_borrow().map_err(|_| js_error("the runner is busy"))?;
            let performance = Reflect::get(&js_sys::global(), &"performance".into())?;
            let now_fn: js_sys::Function = Reflect::get(&performance, &"now".into())?.into();
            let now = || now_fn.call0(&performance).ok().and_then(|v| v.as_f64()).unwrap_or(0.0);
            let rows = r.profile(&now).await.map_err(js_error)?;
            let out = js_sys::Array::new();
            for (name, count, ms) in rows {
                out.push(&js_sys::Array::of3(&name.into(), &(count as f64).into(), &ms.into()));
            }
            Ok(out.into())
        })
    }

    /// Resolves to the last step's loss (a matmul's output sum) once it is on the host.
    pub fn read(&self) -> Promise {
        let runner = self.runner.clone();
        future_to_promise(async move {
            let r = runner.try_borrow().map_err(|_| js_error("the runner is busy"))?;
            Ok(r.read().await.map_err(js_error)?.into())
        })
    }
}
