// Max and average pooling (average counts padded taps, as PyTorch's default),
// forward one invocation per output, backward one per input element, which
// recomputes each covering window's first maximum exactly as the CPU does.
// `params`: PoolMeta in pool.rs (prepended).
// Bindings are ordered so the forward pass uses a prefix of them.

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read> gy: array<f32>;

// Flat input index of the first maximum of window (plane, oh, ow), or 0xffffffff if empty.
fn window_argmax(plane: u32, oh: u32, ow: u32) -> u32 {
    let H = params.h; let W = params.w;
    var best = 0xffffffffu;
    var best_v = 0.0;
    for (var ky = 0u; ky < params.kh; ky++) {
        let iy = i32(oh * params.stride_h + ky) - i32(params.pad_h);
        if (iy < 0 || iy >= i32(H)) { continue; }
        for (var kx = 0u; kx < params.kw; kx++) {
            let ix = i32(ow * params.stride_w + kx) - i32(params.pad_w);
            if (ix < 0 || ix >= i32(W)) { continue; }
            let at = (plane * H + u32(iy)) * W + u32(ix);
            if (best == 0xffffffffu || x[at] > best_v) { best = at; best_v = x[at]; }
        }
    }
    return best;
}

@compute @workgroup_size(64)
fn pool_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 64u;
    if (i >= params.count) { return; }
    let OH = params.oh; let OW = params.ow;
    let ow = i % OW; let oh = (i / OW) % OH; let plane = i / (OW * OH);
    if (params.average == 0u) {
        let at = window_argmax(plane, oh, ow);
        out[i] = select(x[at], -f32_inf(), at == 0xffffffffu);
        return;
    }
    var acc = 0.0;
    for (var ky = 0u; ky < params.kh; ky++) {
        let iy = i32(oh * params.stride_h + ky) - i32(params.pad_h);
        if (iy < 0 || iy >= i32(params.h)) { continue; }
        for (var kx = 0u; kx < params.kw; kx++) {
            let ix = i32(ow * params.stride_w + kx) - i32(params.pad_w);
            if (ix < 0 || ix >= i32(params.w)) { continue; }
            acc += x[(plane * params.h + u32(iy)) * params.w + u32(ix)];
        }
    }
    out[i] = acc / f32(params.kh * params.kw);
}

@compute @workgroup_size(64)
fn pool_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 64u;
    let H = params.h; let W = params.w;
    if (i >= params.n * params.c * H * W) { return; }
    let OH = params.oh; let OW = params.ow;
    let iw = i % W; let ih = (i / W) % H; let plane = i / (W * H);
    var acc = 0.0;
    // Only the windows that can contain (ih, iw): rows oh with
    // oh * stride - pad <= ih < oh * stride - pad + kernel, likewise columns.
    let hp = i32(ih + params.pad_h); let wp = i32(iw + params.pad_w);
    let oh_lo = u32(select(0, (hp - i32(params.kh)) / i32(params.stride_h) + 1, hp >= i32(params.kh)));
    let ow_lo = u32(select(0, (wp - i32(params.kw)) / i32(params.stride_w) + 1, wp >= i32(params.kw)));
    let oh_hi = min(OH, u32(hp) / params.stride_h + 1u);
    let ow_hi = min(OW, u32(wp) / params.stride_w + 1u);
    for (var oh = oh_lo; oh < oh_hi; oh++) {
        let top = i32(oh * params.stride_h) - i32(params.pad_h);
        if (i32(ih) < top || i32(ih) >= top + i32(params.kh)) { continue; }
        for (var ow = ow_lo; ow < ow_hi; ow++) {
            let left = i32(ow * params.stride_w) - i32(params.pad_w);
            if (i32(iw) < left || i32(iw) >= left + i32(params.kw)) { continue; }
            let g = gy[(plane * OH + oh) * OW + ow];
            if (params.average == 1u) {
                acc += g / f32(params.kh * params.kw);
            } else if (window_argmax(plane, oh, ow) == i) {
                acc += g;
            }
        }
    }
    out[i] = acc;
}

// Backward when the windows tile the input (kernel == stride, no padding):
// one invocation per window writes its gradient into the window, and the
// last window of a row or column also zeroes the uncovered input past it.
@compute @workgroup_size(64)
fn pool_backward_tiles(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 64u;
    if (i >= params.count) { return; }
    let H = params.h; let W = params.w; let KH = params.kh; let KW = params.kw;
    let OH = params.oh; let OW = params.ow;
    let ow = i % OW; let oh = (i / OW) % OH; let plane = i / (OW * OH);
    let g = gy[i];
    let average = params.average == 1u;
    var best = 0xffffffffu;
    if (!average) { best = window_argmax(plane, oh, ow); }
    let y0 = oh * KH; let x0 = ow * KW;
    let y1 = select(y0 + KH, H, oh + 1u == OH);
    let x1 = select(x0 + KW, W, ow + 1u == OW);
    let share = g / f32(KH * KW);
    for (var y = y0; y < y1; y++) {
        for (var x = x0; x < x1; x++) {
            let at = (plane * H + y) * W + x;
            let inside = y < y0 + KH && x < x0 + KW;
            out[at] = select(select(0.0, g, at == best), select(0.0, share, inside), average);
        }
    }
}
