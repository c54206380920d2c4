// Direct 2D convolution and its two gradients, one invocation per output
// element (NCHW input, [O, C/G, KH, KW] weight). Desc words: N C H W O KH KW
// OH OW SH SW PH PW DH DW G, then the element count of this dispatch's output.
// Bindings: a and b are (x, w) forward, (gy, w) for the input gradient and
// (x, gy) for the weight gradient.

@group(0) @binding(0) var<storage, read> desc: array<u32>;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

fn index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * 64u;
}

@compute @workgroup_size(64)
fn conv2d_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = index(gid, nwg);
    if (i >= desc[16]) { return; }
    let C = desc[1]; let H = desc[2]; let W = desc[3]; let O = desc[4];
    let KH = desc[5]; let KW = desc[6]; let OH = desc[7]; let OW = desc[8];
    let cg = C / desc[15]; let og = O / desc[15];
    let ow = i % OW; let oh = (i / OW) % OH; let o = (i / (OW * OH)) % O; let n = i / (OW * OH * O);
    let g = o / og;
    var acc = 0.0;
    for (var c = 0u; c < cg; c++) {
        let plane = (n * C + g * cg + c) * H;
        for (var kh = 0u; kh < KH; kh++) {
            let ih = i32(oh * desc[9] + kh * desc[13]) - i32(desc[11]);
            if (ih < 0 || ih >= i32(H)) { continue; }
            for (var kw = 0u; kw < KW; kw++) {
                let iw = i32(ow * desc[10] + kw * desc[14]) - i32(desc[12]);
                if (iw < 0 || iw >= i32(W)) { continue; }
                acc = fma(a[(plane + u32(ih)) * W + u32(iw)], b[((o * cg + c) * KH + kh) * KW + kw], acc);
            }
        }
    }
    out[i] = acc;
}

// The forward pass for four output channels of one group at once (when a
// group's output count is a multiple of 4): each input tap is read once for
// all four. One invocation per (n, block of 4 channels, oh, ow).
@compute @workgroup_size(64)
fn conv2d_forward4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = index(gid, nwg);
    if (t * 4u >= desc[16]) { return; }
    let C = desc[1]; let H = desc[2]; let W = desc[3]; let O = desc[4];
    let KH = desc[5]; let KW = desc[6]; let OH = desc[7]; let OW = desc[8];
    let cg = C / desc[15]; let og = O / desc[15];
    let ow = t % OW; let oh = (t / OW) % OH; let ob = (t / (OW * OH)) % (O / 4u); let n = t / (OW * OH * (O / 4u));
    let o0 = ob * 4u;
    let g = o0 / og;
    let per_channel = cg * KH * KW;
    var acc0 = 0.0; var acc1 = 0.0; var acc2 = 0.0; var acc3 = 0.0;
    for (var c = 0u; c < cg; c++) {
        let plane = (n * C + g * cg + c) * H;
        for (var kh = 0u; kh < KH; kh++) {
            let ih = i32(oh * desc[9] + kh * desc[13]) - i32(desc[11]);
            if (ih < 0 || ih >= i32(H)) { continue; }
            for (var kw = 0u; kw < KW; kw++) {
                let iw = i32(ow * desc[10] + kw * desc[14]) - i32(desc[12]);
                if (iw < 0 || iw >= i32(W)) { continue; }
                let xv = a[(plane + u32(ih)) * W + u32(iw)];
                let wi = ((o0 * cg + c) * KH + kh) * KW + kw;
                acc0 = fma(xv, b[wi], acc0);
                acc1 = fma(xv, b[wi + per_channel], acc1);
                acc2 = fma(xv, b[wi + 2u * per_channel], acc2);
                acc3 = fma(xv, b[wi + 3u * per_channel], acc3);
            }
        }
    }
    let at = ((n * O + o0) * OH + oh) * OW + ow;
    let step = OH * OW;
    out[at] = acc0;
    out[at + step] = acc1;
    out[at + 2u * step] = acc2;
    out[at + 3u * step] = acc3;
}

@compute @workgroup_size(64)
fn conv2d_input_grad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = index(gid, nwg);
    if (i >= desc[16]) { return; }
    let C = desc[1]; let H = desc[2]; let W = desc[3]; let O = desc[4];
    let KH = desc[5]; let KW = desc[6]; let OH = desc[7]; let OW = desc[8];
    let SH = desc[9]; let SW = desc[10];
    let cg = C / desc[15]; let og = O / desc[15];
    let iw = i % W; let ih = (i / W) % H; let ci = (i / (W * H)) % C; let n = i / (W * H * C);
    let g = ci / cg; let c = ci % cg;
    var acc = 0.0;
    for (var kh = 0u; kh < KH; kh++) {
        let th = i32(ih + desc[11]) - i32(kh * desc[13]);
        if (th < 0 || u32(th) % SH != 0u) { continue; }
        let oh = u32(th) / SH;
        if (oh >= OH) { continue; }
        for (var kw = 0u; kw < KW; kw++) {
            let tw = i32(iw + desc[12]) - i32(kw * desc[14]);
            if (tw < 0 || u32(tw) % SW != 0u) { continue; }
            let ow = u32(tw) / SW;
            if (ow >= OW) { continue; }
            for (var oo = 0u; oo < og; oo++) {
                let o = g * og + oo;
                acc = fma(a[((n * O + o) * OH + oh) * OW + ow], b[((o * cg + c) * KH + kh) * KW + kw], acc);
            }
        }
    }
    out[i] = acc;
}

// One example's share of the weight gradient: invocation i computes weight
// element i % count for example n = i / count, so the long sum over the batch
// and the output plane is spread over N times more invocations. The launcher
// sums the N partial gradients with the reduction kernel.
@compute @workgroup_size(64)
fn conv2d_weight_grad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let N = desc[0]; let C = desc[1]; let H = desc[2]; let W = desc[3]; let O = desc[4];
    let t = index(gid, nwg);
    if (t >= desc[16] * N) { return; }
    let i = t % desc[16]; let n = t / desc[16];
    let KH = desc[5]; let KW = desc[6]; let OH = desc[7]; let OW = desc[8];
    let cg = C / desc[15]; let og = O / desc[15];
    let kw = i % KW; let kh = (i / KW) % KH; let c = (i / (KW * KH)) % cg; let o = i / (KW * KH * cg);
    let ci = (o / og) * cg + c;
    var acc = 0.0;
    for (var oh = 0u; oh < OH; oh++) {
        let ih = i32(oh * desc[9] + kh * desc[13]) - i32(desc[11]);
        if (ih < 0 || ih >= i32(H)) { continue; }
        for (var ow = 0u; ow < OW; ow++) {
            let iw = i32(ow * desc[10] + kw * desc[14]) - i32(desc[12]);
            if (iw < 0 || iw >= i32(W)) { continue; }
            acc = fma(a[((n * C + ci) * H + u32(ih)) * W + u32(iw)], b[((n * O + o) * OH + oh) * OW + ow], acc);
        }
    }
    out[t] = acc;
}
