// Max and average pooling (average counts padded taps, as PyTorch's default),
// forward one invocation per output, backward one per input element, which
// recomputes each covering window's first maximum exactly as the CPU does.
// Desc words: N C H W KH KW SH SW PH PW OH OW, element count, op (0 max, 1 avg).
// Bindings are ordered so the forward pass uses a prefix of them.

@group(0) @binding(0) var<storage, read> desc: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read> gy: array<f32>;

// Flat input index of the first maximum of window (plane, oh, ow), or 0xffffffff if empty.
fn window_argmax(plane: u32, oh: u32, ow: u32) -> u32 {
    let H = desc[2]; let W = desc[3];
    var best = 0xffffffffu;
    var best_v = 0.0;
    for (var ky = 0u; ky < desc[4]; ky++) {
        let iy = i32(oh * desc[6] + ky) - i32(desc[8]);
        if (iy < 0 || iy >= i32(H)) { continue; }
        for (var kx = 0u; kx < desc[5]; kx++) {
            let ix = i32(ow * desc[7] + kx) - i32(desc[9]);
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
    if (i >= desc[12]) { return; }
    let OH = desc[10]; let OW = desc[11];
    let ow = i % OW; let oh = (i / OW) % OH; let plane = i / (OW * OH);
    if (desc[13] == 0u) {
        let at = window_argmax(plane, oh, ow);
        out[i] = select(x[at], -f32_inf(), at == 0xffffffffu);
        return;
    }
    var acc = 0.0;
    for (var ky = 0u; ky < desc[4]; ky++) {
        let iy = i32(oh * desc[6] + ky) - i32(desc[8]);
        if (iy < 0 || iy >= i32(desc[2])) { continue; }
        for (var kx = 0u; kx < desc[5]; kx++) {
            let ix = i32(ow * desc[7] + kx) - i32(desc[9]);
            if (ix < 0 || ix >= i32(desc[3])) { continue; }
            acc += x[(plane * desc[2] + u32(iy)) * desc[3] + u32(ix)];
        }
    }
    out[i] = acc / f32(desc[4] * desc[5]);
}

@compute @workgroup_size(64)
fn pool_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 64u;
    let H = desc[2]; let W = desc[3];
    if (i >= desc[0] * desc[1] * H * W) { return; }
    let OH = desc[10]; let OW = desc[11];
    let iw = i % W; let ih = (i / W) % H; let plane = i / (W * H);
    var acc = 0.0;
    // Only the windows that can contain (ih, iw): rows oh with
    // oh * stride - pad <= ih < oh * stride - pad + kernel, likewise columns.
    let hp = i32(ih + desc[8]); let wp = i32(iw + desc[9]);
    let oh_lo = u32(select(0, (hp - i32(desc[4])) / i32(desc[6]) + 1, hp >= i32(desc[4])));
    let ow_lo = u32(select(0, (wp - i32(desc[5])) / i32(desc[7]) + 1, wp >= i32(desc[5])));
    let oh_hi = min(OH, u32(hp) / desc[6] + 1u);
    let ow_hi = min(OW, u32(wp) / desc[7] + 1u);
    for (var oh = oh_lo; oh < oh_hi; oh++) {
        let top = i32(oh * desc[6]) - i32(desc[8]);
        if (i32(ih) < top || i32(ih) >= top + i32(desc[4])) { continue; }
        for (var ow = ow_lo; ow < ow_hi; ow++) {
            let left = i32(ow * desc[7]) - i32(desc[9]);
            if (i32(iw) < left || i32(iw) >= left + i32(desc[5])) { continue; }
            let g = gy[(plane * OH + oh) * OW + ow];
            if (desc[13] == 1u) {
                acc += g / f32(desc[4] * desc[5]);
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
    if (i >= desc[12]) { return; }
    let H = desc[2]; let W = desc[3]; let KH = desc[4]; let KW = desc[5];
    let OH = desc[10]; let OW = desc[11];
    let ow = i % OW; let oh = (i / OW) % OH; let plane = i / (OW * OH);
    let g = gy[i];
    let average = desc[13] == 1u;
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
