// Scalar functions of the elementwise kernels. Codes match UnaryKernel and
// BinaryKernel in elementwise.rs. Each pipeline is compiled for one op (OP) and
// one addressing mode (CONTIGUOUS), both constants that elementwise.rs prepends,
// so the shader compiler drops the other cases.

// Storage index of output element i in the view whose strides start at
// desc[strides_at] (output shape at desc[4..10]). CONTIGUOUS: every view walks
// its buffer as one run, which needs no index arithmetic.
fn elem_offset(i: u32, strides_at: u32) -> u32 {
    if (CONTIGUOUS) { return desc[strides_at + RANK] + i; }
    return strided_offset(i, 4u, strides_at);
}

// Abramowitz-Stegun 7.1.26, |error| < 1.5e-7 (WGSL has no erf).
fn erf_approx(x: f32) -> f32 {
    let t = 1.0 / (1.0 + 0.3275911 * abs(x));
    let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-x * x);
    return select(-y, y, x >= 0.0);
}

// tanh without exp overflow for large |x| (some drivers return NaN there).
fn tanh_stable(x: f32) -> f32 {
    let e = exp(-2.0 * abs(x));
    let t = (1.0 - e) / (1.0 + e);
    return select(-t, t, x >= 0.0);
}

fn sigmoid_stable(x: f32) -> f32 {
    let e = exp(-abs(x));
    return select(e / (1.0 + e), 1.0 / (1.0 + e), x >= 0.0);
}

// x^p with the CPU's semantics for negative bases and integral exponents.
fn pow_real(x: f32, p: f32) -> f32 {
    if (p == 0.0) { return 1.0; }
    if (x == 0.0) { return select(f32_inf(), 0.0, p > 0.0); }
    if (x < 0.0) {
        if (p != floor(p)) { return f32_nan(); }
        let r = pow(-x, p);
        return select(r, -r, (abs(p) % 2.0) == 1.0);
    }
    return pow(x, p);
}

fn unary_op(op: u32, x: f32, p: f32) -> f32 {
    switch op {
        case 0u: { return x; }
        case 1u: { return -x; }
        case 2u: { return exp(x); }
        case 3u: { return log(x); }
        case 4u: { return sqrt(x); }
        case 5u: { return 1.0 / x; }
        case 6u: { return abs(x); }
        case 7u: { return tanh_stable(x); }
        case 8u: { return sigmoid_stable(x); }
        case 9u: { return max(x, 0.0); }
        case 10u: { return 0.5 * x * (1.0 + erf_approx(x * 0.70710678118)); }
        case 11u: { return 0.5 * x * (1.0 + tanh_stable(0.79788456080 * (x + 0.044715 * x * x * x))); }
        case 12u: { return sin(x); }
        case 13u: { return cos(x); }
        case 14u: { return pow_real(x, p); }
        case 15u: { return x * p; }
        case 16u: { return x + p; }
        case 17u: { return erf_approx(x); }
        // An op code with no case is a bug: NaN makes the parity tests fail.
        default: { return f32_nan(); }
    }
}

// d/dx of unary_op(op, x, p), as the CPU computes it (cpu::unary_derivative_fn).
fn unary_derivative(op: u32, x: f32, p: f32) -> f32 {
    switch op {
        case 0u: { return 1.0; }
        case 1u: { return -1.0; }
        case 2u: { return exp(x); }
        case 3u: { return 1.0 / x; }
        case 4u: { return 0.5 / sqrt(x); }
        case 5u: { return -1.0 / (x * x); }
        case 6u: { return select(0.0, 1.0, x > 0.0) - select(0.0, 1.0, x < 0.0); }
        case 7u: { let t = tanh_stable(x); return 1.0 - t * t; }
        case 8u: { let s = sigmoid_stable(x); return s * (1.0 - s); }
        case 9u: { return select(0.0, 1.0, x > 0.0); }
        case 10u: { return 0.5 * (1.0 + erf_approx(x * 0.70710678118)) + x * exp(-0.5 * x * x) * 0.39894228040; }
        case 11u: {
            let t = tanh_stable(0.79788456080 * (x + 0.044715 * x * x * x));
            return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * 0.79788456080 * (1.0 + 3.0 * 0.044715 * x * x);
        }
        case 12u: { return cos(x); }
        case 13u: { return -sin(x); }
        case 14u: { return p * pow_real(x, p - 1.0); }
        case 15u: { return p; }
        case 16u: { return 1.0; }
        case 17u: { return 1.12837916710 * exp(-x * x); }
        // An op code with no case is a bug: NaN makes the parity tests fail.
        default: { return f32_nan(); }
    }
}

fn binary_op(op: u32, a: f32, b: f32) -> f32 {
    switch op {
        case 0u: { return a + b; }
        case 1u: { return a - b; }
        case 2u: { return a * b; }
        case 3u: { return a / b; }
        case 4u: { return max(a, b); }
        case 5u: { return min(a, b); }
        case 6u: { return select(0.0, 1.0, a == b); }
        case 7u: { return select(0.0, 1.0, a != b); }
        case 8u: { return select(0.0, 1.0, a < b); }
        case 9u: { return select(0.0, 1.0, a <= b); }
        case 10u: { return select(0.0, 1.0, a > b); }
        case 11u: { return select(0.0, 1.0, a >= b); }
        // An op code with no case is a bug: NaN makes the parity tests fail.
        default: { return f32_nan(); }
    }
}
