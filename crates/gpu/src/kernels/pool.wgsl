// Max and average pooling, forward one invocation per output, backward one
// per input element, which recomputes each covering window's first maximum
// exactly as the CPU does. Taps sit at o * stride - pad + k * dilation;
// average pooling divides by the window's taps up to the padded input's end
// (include_pad) or by those inside the input, as Pool2dParams::average_span.
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
        let iy = i32(oh * params.stride_h + ky * params.dil_h) - i32(params.pad_h);
        if (iy < 0 || iy >= i32(H)) { continue; }
        for (var kx = 0u; kx < params.kw; kx++) {
            let ix = i32(ow * params.stride_w + kx * params.dil_w) - i32(params.pad_w);
            if (ix < 0 || ix >= i32(W)) { continue; }
            let at = (plane * H + u32(iy)) * W + u32(ix);
            if (best == 0xffffffffu || x[at] > best_v) { best = at; best_v = x[at]; }
        }
    }
    return best;
}

// Average pooling's divisor along one axis for window o.
fn average_span(o: u32, stride: u32, pad: u32, kernel: u32, size: u32) -> u32 {
    let start = i32(o * stride) - i32(pad);
    let end = min(start + i32(kernel), i32(size + pad));
    if (params.include_pad == 1u) { return u32(max(end - start, 0)); }
    return u32(max(min(end, i32(size)) - max(start, 0), 0));
}

fn average_divisor(oh: u32, ow: u32) -> f32 {
    let dh = average_span(oh, params.stride_h, params.pad_h, params.kh, params.h);
    let dw = average_span(ow, params.stride_w, params.pad_w, params.kw, params.w);
    return f32(dh * dw);
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
    out[i] = acc / average_divisor(oh, ow);
}

// The position of each max-pooling window's argmax within its plane.
@compute @workgroup_size(64)
fn pool_indices(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 64u;
    if (i >= params.count) { return; }
    let OH = params.oh; let OW = params.ow;
    let ow = i % OW; let oh = (i / OW) % OH; let plane = i / (OW * OH);
    let at = window_argmax(plane, oh, ow);
    out[i] = select(f32(at - plane * params.h * params.w), -1.0, at == 0xffffffffu);
}

// The windows along one axis whose taps include input position i (padded
// position i + pad): o * stride = i + pad - k * dilation for some k < kernel.
fn first_window(i: u32, stride: u32, pad: u32, kernel: u32, dil: u32) -> u32 {
    let reach = i32(i + pad) - i32((kernel - 1u) * dil);
    return u32(select(0, (reach + i32(stride) - 1) / i32(stride), reach > 0));
}

fn holds_tap(i: u32, o: u32, stride: u32, pad: u32, kernel: u32, dil: u32) -> bool {
    let r = i32(i + pad) - i32(o * stride);
    return r >= 0 && u32(r) % dil == 0u && u32(r) / dil < kernel;
}

@compute @workgroup_size(64)
fn pool_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 64u;
    let H = params.h; let W = params.w;
    if (i >= params.n * params.c * H * W) { return; }
    let OH = params.oh; let OW = params.ow;
    let iw = i % W; let ih = (i / W) % H; let plane = i / (W * H);
    var acc = 0.0;
    let oh_lo = first_window(ih, params.stride_h, params.pad_h, params.kh, params.dil_h);
    let ow_lo = first_window(iw, params.stride_w, params.pad_w, params.kw, params.dil_w);
    let oh_hi = min(OH, (ih + params.pad_h) / params.stride_h + 1u);
    let ow_hi = min(OW, (iw + params.pad_w) / params.stride_w + 1u);
    for (var oh = oh_lo; oh < oh_hi; oh++) {
        if (!holds_tap(ih, oh, params.stride_h, params.pad_h, params.kh, params.dil_h)) { continue; }
        for (var ow = ow_lo; ow < ow_hi; ow++) {
            if (!holds_tap(iw, ow, params.stride_w, params.pad_w, params.kw, params.dil_w)) { continue; }
            let g = gy[(plane * OH + oh) * OW + ow];
            if (params.average == 1u) {
                acc += g / average_divisor(oh, ow);
            } else if (window_argmax(plane, oh, ow) == i) {
                acc += g;
            }
        }
    }
    out[i] = acc;
}

// Backward when the windows tile the input (kernel == stride, no padding or
// dilation, none running past the input): one invocation per window writes
// its gradient into the window, and the last window of a row or column also
// zeroes the uncovered input past it.
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
