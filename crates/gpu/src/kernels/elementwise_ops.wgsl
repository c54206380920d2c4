// Scalar functions of the elementwise kernels. The op codes (UNARY_*,
// BINARY_*) are constants that elementwise.rs generates from UnaryKernel and
// BinaryKernel and prepends. Each pipeline is compiled for one op (OP) and
// one addressing mode (CONTIGUOUS), both constants that elementwise.rs prepends,
// so the shader compiler drops the other cases.

// Storage index of output element i in operand v's view. CONTIGUOUS: every
// view walks its buffer as one run, which needs no index arithmetic.
fn elem_offset(i: u32, v: u32) -> u32 {
    if (CONTIGUOUS) { return params.views[v].offset + i; }
    return strided_offset(i, v);
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
        case UNARY_COPY: { return x; }
        case UNARY_NEG: { return -x; }
        case UNARY_EXP: { return exp(x); }
        case UNARY_LOG: { return log(x); }
        case UNARY_SQRT: { return sqrt(x); }
        case UNARY_RECIP: { return 1.0 / x; }
        case UNARY_ABS: { return abs(x); }
        case UNARY_TANH: { return tanh_stable(x); }
        case UNARY_SIGMOID: { return sigmoid_stable(x); }
        case UNARY_RELU: { return max(x, 0.0); }
        case UNARY_GELU_ERF: { return 0.5 * x * (1.0 + erf_approx(x * 0.70710678118)); }
        case UNARY_GELU_TANH: { return 0.5 * x * (1.0 + tanh_stable(0.79788456080 * (x + 0.044715 * x * x * x))); }
        case UNARY_SIN: { return sin(x); }
        case UNARY_COS: { return cos(x); }
        case UNARY_POWF: { return pow_real(x, p); }
        case UNARY_SCALE: { return x * p; }
        case UNARY_ADD_SCALAR: { return x + p; }
        case UNARY_ERF: { return erf_approx(x); }
        // An op code with no case is a bug: NaN makes the parity tests fail.
        default: { return f32_nan(); }
    }
}

// d/dx of unary_op(op, x, p), as the CPU computes it (per_unary_derivative! in crates/core/src/cpu/elementwise.rs).
fn unary_derivative(op: u32, x: f32, p: f32) -> f32 {
    switch op {
        case UNARY_COPY: { return 1.0; }
        case UNARY_NEG: { return -1.0; }
        case UNARY_EXP: { return exp(x); }
        case UNARY_LOG: { return 1.0 / x; }
        case UNARY_SQRT: { return 0.5 / sqrt(x); }
        case UNARY_RECIP: { return -1.0 / (x * x); }
        case UNARY_ABS: { return select(0.0, 1.0, x > 0.0) - select(0.0, 1.0, x < 0.0); }
        case UNARY_TANH: { let t = tanh_stable(x); return 1.0 - t * t; }
        case UNARY_SIGMOID: { let s = sigmoid_stable(x); return s * (1.0 - s); }
        case UNARY_RELU: { return select(0.0, 1.0, x > 0.0); }
        case UNARY_GELU_ERF: { return 0.5 * (1.0 + erf_approx(x * 0.70710678118)) + x * exp(-0.5 * x * x) * 0.39894228040; }
        case UNARY_GELU_TANH: {
            let t = tanh_stable(0.79788456080 * (x + 0.044715 * x * x * x));
            return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * 0.79788456080 * (1.0 + 3.0 * 0.044715 * x * x);
        }
        case UNARY_SIN: { return cos(x); }
        case UNARY_COS: { return -sin(x); }
        case UNARY_POWF: { return p * pow_real(x, p - 1.0); }
        case UNARY_SCALE: { return p; }
        case UNARY_ADD_SCALAR: { return 1.0; }
        case UNARY_ERF: { return 1.12837916710 * exp(-x * x); }
        // An op code with no case is a bug: NaN makes the parity tests fail.
        default: { return f32_nan(); }
    }
}

fn binary_op(op: u32, a: f32, b: f32) -> f32 {
    switch op {
        case BINARY_ADD: { return a + b; }
        case BINARY_SUB: { return a - b; }
        case BINARY_MUL: { return a * b; }
        case BINARY_DIV: { return a / b; }
        case BINARY_MAX: { return max(a, b); }
        case BINARY_MIN: { return min(a, b); }
        case BINARY_EQ: { return select(0.0, 1.0, a == b); }
        case BINARY_NE: { return select(0.0, 1.0, a != b); }
        case BINARY_LT: { return select(0.0, 1.0, a < b); }
        case BINARY_LE: { return select(0.0, 1.0, a <= b); }
        case BINARY_GT: { return select(0.0, 1.0, a > b); }
        case BINARY_GE: { return select(0.0, 1.0, a >= b); }
        // An op code with no case is a bug: NaN makes the parity tests fail.
        default: { return f32_nan(); }
    }
}
