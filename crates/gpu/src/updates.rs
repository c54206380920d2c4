//! Step plans update every parameter in one dispatch. A recorded step runs
//! one Adam dispatch per parameter tensor, because a WebGPU kernel binds at
//! most 8 storage buffers (10 on many adapters) and each update reads four
//! (parameter, gradient, two moments) and writes three. Here the plan gives
//! each of the seven roles one arena: every buffer an update binds gets a
//! slot in its role's arena at the same offset for every role, every other
//! dispatch binding that buffer binds the slot instead, and one dispatch of
//! the same kernel runs over the whole arenas. Slot padding holds zeros,
//! which Adam keeps at zero (for eps > 0).
//!
//! The updates fuse when they share the step scalars and hyperparameters,
//! bind no buffer another fused update binds (of two updates that read one
//! gradient, as an LSTM's two biases do, the later stays a dispatch of its
//! own), and can all run where the last of them ran: nothing between an
//! update and the last one writes its inputs or touches its outputs; and no
//! other dispatch may come to bind one arena both read-only and writable
//! (WebGPU refuses that even for disjoint ranges). The
//! plan reports where each buffer moved (`Plan::relocated`), so that the
//! state it reads is copied into the slots (one copy per arena when the
//! state is the last replay's) and the state it writes is read from them.

use std::collections::{HashMap, HashSet};
use std::num::NonZeroU64;

use crate::context::{GpuBuffer, GpuContext, Result};
use crate::plan::Dispatch;

/// An update's bindings by role: parameter, gradient, moments, then the new ones.
const ROLES: [u32; 7] = [2, 3, 4, 5, 6, 7, 8];
/// The step scalars' binding.
const STEP: u32 = 1;

/// Where a buffer moved: its arena and the slot's offset in elements.
pub(crate) type Relocations = HashMap<wgpu::Buffer, (GpuBuffer, usize)>;

fn bound(d: &Dispatch, binding: u32) -> Option<&wgpu::Buffer> {
    d.entries.iter().find(|(b, _)| *b == binding).map(|(_, buf)| buf)
}

/// An update's buffers by role, if they are its element count long.
fn roles(d: &Dispatch) -> Option<[wgpu::Buffer; 7]> {
    let n = u64::from(d.adam?.n);
    let buffers: Vec<wgpu::Buffer> = ROLES.iter().map(|&r| bound(d, r).filter(|b| b.size() == n * 4).cloned()).collect::<Option<_>>()?;
    buffers.try_into().ok()
}

/// The updates that fuse (by slot, with their buffers by role): those with
/// the first one's step scalars and hyperparameters, in order, whose
/// buffers are distinct from each other's (two updates may read one
/// gradient: the later stays a dispatch of its own), where nothing between
/// an update and the last one writes its inputs or touches its outputs.
// wgpu::Buffer hashes by identity, which its interior state never changes.
#[allow(clippy::mutable_key_type)]
fn fusable(slots: &[Dispatch]) -> Vec<(usize, [wgpu::Buffer; 7])> {
    let Some(first) = slots.iter().find(|d| d.adam.is_some()) else { return Vec::new() };
    let (Some(step), Some(params)) = (bound(first, STEP), first.adam) else { return Vec::new() };
    let key = |p: crate::AdamParams| crate::AdamParams { n: 0, ..p }.words().to_vec();
    let mut seen: HashSet<wgpu::Buffer> = HashSet::from([step.clone()]);
    let mut group = Vec::new();
    for (i, d) in slots.iter().enumerate() {
        let Some(p) = d.adam else { continue };
        let Some(r) = roles(d).filter(|_| bound(d, STEP) == Some(step) && key(p) == key(params)) else { continue };
        if r.iter().any(|b| seen.contains(b)) {
            continue;
        }
        seen.extend(r.iter().cloned());
        group.push((i, r));
    }
    let group = without_conflicts(slots, group);
    let Some(&(last, _)) = group.last() else { return group };
    let members: HashSet<usize> = group.iter().map(|(i, _)| *i).collect();
    let safe = group.iter().all(|(u, r)| {
        let mut between = (u + 1..last).filter(|k| !members.contains(k)).map(|k| &slots[k]);
        !between.any(|d| r[..4].iter().chain([step]).any(|b| d.writes(b)) || r[4..].iter().any(|b| d.touches(b)))
    });
    if safe { group } else { Vec::new() }
}

