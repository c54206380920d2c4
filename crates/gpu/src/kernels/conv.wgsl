// 2D convolution and its two gradients as implicit GEMMs (NCHW input,
// [O, C/G, KH, KW] weight): each is a matrix product whose operand is the
// unfolded (im2col) input, read in place instead of materialised. Every
// invocation computes a 4x4 block of the product in four vec4 registers,
// so each value it loads feeds four multiply-adds.
//
// `params` (ConvMeta in conv.rs, prepended with HAS_BIAS): the geometry and
// the invocations of this dispatch. Bindings: a and b are (x, w) forward, (gy, w)
// for the input gradient and (x, gy) for the weight gradient.

@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
// Forward only: the per-channel bias added to the outputs when HAS_BIAS (a
// constant that conv.rs prepends; without a bias another buffer is bound
// here and never read).
@group(0) @binding(4) var<storage, read> bias: array<f32>;

fn index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * 64u;
}

// a[row + i] for 0 <= i < len, else 0.
fn a_at(row: u32, i: i32, len: u32) -> f32 {
    let ok = i >= 0 && i < i32(len);
    return select(0.0, a[row + u32(clamp(i, 0, i32(len) - 1))], ok);
}

// Forward: rows are 4 neighbouring output columns (ow) of one output row,
// columns 4 output channels of one group, the sum runs over the group's
// input channels and the kernel taps. One invocation per
// (n, channel block, oh, block of 4 ow).
@compute @workgroup_size(64)
fn conv2d_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = index(gid, nwg);
    if (t >= params.threads) { return; }
    let C = params.c; let H = params.h; let W = params.w; let O = params.o;
    let KH = params.kh; let KW = params.kw; let OH = params.oh; let OW = params.ow;
    let SW = params.stride_w; let DH = params.dil_h; let DW = params.dil_w;
    let cg = C / params.groups; let og = O / params.groups;
    let blocks = (og + 3u) / 4u; let owb = (OW + 3u) / 4u;
    let ow0 = (t % owb) * 4u; let oh = (t / owb) % OH; let ob = (t / (owb * OH)) % (params.groups * blocks);
    let n = t / (owb * OH * params.groups * blocks);
    let g = ob / blocks; let oc = (ob % blocks) * 4u;
    let taps = cg * KH * KW;
    // Weight rows of the block's channels; channels past the group repeat the last (not stored).
    let w0 = (g * og + oc) * taps;
    let w1 = (g * og + min(oc + 1u, og - 1u)) * taps;
    let w2 = (g * og + min(oc + 2u, og - 1u)) * taps;
    let w3 = (g * og + min(oc + 3u, og - 1u)) * taps;
    let ih0 = i32(oh * params.stride_h) - i32(params.pad_h);
    let iw0 = i32(ow0 * SW) - i32(params.pad_w);
    var r0 = vec4<f32>(); var r1 = vec4<f32>(); var r2 = vec4<f32>(); var r3 = vec4<f32>();
    var k = 0u;
    for (var c = 0u; c < cg; c++) {
        let plane = (n * C + g * cg + c) * H;
        for (var kh = 0u; kh < KH; kh++) {
            let ih = ih0 + i32(kh * DH);
            if (ih < 0 || ih >= i32(H)) { k += KW; continue; }
            let row = (plane + u32(ih)) * W;
            for (var kw = 0u; kw < KW; kw++) {
                let wv = vec4<f32>(b[w0 + k], b[w1 + k], b[w2 + k], b[w3 + k]);
                k++;
                let iw = iw0 + i32(kw * DW);
                r0 = fma(vec4<f32>(a_at(row, iw, W)), wv, r0);
                r1 = fma(vec4<f32>(a_at(row, iw + i32(SW), W)), wv, r1);
                r2 = fma(vec4<f32>(a_at(row, iw + 2 * i32(SW), W)), wv, r2);
                r3 = fma(vec4<f32>(a_at(row, iw + 3 * i32(SW), W)), wv, r3);
            }
        }
    }
    if (HAS_BIAS) {
        let bv = vec4<f32>(bias[g * og + oc], bias[g * og + min(oc + 1u, og - 1u)], bias[g * og + min(oc + 2u, og - 1u)], bias[g * og + min(oc + 3u, og - 1u)]);
        r0 += bv; r1 += bv; r2 += bv; r3 += bv;
    }
    // out[n, g*og + oc + j, oh, ow0 + i] = r_i[j]
    let at = ((n * O + g * og + oc) * OH + oh) * OW + ow0;
    let plane_len = OH * OW;
    let channels = min(og - oc, 4u);
    store_block(at, plane_len, channels, min(OW - ow0, 4u), r0, r1, r2, r3);
}

