//! The browser benchmark's entry point (bench/page): one reference workload
//! (../shared/bench/workloads.json) that the page times itself.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::{busy, device_for, js_error};

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
            let device = device_for(&backend).await.map_err(js_error)?;
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
        let mut r = self.runner.try_borrow_mut().map_err(|_| busy("runner"))?;
        r.step().map_err(js_error)
    }

    /// Resolves to [[kernel, dispatches, ms], ...]: one recorded step's GPU
    /// time per kernel entry point, each dispatch timed alone, slowest first.
    pub fn profile(&self) -> Promise {
        let runner = self.runner.clone();
        future_to_promise(async move {
            let r = runner.try_borrow().map_err(|_| busy("runner"))?;
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
            let r = runner.try_borrow().map_err(|_| busy("runner"))?;
            Ok(r.read().await.map_err(js_error)?.into())
        })
    }
}
