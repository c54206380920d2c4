// Prefix sums of few, long lines in two passes without a barrier. The tensor
// is [outer, dim, inner], each line (outer, inner) summed along dim, and a
// line is cut into `runs` runs of `run` elements (about sqrt(dim) each);
// `params`: ScanMeta in index.rs. One invocation per run in both passes:
// scan_totals sums its run into `totals`; scan_runs adds up the totals of the
// runs before its own, then writes its run's prefix sums from there. Work:
// 2 dim + runs^2 / 2 additions per line, about 2.5 dim; and runs invocations
// work on a line at once where scan.wgsl has one. (A workgroup scan with
// barriers was 4x slower than scan.wgsl on lavapipe, where every barrier
// switches between all invocations of a workgroup.)

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read_write> totals: array<f32>;

// The run's first element, its stride, and its length.
struct Run { first: u32, stride: u32, len: u32 }

fn run_of(i: u32) -> Run {
    let line = i / params.runs;
    let r = i % params.runs;
    let start = r * params.run;
    let first = (line / params.inner) * params.dim * params.inner + line % params.inner + start * params.inner;
    return Run(first, params.inner, min(params.run, params.dim - start));
}

@compute @workgroup_size(64)
fn scan_totals(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 64u;
    if (i >= params.outer * params.inner * params.runs) { return; }
    let run = run_of(i);
    var acc = 0.0;
    for (var d = 0u; d < run.len; d++) {
        acc += x[run.first + d * run.stride];
    }
    totals[i] = acc;
}

@compute @workgroup_size(64)
fn scan_runs(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 64u;
    if (i >= params.outer * params.inner * params.runs) { return; }
    let run = run_of(i);
    let line_start = i - i % params.runs;
    var acc = 0.0;
    for (var r = line_start; r < i; r++) {
        acc += totals[r];
    }
    for (var d = 0u; d < run.len; d++) {
        let at = run.first + d * run.stride;
        acc += x[at];
        out[at] = acc;
    }
}
