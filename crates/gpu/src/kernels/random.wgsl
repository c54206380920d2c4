// `params`: RandomMeta in random.rs. Element i uses
// counter (i, stream, 0, 0); uniform = top 24 bits / 2^24.

@group(0) @binding(1) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn random_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 64u;
    if (i >= params.len) { return; }
    let w = philox(vec4<u32>(i, params.stream, 0u, 0u), vec2<u32>(params.seed_lo, params.seed_hi));
    let a = params.a;
    let b = params.b;
    let u0 = f32(w.x >> 8u) * (1.0 / 16777216.0);
    switch params.kind {
        case RANDOM_UNIFORM: { out[i] = a + (b - a) * u0; }
        case RANDOM_NORMAL: {
            let u1 = (f32(w.x >> 8u) + 1.0) * (1.0 / 16777216.0);
            let u2 = f32(w.y >> 8u) * (1.0 / 16777216.0);
            out[i] = a + b * sqrt(-2.0 * log(u1)) * cos(6.2831853071795864 * u2);
        }
        case RANDOM_BERNOULLI: { out[i] = select(0.0, 1.0, u0 < a); }
        default: { var nan_bits = 0x7fc00000u; out[i] = bitcast<f32>(nan_bits); }
    }
}
