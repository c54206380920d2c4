//! Step plans: one training step recorded while it runs eagerly, then replayed
//! as a single command buffer. The recording keeps every dispatch's pipeline
//! and bind group, so a replay creates no buffer and no bind group; it encodes
//! the copies that feed the step (inputs, and last step's state into the
//! buffers the step reads), one compute pass and one `queue.submit`.
//!
//! Buffers are reused by liveness already during the recording: a temporary
//! returns to the pool when its last tensor handle drops, and the next
//! allocation of its size takes it. The plan then claims every buffer it
//! touched, so nothing outside the plan can be handed one of them while the
//! plan lives.

use std::collections::HashSet;

use crate::context::{GpuBuffer, GpuContext, GpuError, Result};
use crate::epilogue::fold_addends;
use crate::fusion::{Elementwise, fuse};
use crate::kernels::matmul::MatmulCall;
use crate::kernels::optim::AdamParams;
use crate::updates::{Relocations, fuse_updates};

pub(crate) struct Dispatch {
    /// The kernel's entry point.
    pub name: &'static str,
    pub pipeline: wgpu::ComputePipeline,
    pub bind_group: wgpu::BindGroup,
    pub groups: (u32, u32, u32),
    /// Each bound buffer, and whether the kernel may write it.
    pub accesses: Vec<(wgpu::Buffer, bool)>,
    /// The bind group's entries: binding number and buffer (bound whole;
    /// after `updates.rs` moves a buffer into an arena, the bind group binds
    /// its slot and the entry still names the buffer).
    pub entries: Vec<(u32, wgpu::Buffer)>,
    /// What the dispatch computes, if it is elementwise (see `fusion.rs`).
    pub elementwise: Option<Elementwise>,
    /// What the dispatch computes, if it is a matmul.
    pub matmul: Option<MatmulCall>,
    /// The hyperparameters, if it is an Adam update (see `updates.rs`).
    pub adam: Option<AdamParams>,
}

impl Dispatch {
    /// Whether the dispatch binds `b` writable.
    pub(crate) fn writes(&self, b: &wgpu::Buffer) -> bool {
        self.accesses.iter().any(|(x, w)| *w && x == b)
    }

    pub(crate) fn touches(&self, b: &wgpu::Buffer) -> bool {
        self.accesses.iter().any(|(x, _)| x == b)
    }

    /// Binds `entries` to the dispatch's pipeline as its new bind group.
    pub(crate) fn rebind(&mut self, ctx: &GpuContext, entries: Vec<(u32, wgpu::Buffer)>) {
        let bound: Vec<wgpu::BindGroupEntry> =
            entries.iter().map(|(binding, b)| wgpu::BindGroupEntry { binding: *binding, resource: b.as_entire_binding() }).collect();
        ctx.count_object();
        self.bind_group =
            ctx.device().create_bind_group(&wgpu::BindGroupDescriptor { label: None, layout: &self.pipeline.get_bind_group_layout(0), entries: &bound });
        self.entries = entries;
    }

    /// Whether the dispatch reads `b`: a read-only binding, or a writable one
    /// of a kernel that is not elementwise (which may read what it writes).
    pub(crate) fn reads(&self, b: &wgpu::Buffer) -> bool {
        self.accesses.iter().any(|(x, w)| x == b && (!*w || self.elementwise.is_none()))
    }
}

/// Whether the value the dispatch in slot `c` leaves in `x` is never read:
/// every later live dispatch that touches x first writes it, or none touches
/// it and no handle outside the plan can see it (`idle`).
// wgpu::Buffer hashes by identity, which its interior state never changes.
#[allow(clippy::mutable_key_type)]
pub(crate) fn dead_after(slots: &[Option<Dispatch>], c: usize, x: &wgpu::Buffer, idle: &HashSet<wgpu::Buffer>) -> bool {
    for d in slots[c + 1..].iter().flatten() {
        if d.reads(x) {
            return false;
        }
        if d.writes(x) {
            return true;
        }
    }
    idle.contains(x)
}

/// What `GpuContext::dispatch_groups` captures while a recording is open.
#[derive(Default)]
pub(crate) struct Recording {
    dispatches: Vec<Dispatch>,
    buffers: Vec<wgpu::Buffer>,
    /// Why the step cannot be replayed (e.g. it draws random numbers, which a
    /// replay would repeat), if it cannot.
    unreplayable: Option<String>,
}