/// The group less the updates whose slots some other dispatch would bind
/// read-only beside another slot of the same arena it writes: WebGPU
/// tracks a buffer's use per dispatch, not per range, and refuses one used
/// both ways. (A pooled buffer that ends as a gradient or a new parameter
/// may have held a temporary earlier in the step.)
#[allow(clippy::mutable_key_type)]
fn without_conflicts(slots: &[Dispatch], mut group: Vec<(usize, [wgpu::Buffer; 7])>) -> Vec<(usize, [wgpu::Buffer; 7])> {
    loop {
        let members: HashSet<usize> = group.iter().map(|(i, _)| *i).collect();
        let role: HashMap<&wgpu::Buffer, usize> = group.iter().flat_map(|(_, r)| r.iter().enumerate().map(|(k, b)| (b, k))).collect();
        let mut refused: HashSet<wgpu::Buffer> = HashSet::new();
        for d in slots.iter().enumerate().filter(|(i, _)| !members.contains(i)).map(|(_, d)| d) {
            for k in 0..ROLES.len() {
                let bound: Vec<&wgpu::Buffer> = d.entries.iter().map(|(_, b)| b).filter(|b| role.get(b) == Some(&k)).collect();
                let (written, read): (Vec<&wgpu::Buffer>, Vec<&wgpu::Buffer>) = bound.into_iter().partition(|b| d.writes(b));
                if !written.is_empty() && read.iter().any(|b| !written.contains(b)) {
                    refused.extend(read.into_iter().cloned());
                }
            }
        }
        if refused.is_empty() {
            return group;
        }
        group.retain(|(_, r)| !r.iter().any(|b| refused.contains(b)));
    }
}

/// Rebinds `d` with each relocated buffer's slot in place of the buffer.
// wgpu::Buffer hashes by identity, which its interior state never changes.
#[allow(clippy::mutable_key_type)]
fn bind_slots(ctx: &GpuContext, d: &mut Dispatch, moved: &Relocations) {
    if !d.entries.iter().any(|(_, b)| moved.contains_key(b)) {
        return;
    }
    let entries: Vec<wgpu::BindGroupEntry> = d
        .entries
        .iter()
        .map(|(binding, b)| {
            let resource = match moved.get(b) {
                Some((arena, offset)) => {
                    wgpu::BindingResource::Buffer(wgpu::BufferBinding { buffer: arena.raw(), offset: (offset * 4) as u64, size: NonZeroU64::new(b.size()) })
                }
                None => b.as_entire_binding(),
            };
            wgpu::BindGroupEntry { binding: *binding, resource }
        })
        .collect();
    ctx.count_object();
    d.bind_group = ctx.device().create_bind_group(&wgpu::BindGroupDescriptor { label: None, layout: &d.pipeline.get_bind_group_layout(0), entries: &entries });
}

/// Fuses the plan's Adam updates into one dispatch over arenas where they
/// may fuse (module doc); returns the dispatches and where buffers moved.
#[allow(clippy::mutable_key_type)]
pub(crate) fn fuse_updates(ctx: &GpuContext, slots: Vec<Dispatch>) -> Result<(Vec<Dispatch>, Relocations)> {
    let group = fusable(&slots);
    let mut moved = Relocations::new();
    if group.len() < 2 {
        return Ok((slots, moved));
    }
    let align = (ctx.limits().min_storage_buffer_offset_alignment as usize / 4).max(1);
    let mut offsets = Vec::with_capacity(group.len());
    let mut total = 0;
    for (_, r) in &group {
        offsets.push(total);
        total += (r[0].size() as usize / 4).next_multiple_of(align);
    }
    let arenas: Vec<GpuBuffer> = (0..7).map(|_| ctx.arena(total)).collect::<Result<_>>()?;
    for ((_, r), &offset) in group.iter().zip(&offsets) {
        for (b, arena) in r.iter().zip(&arenas) {
            moved.insert(b.clone(), (arena.clone(), offset));
        }
    }
    let last = group.last().expect("two updates or more").0;
    let mut slots = slots;
    let params = crate::AdamParams { n: total as u32, ..slots[last].adam.expect("an update") };
    let fused = &mut slots[last];
    let step = bound(fused, STEP).expect("an update binds its step scalars").clone();
    let mut entries = vec![(0, ctx.uniform(params.words())?), (STEP, step)];
    entries.extend(ROLES.iter().zip(&arenas).map(|(&r, a)| (r, a.raw().clone())));
    fused.rebind(ctx, entries);
    fused.accesses = fused.entries.iter().map(|(r, b)| (b.clone(), *r >= ROLES[4])).collect();
    fused.groups = ctx.groups_for(total as u32);
    fused.adam = Some(params);
    let removed: HashSet<usize> = group[..group.len() - 1].iter().map(|(i, _)| *i).collect();
    let mut kept: Vec<Dispatch> = slots.into_iter().enumerate().filter(|(i, _)| !removed.contains(i)).map(|(_, d)| d).collect();
    let fused_at = last - removed.len();
    for (i, d) in kept.iter_mut().enumerate() {
        if i != fused_at {
            bind_slots(ctx, d, &moved);
        }
    }
    Ok((kept, moved))
}
