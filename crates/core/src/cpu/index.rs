//! Gather/scatter along an axis, concatenation, padding and prefix sums, on
//! contiguous inputs viewed as (outer, axis, inner).

fn split(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    (shape[..axis].iter().product(), shape[axis], shape[axis + 1..].iter().product())
}

/// out[.., j, ..] = x[.., index[j], ..]; indices were validated by the caller.
pub fn index_select(x: &[f32], shape: &[usize], axis: usize, index: &[usize]) -> Vec<f32> {
    let (outer, dim, inner) = split(shape, axis);
    let mut out = Vec::with_capacity(outer * index.len() * inner);
    for o in 0..outer {
        for &i in index {
            let at = (o * dim + i) * inner;
            out.extend_from_slice(&x[at..at + inner]);
        }
    }
    out
}

/// base[.., index[j], ..] += src[.., j, ..]
pub fn scatter_add(base: &[f32], shape: &[usize], axis: usize, index: &[usize], src: &[f32]) -> Vec<f32> {
    let (outer, dim, inner) = split(shape, axis);
    let mut out = base.to_vec();
    for o in 0..outer {
        for (j, &i) in index.iter().enumerate() {
            let (dst, s) = ((o * dim + i) * inner, (o * index.len() + j) * inner);
            for k in 0..inner {
                out[dst + k] += src[s + k];
            }
        }
    }
    out
}

pub fn concat(parts: &[(Vec<f32>, Vec<usize>)], axis: usize) -> Vec<f32> {
    let outer: usize = parts[0].1[..axis].iter().product();
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.0.len()).sum());
    for o in 0..outer {
        for (data, shape) in parts {
            let chunk = shape[axis..].iter().product::<usize>();
            out.extend_from_slice(&data[o * chunk..(o + 1) * chunk]);
        }
    }
    out
}

/// Constant padding: `pads[axis] = (before, after)`.
pub fn pad(x: &[f32], shape: &[usize], pads: &[(usize, usize)], value: f32) -> Vec<f32> {
    let out_shape: Vec<usize> = shape.iter().zip(pads).map(|(d, (b, a))| d + b + a).collect();
    let out_strides = crate::layout::contiguous_strides(&out_shape);
    let mut out = vec![value; out_shape.iter().product()];
    let layout = crate::Layout::contiguous(shape);
    let mut pos = vec![0usize; shape.len()];
    for (n, src) in layout.indices().enumerate() {
        let mut rest = n;
        for ax in (0..shape.len()).rev() {
            pos[ax] = rest % shape[ax];
            rest /= shape[ax];
        }
        let dst: usize = pos.iter().zip(pads).zip(&out_strides).map(|((p, (b, _)), s)| (p + b) * s).sum();
        out[dst] = x[src];
    }
    out
}

/// Inclusive prefix sum along `axis`.
pub fn cumsum(x: &[f32], shape: &[usize], axis: usize) -> Vec<f32> {
    let (outer, dim, inner) = split(shape, axis);
    let mut out = x.to_vec();
    for o in 0..outer {
        for i in 1..dim {
            for k in 0..inner {
                let at = (o * dim + i) * inner + k;
                out[at] += out[at - inner];
            }
        }
    }
    out
}