// Depthwise forward (one input and one output channel per group, where
// conv2d_forward would use one lane of four): 16 neighbouring output columns
// of one (n, channel, oh) in four vec4s, each tap's weight shared by all 16.
// The sum runs over the taps in conv2d_forward's order, so the results are
// the same. One invocation per (n, channel, oh, block of 16 ow).
@compute @workgroup_size(64)
fn depthwise_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = index(gid, nwg);
    if (t >= params.threads) { return; }
    let C = params.c; let H = params.h; let W = params.w;
    let KH = params.kh; let KW = params.kw; let OH = params.oh; let OW = params.ow;
    let S = i32(params.stride_w); let DH = params.dil_h; let DW = params.dil_w;
    let owb = (OW + 15u) / 16u;
    let ow0 = (t % owb) * 16u; let oh = (t / owb) % OH; let c = (t / (owb * OH)) % C; let n = t / (owb * OH * C);
    let ih0 = i32(oh * params.stride_h) - i32(params.pad_h);
    let iw0 = i32(ow0) * S - i32(params.pad_w);
    var r0 = vec4<f32>(); var r1 = vec4<f32>(); var r2 = vec4<f32>(); var r3 = vec4<f32>();
    let plane = (n * C + c) * H;
    for (var kh = 0u; kh < KH; kh++) {
        let ih = ih0 + i32(kh * DH);
        if (ih < 0 || ih >= i32(H)) { continue; }
        let row = (plane + u32(ih)) * W;
        for (var kw = 0u; kw < KW; kw++) {
            let wv = vec4<f32>(b[(c * KH + kh) * KW + kw]);
            let iw = iw0 + i32(kw * DW);
            r0 = fma(vec4<f32>(a_at(row, iw, W), a_at(row, iw + S, W), a_at(row, iw + 2 * S, W), a_at(row, iw + 3 * S, W)), wv, r0);
            r1 = fma(vec4<f32>(a_at(row, iw + 4 * S, W), a_at(row, iw + 5 * S, W), a_at(row, iw + 6 * S, W), a_at(row, iw + 7 * S, W)), wv, r1);
            r2 = fma(vec4<f32>(a_at(row, iw + 8 * S, W), a_at(row, iw + 9 * S, W), a_at(row, iw + 10 * S, W), a_at(row, iw + 11 * S, W)), wv, r2);
            r3 = fma(vec4<f32>(a_at(row, iw + 12 * S, W), a_at(row, iw + 13 * S, W), a_at(row, iw + 14 * S, W), a_at(row, iw + 15 * S, W)), wv, r3);
        }
    }
    if (HAS_BIAS) {
        let bv = vec4<f32>(bias[c]);
        r0 += bv; r1 += bv; r2 += bv; r3 += bv;
    }
    store_16(((n * C + c) * OH + oh) * OW + ow0, min(OW - ow0, 16u), r0, r1, r2, r3);
}

// out[at + j * plane_len + i] = r_i[j] for the block's valid rows i and columns j.
fn store_block(at: u32, plane_len: u32, channels: u32, rows: u32, r0: vec4<f32>, r1: vec4<f32>, r2: vec4<f32>, r3: vec4<f32>) {
    for (var j = 0u; j < channels; j++) {
        let o = at + j * plane_len;
        out[o] = r0[j];
        if (rows > 1u) { out[o + 1u] = r1[j]; }
        if (rows > 2u) { out[o + 2u] = r2[j]; }
        if (rows > 3u) { out[o + 3u] = r3[j]; }
    }
}

// gy[row + tw / SW] when tw lands on an output column (divisible by the
// stride and inside the row), else 0.
fn gy_at(row: u32, tw: i32, SW: u32, OW: u32) -> f32 {
    let q = u32(max(tw, 0)) / SW;
    let ok = tw >= 0 && u32(tw) % SW == 0u && q < OW;
    return select(0.0, a[row + min(q, OW - 1u)], ok);
}