impl Recording {
    pub(crate) fn push(
        &mut self,
        name: &'static str,
        pipeline: &wgpu::ComputePipeline,
        bind_group: &wgpu::BindGroup,
        entries: Vec<(u32, wgpu::Buffer)>,
        accesses: Vec<(wgpu::Buffer, bool)>,
        groups: (u32, u32, u32),
    ) {
        self.buffers.extend(accesses.iter().map(|(b, _)| b.clone()));
        let (pipeline, bind_group) = (pipeline.clone(), bind_group.clone());
        self.dispatches.push(Dispatch { name, pipeline, bind_group, groups, accesses, entries, elementwise: None, matmul: None, adam: None });
    }

    /// Says what the dispatch just pushed computes.
    pub(crate) fn describe_last(&mut self, e: Elementwise) {
        if let Some(d) = self.dispatches.last_mut() {
            d.elementwise = Some(e);
        }
    }

    /// Says that the dispatch just pushed is an Adam update with `params`.
    pub(crate) fn describe_last_adam(&mut self, params: AdamParams) {
        if let Some(d) = self.dispatches.last_mut() {
            d.adam = Some(params);
        }
    }

    /// Says which matmul the dispatch just pushed runs.
    pub(crate) fn describe_last_matmul(&mut self, m: MatmulCall) {
        if let Some(d) = self.dispatches.last_mut() {
            d.matmul = Some(m);
        }
    }
}

/// A recorded step. Dropping it releases its buffers to the pool.
pub struct Plan {
    ctx: GpuContext,
    dispatches: Vec<Dispatch>,
    /// Dispatches of the recorded step that fusion folded into others.
    fused: usize,
    /// Every buffer the dispatches bind (kept claimed while the plan lives).
    buffers: HashSet<wgpu::Buffer>,
    /// The claimed buffers that were idle in the pool, returned to it on drop.
    from_pool: Vec<wgpu::Buffer>,
    /// Buffers whose slot in an arena the dispatches bind instead (`updates.rs`).
    moved: Relocations,
}

impl GpuContext {
    /// Starts capturing dispatches (they still run eagerly).
    pub fn begin_recording(&self) -> Result<()> {
        let mut rec = self.recording().borrow_mut();
        if rec.is_some() {
            return Err(GpuError::NotReplayable("a recording is already open".into()));
        }
        *rec = Some(Recording::default());
        Ok(())
    }

    /// Marks the open recording (if any) as impossible to replay, with the reason.
    pub(crate) fn unreplayable(&self, why: &str) {
        if let Some(rec) = self.recording().borrow_mut().as_mut() {
            rec.unreplayable.get_or_insert_with(|| why.to_string());
        }
    }

    /// Ends the recording and claims its buffers for the returned plan.
    pub fn end_recording(&self) -> Result<Plan> {
        let rec = self.recording().borrow_mut().take().ok_or_else(|| GpuError::NotReplayable("no recording is open".into()))?;
        if let Some(why) = rec.unreplayable {
            return Err(GpuError::NotReplayable(why));
        }
        // wgpu::Buffer hashes by identity, which its interior state never changes.
        #[allow(clippy::mutable_key_type)]
        let buffers: HashSet<wgpu::Buffer> = rec.buffers.into_iter().collect();
        let mut from_pool = Vec::new();
        {
            let mut pool = self.pool().borrow_mut();
            for list in pool.values_mut() {
                list.retain(|b| {
                    let ours = buffers.contains(b);
                    if ours {
                        from_pool.push(b.clone());
                    }
                    !ours
                });
            }
        }
        self.claimed().borrow_mut().extend(buffers.iter().cloned());
        // Buffers idle in the pool have no handle outside the plan: what the
        // step leaves in them is never read.
        #[allow(clippy::mutable_key_type)]
        let idle: HashSet<wgpu::Buffer> = from_pool.iter().cloned().collect();
        let recorded = rec.dispatches.len();
        let mut plan = Plan { ctx: self.clone(), dispatches: Vec::new(), fused: 0, buffers, from_pool, moved: Relocations::new() };
        // The plan exists before fusing, so that an error still releases its buffers.
        // The updates fuse last: the passes before reason about whole buffers.
        (plan.dispatches, plan.moved) = fuse_updates(self, fold_addends(self, fuse(self, rec.dispatches, &idle)?, &idle))?;
        plan.fused = recorded - plan.dispatches.len();
        Ok(plan)
    }
}

impl Plan {
    pub fn dispatches(&self) -> usize {
        self.dispatches.len()
    }

