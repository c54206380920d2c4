//! A training step recorded once on the GPU and replayed: forward, backward
//! and optimizer update as one command buffer with one submit, no new buffers
//! and no new bind groups (DESIGN.md principle 5). Eager execution stays the
//! default; trainers switch to a plan after the first step of a given batch
//! shape and fall back to eager steps whenever a plan cannot serve.
//!
//! The recorded step reads the model's state (parameters, running statistics,
//! optimizer moments) from the buffers it had before the step and writes new
//! buffers. A replay first copies the model's current state (whatever holds
//! it: the last replay's outputs, an eager step's, loaded weights) into the
//! buffers the step reads, runs, and hands the model the step's outputs. So
//! the model's tensors always hold the latest values, can be read (metrics, a
//! decision-boundary grid) or replaced between replays, and several plans
//! (one per batch shape) can take turns. Where the plan runs the optimizer's
//! updates as one dispatch over arenas, the state it writes is handed out as
//! views of the arenas' slots, and the next replay copies it back in one
//! copy per arena.

use nnlab_core::{Device, Error, GpuBuffer, GradStore, Plan, Result, Tensor};

use crate::{Module, Optimizer};

/// Where a replayed step's input comes from.
pub enum StepInput<'a> {
    /// Host values, written into the input buffer.
    Host(&'a [f32]),
    /// A device tensor of the recorded shape (a contiguous slice of a larger
    /// upload is fine), copied on the device.
    Device(&'a Tensor),
}

/// Computes a step's loss from the model and the step's inputs.
pub type LossFn<'a> = dyn Fn(&dyn Module, &[&Tensor]) -> Result<Tensor> + 'a;

/// Acts on a step's gradients between the backward pass and the update,
/// with device ops only: it is recorded and replayed with the rest of the
/// step. It may return a scale for the update to apply to every gradient
/// (`Optimizer::step_scaled`), as clipping by norm does.
pub type GradFn<'a> = dyn Fn(&mut GradStore) -> Result<Option<Tensor>> + 'a;

pub struct StepPlan {
    plan: Plan,
    /// The buffers the recorded step reads its inputs from.
    inputs: Vec<GpuBuffer>,
    input_shapes: Vec<Vec<usize>>,
    step_scalars: Option<GpuBuffer>,
    /// The buffers the step reads the state from, in the order `state` lists it.
    reads: Vec<GpuBuffer>,
    /// The state tensors the step writes, in the same order.
    writes: Vec<Tensor>,
    lr: f32,
    loss: Tensor,
}

/// The model's and the optimizer's state, in a stable order.
fn state(model: &dyn Module, opt: &Optimizer) -> Vec<Tensor> {
    opt.state_tensors().into_iter().chain(model.buffers().into_iter().map(|(_, b)| b.get())).collect()
}

fn set_state(model: &dyn Module, opt: &mut Optimizer, tensors: &[Tensor]) {
    let n = opt.state_tensors().len();
    opt.set_state_tensors(&tensors[..n]);
    for ((_, b), t) in model.buffers().into_iter().zip(&tensors[n..]) {
        b.set(t.clone());
    }
}

fn dense(t: &Tensor, what: &str) -> Result<GpuBuffer> {
    t.gpu_buffer().cloned().ok_or_else(|| Error::NotReplayable(format!("the {what} is not a whole GPU buffer")))
}

impl StepPlan {
    /// Runs one training step eagerly while recording it; `loss_fn(model, inputs)`
    /// computes the loss. The inputs must be whole GPU buffers that nothing
    /// else uses (the plan writes them on every replay). Returns the step's
    /// loss and the plan, or the reason the step cannot be replayed (it then
    /// ran eagerly all the same).
    pub fn record(model: &dyn Module, opt: &mut Optimizer, inputs: &[&Tensor], loss_fn: &LossFn) -> Result<(Tensor, std::result::Result<StepPlan, Error>)> {
        Self::record_with(model, opt, inputs, loss_fn, &|_| Ok(None))
    }

    /// `record` with `between` applied to the gradients before the update.
    /// It must not read anything back to the host or draw random numbers
    /// (a replay repeats its device work, not its host decisions).
    pub fn record_with(
        model: &dyn Module,
        opt: &mut Optimizer,
        inputs: &[&Tensor],
        loss_fn: &LossFn,
        between: &GradFn,
    ) -> Result<(Tensor, std::result::Result<StepPlan, Error>)> {
        let Device::Gpu(ctx) = inputs.first().map(|t| t.device()).unwrap_or(Device::Cpu) else {
            return Err(Error::NotReplayable("plans are recorded on the GPU only".into()));
        };
        let input_buffers = inputs.iter().map(|t| dense(t, "input")).collect::<Result<Vec<_>>>()?;
        // State another plan left in slots of its arenas gets buffers of its
        // own first: a recording reads and writes whole buffers.
        let current = state(model, opt);
        let in_slot = |t: &Tensor| t.gpu_slice().is_some() && t.gpu_buffer().is_none();
        if current.iter().any(in_slot) {
            let whole = current.iter().map(|t| if in_slot(t) { t.copy() } else { Ok(t.clone()) }).collect::<Result<Vec<_>>>()?;
            set_state(model, opt, &whole);
        }
        let before = state(model, opt);
        ctx.begin_recording()?;
        let ran = (|| -> Result<Tensor> {
            let loss = loss_fn(model, inputs)?;
            let mut grads = loss.backward()?;
            let scale = between(&mut grads)?;
            opt.step_scaled(&grads, scale.as_ref())?;
            Ok(loss.detach())
        })();
        // The recording must end even when the step failed.
        let plan = ctx.end_recording();
        let loss = ran?;
        let after = state(model, opt);
        let plan = plan.map_err(Error::from).and_then(|plan| {
            if after.len() != before.len() {
                return Err(Error::NotReplayable("the step changed the number of state tensors".into()));
            }
            let mut reads = Vec::with_capacity(before.len());
            for (a, b) in after.iter().zip(&before) {
                let (ab, bb) = (dense(a, "state")?, dense(b, "state")?);
                // State the step leaves alone (a frozen parameter) needs no feeding.
                if !(ab.same_buffer(&bb) || plan.uses(&ab) && plan.uses(&bb)) {
                    return Err(Error::NotReplayable("the step replaced state it does not compute on the GPU".into()));
                }
                reads.push(bb);
            }
            // State the plan moved into an arena is read from its slot there.
            let writes = after
                .iter()
                .map(|t| match plan.relocated(&dense(t, "state")?) {
                    Some((arena, offset)) => Tensor::from_gpu_slice(arena, offset, t.shape()),
                    None => Ok(t.clone()),
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(StepPlan {
                plan,
                inputs: input_buffers,
                input_shapes: inputs.iter().map(|t| t.shape().to_vec()).collect(),
                step_scalars: opt.step_scalars().map(|t| dense(t, "step scalars")).transpose()?,
                reads,
                writes,
                lr: opt.lr,
                loss: loss.clone(),
            })
        });
        Ok((loss, plan))
    }

    /// Number of kernel dispatches in one step.
    pub fn dispatches(&self) -> usize {
        self.plan.dispatches()
    }

    /// The kernel entry point of each dispatch, in step order.
    pub fn kernels(&self) -> Vec<&'static str> {
        self.plan.kernels()
    }

    /// Dispatches of the recorded step that fusion removed (elementwise ones
    /// folded into later ones, sums into the matmuls they add to).
    pub fn fused(&self) -> usize {
        self.plan.fused()
    }

    /// Each dispatch of the step timed alone: (kernel entry point, ms). See
    /// `nnlab_gpu::Plan::profile`.
    pub async fn profile(&self, now: &dyn Fn() -> f64) -> Result<Vec<(&'static str, f64)>> {
        Ok(self.plan.profile(now).await?)
    }

    /// The loss tensor every replay overwrites with its step's loss.
    pub fn loss(&self) -> &Tensor {
        &self.loss
    }

    /// Performs one more step on `inputs`. Fails without running anything if
    /// the learning rate or the model's structure changed since the recording
    /// (record a new plan then).
    pub fn replay(&self, model: &dyn Module, opt: &mut Optimizer, inputs: &[StepInput]) -> Result<()> {
        if opt.lr != self.lr {
            return Err(Error::NotReplayable("the learning rate changed since the step was recorded".into()));
        }
        if inputs.len() != self.inputs.len() {
            return Err(Error::NotReplayable(format!("{} inputs for a step recorded with {}", inputs.len(), self.inputs.len())));
        }
        let current = state(model, opt);
        if current.len() != self.reads.len() {
            return Err(Error::NotReplayable("the model's state changed shape since the step was recorded".into()));
        }
        let (mut writes, mut copies) = (Vec::new(), Vec::new());
        for (t, read) in current.iter().zip(&self.reads) {
            let Some((buf, offset)) = t.gpu_slice().filter(|_| t.numel() == read.len()) else {
                return Err(Error::NotReplayable("the model's state changed shape since the step was recorded".into()));
            };
            if offset != 0 || !buf.same_buffer(read) {
                copies.push((buf, offset, read));
            }
        }
        for ((input, buf), shape) in inputs.iter().zip(&self.inputs).zip(&self.input_shapes) {
            match input {
                StepInput::Host(values) => writes.push((buf, *values)),
                StepInput::Device(t) => {
                    let nnlab_core::Storage::Gpu(src) = t.storage() else {
                        return Err(Error::NotReplayable("a device input lives on the CPU".into()));
                    };
                    if t.shape() != shape.as_slice() || !t.layout().is_contiguous() {
                        return Err(Error::NotReplayable(format!("an input of shape {:?} for a step recorded with {shape:?}", t.shape())));
                    }
                    copies.push((src, t.layout().offset, buf));
                }
            }
        }
        let scalars = opt.replayed_step();
        if let (Some(buf), Some(values)) = (&self.step_scalars, scalars.as_ref()) {
            writes.push((buf, values.as_slice()));
        }
        self.plan.replay(&writes, &copies)?;
        set_state(model, opt, &self.writes);
        Ok(())
    }
}