// Input gradient: rows are 4 neighbouring input columns (iw) of one input
// row, columns 4 input channels of one group, the sum runs over the group's
// output channels and the kernel taps that reach the row. One invocation per
// (n, channel block, ih, block of 4 iw).
@compute @workgroup_size(64)
fn conv2d_input_grad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = index(gid, nwg);
    if (t >= params.threads) { return; }
    let C = params.c; let H = params.h; let W = params.w; let O = params.o;
    let KH = params.kh; let KW = params.kw; let OH = params.oh; let OW = params.ow;
    let SH = params.stride_h; let SW = params.stride_w; let DH = params.dil_h; let DW = params.dil_w;
    let cg = C / params.groups; let og = O / params.groups;
    let blocks = (cg + 3u) / 4u; let iwb = (W + 3u) / 4u;
    let iw0 = (t % iwb) * 4u; let ih = (t / iwb) % H; let cb = (t / (iwb * H)) % (params.groups * blocks);
    let n = t / (iwb * H * params.groups * blocks);
    let g = cb / blocks; let cc = (cb % blocks) * 4u;
    let kk = KH * KW;
    // Offsets of the block's channels inside a weight row; channels past the group repeat the last.
    let c0 = cc * kk;
    let c1 = min(cc + 1u, cg - 1u) * kk;
    let c2 = min(cc + 2u, cg - 1u) * kk;
    let c3 = min(cc + 3u, cg - 1u) * kk;
    let th0 = i32(ih + params.pad_h);
    let tw0 = i32(iw0 + params.pad_w);
    var r0 = vec4<f32>(); var r1 = vec4<f32>(); var r2 = vec4<f32>(); var r3 = vec4<f32>();
    for (var oo = 0u; oo < og; oo++) {
        let o = g * og + oo;
        let wrow = o * cg * kk;
        for (var kh = 0u; kh < KH; kh++) {
            let th = th0 - i32(kh * DH);
            if (th < 0 || u32(th) % SH != 0u || u32(th) / SH >= OH) { continue; }
            let row = ((n * O + o) * OH + u32(th) / SH) * OW;
            for (var kw = 0u; kw < KW; kw++) {
                let wi = wrow + kh * KW + kw;
                let wv = vec4<f32>(b[wi + c0], b[wi + c1], b[wi + c2], b[wi + c3]);
                let tw = tw0 - i32(kw * DW);
                r0 = fma(vec4<f32>(gy_at(row, tw, SW, OW)), wv, r0);
                r1 = fma(vec4<f32>(gy_at(row, tw + 1, SW, OW)), wv, r1);
                r2 = fma(vec4<f32>(gy_at(row, tw + 2, SW, OW)), wv, r2);
                r3 = fma(vec4<f32>(gy_at(row, tw + 3, SW, OW)), wv, r3);
            }
        }
    }
    let at = ((n * C + g * cg + cc) * H + ih) * W + iw0;
    store_block(at, H * W, min(cg - cc, 4u), min(W - iw0, 4u), r0, r1, r2, r3);
}

// Depthwise input gradient at stride 1: 16 neighbouring input columns of
// one (n, channel, ih), the sum over the taps in conv2d_input_grad's order.
// One invocation per (n, channel, ih, block of 16 iw).
@compute @workgroup_size(64)
fn depthwise_input_grad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = index(gid, nwg);
    if (t >= params.threads) { return; }
    let C = params.c; let H = params.h; let W = params.w;
    let KH = params.kh; let KW = params.kw; let OH = params.oh; let OW = params.ow;
    let DH = params.dil_h; let DW = params.dil_w;
    let iwb = (W + 15u) / 16u;
    let iw0 = (t % iwb) * 16u; let ih = (t / iwb) % H; let c = (t / (iwb * H)) % C; let n = t / (iwb * H * C);
    let th0 = i32(ih + params.pad_h);
    let tw0 = i32(iw0 + params.pad_w);
    var r0 = vec4<f32>(); var r1 = vec4<f32>(); var r2 = vec4<f32>(); var r3 = vec4<f32>();
    for (var kh = 0u; kh < KH; kh++) {
        let th = th0 - i32(kh * DH);
        if (th < 0 || th >= i32(OH)) { continue; }
        let row = ((n * C + c) * OH + u32(th)) * OW;
        for (var kw = 0u; kw < KW; kw++) {
            let wv = vec4<f32>(b[(c * KH + kh) * KW + kw]);
            let tw = tw0 - i32(kw * DW);
            r0 = fma(vec4<f32>(a_at(row, tw, OW), a_at(row, tw + 1, OW), a_at(row, tw + 2, OW), a_at(row, tw + 3, OW)), wv, r0);
            r1 = fma(vec4<f32>(a_at(row, tw + 4, OW), a_at(row, tw + 5, OW), a_at(row, tw + 6, OW), a_at(row, tw + 7, OW)), wv, r1);
            r2 = fma(vec4<f32>(a_at(row, tw + 8, OW), a_at(row, tw + 9, OW), a_at(row, tw + 10, OW), a_at(row, tw + 11, OW)), wv, r2);
            r3 = fma(vec4<f32>(a_at(row, tw + 12, OW), a_at(row, tw + 13, OW), a_at(row, tw + 14, OW), a_at(row, tw + 15, OW)), wv, r3);
        }
    }
    store_16(((n * C + c) * H + ih) * W + iw0, min(W - iw0, 16u), r0, r1, r2, r3);
}