    /// The kernel entry point of each dispatch, in step order.
    pub fn kernels(&self) -> Vec<&'static str> {
        self.dispatches.iter().map(|d| d.name).collect()
    }

    /// Dispatches of the recorded step that fusion removed: elementwise ones
    /// folded into later ones, sums folded into the matmuls they add to,
    /// parameter updates merged into one.
    pub fn fused(&self) -> usize {
        self.fused
    }

    fn check(&self, b: &GpuBuffer, what: &str) -> Result<()> {
        if !b.context().same_device(&self.ctx) {
            return Err(GpuError::NotReplayable(format!("the {what} lives on another device")));
        }
        Ok(())
    }

    /// Whether the recorded step reads or writes `b`.
    pub fn uses(&self, b: &GpuBuffer) -> bool {
        self.buffers.contains(b.raw())
    }

    /// Where the step keeps what it recorded in `b`, if it moved it into an
    /// arena: the arena and the offset (in elements) of its slot. The state
    /// a replay writes is read from there, and copies into `b` land there.
    pub fn relocated(&self, b: &GpuBuffer) -> Option<(GpuBuffer, usize)> {
        self.moved.get(b.raw()).cloned()
    }

    /// A buffer of the step as (buffer, byte offset) where the dispatches bind it.
    fn home<'a>(&'a self, b: &'a GpuBuffer) -> (&'a wgpu::Buffer, u64) {
        match self.moved.get(b.raw()) {
            Some((arena, offset)) => (arena.raw(), (offset * 4) as u64),
            None => (b.raw(), 0),
        }
    }

    /// Runs the step once more. `writes` put host values into buffers of the
    /// step; `copies` fill a buffer of the step from (source, offset in
    /// elements) on the device: the inputs, and the state the step reads
    /// (parameters, moments) from wherever its latest values are. One command
    /// buffer, one compute pass, one submit; nothing is allocated.
    pub fn replay(&self, writes: &[(&GpuBuffer, &[f32])], copies: &[(&GpuBuffer, usize, &GpuBuffer)]) -> Result<()> {
        // Earlier eager work goes first: input writes land before this submit.
        self.ctx.flush();
        #[cfg(not(target_arch = "wasm32"))]
        let started = std::time::Instant::now();
        let queue = self.ctx.queue();
        for (buf, data) in writes {
            self.check(buf, "input")?;
            if !self.uses(buf) {
                return Err(GpuError::NotReplayable("a write targets a buffer the step does not use".into()));
            }
            if data.len() != buf.len() {
                return Err(GpuError::NotReplayable(format!("{} input values for a buffer of {}", data.len(), buf.len())));
            }
            let (target, at) = self.home(buf);
            queue.write_buffer(target, at, bytemuck::cast_slice(data));
        }
        let mut encoder = self.ctx.device().create_command_encoder(&Default::default());
        let mut ranges = Vec::with_capacity(copies.len());
        for &(src, offset, dst) in copies {
            self.check(src, "input")?;
            self.check(dst, "input")?;
            if !self.uses(dst) {
                return Err(GpuError::NotReplayable("a copy targets a buffer the step does not use".into()));
            }
            if offset + dst.len() > src.len() {
                return Err(GpuError::NotReplayable(format!("{} input values from offset {offset} of a buffer of {}", dst.len(), src.len())));
            }
            let (target, at) = self.home(dst);
            ranges.push(CopyRange { src: src.raw(), src_at: (offset * 4) as u64, dst: target, dst_at: at, bytes: (dst.len() * 4) as u64 });
        }
        let gap = self.ctx.limits().min_storage_buffer_offset_alignment as u64;
        for r in coalesce(ranges, gap) {
            encoder.copy_buffer_to_buffer(r.src, r.src_at, r.dst, r.dst_at, r.bytes);
        }
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            let mut current: Option<&wgpu::ComputePipeline> = None;
            for d in &self.dispatches {
                if current != Some(&d.pipeline) {
                    pass.set_pipeline(&d.pipeline);
                    current = Some(&d.pipeline);
                }
                pass.set_bind_group(0, &d.bind_group, &[]);
                pass.dispatch_workgroups(d.groups.0, d.groups.1, d.groups.2);
            }
        }
        let commands = encoder.finish();
        #[cfg(not(target_arch = "wasm32"))]
        self.ctx.add_encode_time(started.elapsed());
        queue.submit([commands]);
        self.ctx.count_submit();
        Ok(())
    }
}

/// A copy between two device buffers, in bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
struct CopyRange<B> {
    src: B,
    src_at: u64,
    dst: B,
    dst_at: u64,
    bytes: u64,
}