// out[at + k] = the k-th of the 16 values r0..r3 hold, for k < count.
fn store_16(at: u32, count: u32, r0: vec4<f32>, r1: vec4<f32>, r2: vec4<f32>, r3: vec4<f32>) {
    for (var i = 0u; i < 4u; i++) {
        if (i < count) { out[at + i] = r0[i]; }
        if (i + 4u < count) { out[at + i + 4u] = r1[i]; }
        if (i + 8u < count) { out[at + i + 8u] = r2[i]; }
        if (i + 12u < count) { out[at + i + 12u] = r3[i]; }
    }
}

// One example's share of the weight gradient: rows are 4 kernel taps
// (c, kh, kw) of one group, columns 4 of its output channels, the sum runs
// over the example's output positions. One invocation per (n, channel block,
// tap block); the launcher sums the N partial gradients [N, O * taps].
@compute @workgroup_size(64)
fn conv2d_weight_grad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = index(gid, nwg);
    if (t >= params.threads) { return; }
    let C = params.c; let H = params.h; let W = params.w; let O = params.o;
    let KH = params.kh; let KW = params.kw; let OH = params.oh; let OW = params.ow;
    let SH = params.stride_h; let SW = params.stride_w;
    let cg = C / params.groups; let og = O / params.groups;
    let taps = cg * KH * KW;
    let blocks = (og + 3u) / 4u; let tb = (taps + 3u) / 4u;
    let p0 = (t % tb) * 4u; let ob = (t / tb) % (params.groups * blocks); let n = t / (tb * params.groups * blocks);
    let g = ob / blocks; let oc = (ob % blocks) * 4u;
    let x_n = (n * C + g * cg) * H * W;
    let t0 = tap(p0, taps, x_n); let t1 = tap(p0 + 1u, taps, x_n); let t2 = tap(p0 + 2u, taps, x_n); let t3 = tap(p0 + 3u, taps, x_n);
    // gy planes of the block's channels; channels past the group repeat the last.
    let plane_len = OH * OW;
    let o0 = ((n * O + g * og + oc) * plane_len);
    let o1 = ((n * O + g * og + min(oc + 1u, og - 1u)) * plane_len);
    let o2 = ((n * O + g * og + min(oc + 2u, og - 1u)) * plane_len);
    let o3 = ((n * O + g * og + min(oc + 3u, og - 1u)) * plane_len);
    var r0 = vec4<f32>(); var r1 = vec4<f32>(); var r2 = vec4<f32>(); var r3 = vec4<f32>();
    for (var oh = 0u; oh < OH; oh++) {
        let ih = i32(oh * SH);
        for (var ow = 0u; ow < OW; ow++) {
            let p = oh * OW + ow;
            let gv = vec4<f32>(b[o0 + p], b[o1 + p], b[o2 + p], b[o3 + p]);
            let iw = i32(ow * SW);
            r0 = fma(vec4<f32>(x_tap(t0, ih, iw, H, W)), gv, r0);
            r1 = fma(vec4<f32>(x_tap(t1, ih, iw, H, W)), gv, r1);
            r2 = fma(vec4<f32>(x_tap(t2, ih, iw, H, W)), gv, r2);
            r3 = fma(vec4<f32>(x_tap(t3, ih, iw, H, W)), gv, r3);
        }
    }
    // partial[n, (g*og + oc + j) * taps + p0 + i] = r_i[j]
    let at = n * O * taps + (g * og + oc) * taps + p0;
    store_block(at, taps, min(og - oc, 4u), min(taps - p0, 4u), r0, r1, r2, r3);
}

// A kernel tap (c, kh, kw) as the start of its input plane and its offsets
// from an output position scaled by the stride (dilation and padding applied).
struct Tap { plane: u32, dh: i32, dw: i32 }

fn tap(p: u32, taps: u32, x_n: u32) -> Tap {
    let KH = params.kh; let KW = params.kw;
    let q = min(p, taps - 1u);
    let kw = q % KW; let kh = (q / KW) % KH; let c = q / (KW * KH);
    return Tap(x_n + c * params.h * params.w, i32(kh * params.dil_h) - i32(params.pad_h), i32(kw * params.dil_w) - i32(params.pad_w));
}

fn x_tap(tp: Tap, ih_s: i32, iw_s: i32, H: u32, W: u32) -> f32 {
    let ih = ih_s + tp.dh; let iw = iw_s + tp.dw;
    let ok = ih >= 0 && ih < i32(H) && iw >= 0 && iw < i32(W);
    return select(0.0, a[tp.plane + u32(clamp(ih, 0, i32(H) - 1)) * W + u32(clamp(iw, 0, i32(W) - 1))], ok);
}