/// The copies with each run into consecutive slots of one arena, from
/// slots equally spaced in one source, as one copy (the state an arena's
/// slots held after the last replay goes back in one copy per arena). Slots
/// are aligned to `gap` bytes, so a gap shorter than that between two
/// targets holds no other slot: copying across it moves only padding.
fn coalesce<B: Copy + PartialEq>(mut ranges: Vec<CopyRange<B>>, gap: u64) -> Vec<CopyRange<B>> {
    ranges.sort_by_key(|r| r.dst_at);
    let mut out: Vec<CopyRange<B>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        // The latest copy between the same two buffers, which ends before r.
        if let Some(last) = out.iter_mut().rev().find(|o| o.src == r.src && o.dst == r.dst) {
            let end = last.dst_at + last.bytes;
            if r.dst_at >= end && r.dst_at - end < gap && r.src_at >= last.src_at && r.src_at - last.src_at == r.dst_at - last.dst_at {
                last.bytes = r.dst_at + r.bytes - last.dst_at;
                continue;
            }
        }
        out.push(r);
    }
    out
}

/// How often `Plan::profile` runs each dispatch.
const PROFILE_RUNS: usize = 5;

impl Plan {
    /// Times every dispatch of the step on its own (submit, then wait for the
    /// GPU) with the clock `now` (milliseconds), less the cost of an empty
    /// round trip, and keeps the fastest of `PROFILE_RUNS` runs: on a CPU
    /// emulating the GPU one run moves by a third between tries. Returns
    /// (kernel entry point, ms) in step order. A tool for kernel work: the sum
    /// exceeds a replay's time, which overlaps dispatches.
    pub async fn profile(&self, now: &dyn Fn() -> f64) -> Result<Vec<(&'static str, f64)>> {
        let probe = self.ctx.alloc(1)?;
        let round_trip = async || -> Result<f64> {
            let t = now();
            self.ctx.read(&probe, 0, 1).await?;
            Ok(now() - t)
        };
        let mut empty = Vec::new();
        for _ in 0..5 {
            empty.push(round_trip().await?);
        }
        empty.sort_by(f64::total_cmp);
        let base = empty[2];
        let mut times = Vec::with_capacity(self.dispatches.len());
        for d in &self.dispatches {
            let mut fastest = f64::INFINITY;
            for _ in 0..PROFILE_RUNS {
                let t = now();
                let mut encoder = self.ctx.device().create_command_encoder(&Default::default());
                {
                    let mut pass = encoder.begin_compute_pass(&Default::default());
                    pass.set_pipeline(&d.pipeline);
                    pass.set_bind_group(0, &d.bind_group, &[]);
                    pass.dispatch_workgroups(d.groups.0, d.groups.1, d.groups.2);
                }
                self.ctx.queue().submit([encoder.finish()]);
                self.ctx.read(&probe, 0, 1).await?;
                fastest = fastest.min(now() - t - base);
            }
            times.push((d.name, fastest.max(0.0)));
        }
        Ok(times)
    }
}

impl Drop for Plan {
    fn drop(&mut self) {
        let mut claimed = self.ctx.claimed().borrow_mut();
        for b in &self.buffers {
            claimed.remove(b);
        }
        drop(claimed);
        let mut pool = self.ctx.pool().borrow_mut();
        for b in self.from_pool.drain(..) {
            pool.entry(b.size()).or_default().push(b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_into_consecutive_slots_coalesce_and_no_others() {
        let (src, dst, other_src, other_dst) = (0, 1, 2, 3);
        let copy = |src, src_at, dst, dst_at, bytes| CopyRange { src, src_at, dst, dst_at, bytes };
        // Slots of 40 and 8 bytes at 0, 64 and 128 (64-byte alignment), fed
        // from the same layout in another arena: one copy.
        let ranges = vec![copy(src, 128, dst, 128, 8), copy(src, 0, dst, 0, 40), copy(src, 64, dst, 64, 40)];
        assert_eq!(coalesce(ranges, 64), vec![copy(src, 0, dst, 0, 136)]);
        // A slot fed from elsewhere splits the run; another target's copies
        // stay apart; sources spaced otherwise do not merge.
        let ranges = vec![copy(src, 0, dst, 0, 40), copy(other_src, 0, dst, 64, 40), copy(src, 128, dst, 128, 8), copy(src, 0, other_dst, 64, 40)];
        assert_eq!(coalesce(ranges.clone(), 64).len(), 4);
        let ranges = vec![copy(src, 0, dst, 0, 40), copy(src, 40, dst, 64, 40)];
        assert_eq!(coalesce(ranges, 64).len(), 2);
    }
}
