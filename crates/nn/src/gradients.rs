//! Tools that act on gradients between backward and the optimizer step:
//! clipping by global norm, annealed Gaussian gradient noise, and freezing
//! parameters by name pattern.

use nnlab_core::{GradStore, Result, Tensor};

use crate::Param;

/// Scales all gradients so their global L2 norm is at most `max_norm`
/// (torch.nn.utils.clip_grad_norm_: coefficient max_norm / (norm + 1e-6),
/// capped at 1). Returns the norm before clipping, as a scalar tensor (no
/// readback, so it stays on the GPU).
pub fn clip_grad_norm(params: &[Param], grads: &mut GradStore, max_norm: f32) -> Result<Option<Tensor>> {
    let Some((norm, coef)) = clip_coefficient(params, grads, max_norm)? else { return Ok(None) };
    let _g = nnlab_core::no_grad();
    for (t, g) in present(params, grads) {
        grads.insert(&t, g.mul(&coef)?);
    }
    Ok(Some(norm))
}

/// What `clip_grad_norm` multiplies the gradients by, and their norm, both
/// one-element tensors on the gradients' device (None without gradients):
/// for an update that applies the coefficient itself
/// (`Optimizer::step_scaled`).
pub fn clip_coefficient(params: &[Param], grads: &GradStore, max_norm: f32) -> Result<Option<(Tensor, Tensor)>> {
    let _g = nnlab_core::no_grad();
    let present = present(params, grads);
    if present.is_empty() {
        return Ok(None);
    }
    // One line of every gradient's elements, so the norm is one reduction
    // (a few dispatches on a GPU, not three per parameter).
    let flat = present.iter().map(|(_, g)| g.reshape(&[g.numel()])).collect::<Result<Vec<_>>>()?;
    let norm = Tensor::concat(&flat, 0)?.square()?.sum_all()?.sqrt()?;
    let one = Tensor::scalar(1.0, &norm.device())?;
    let coef = norm.add_scalar(1e-6)?.recip()?.mul_scalar(max_norm)?.minimum(&one)?;
    Ok(Some((norm, coef)))
}

/// The parameters that have a gradient, with it.
fn present(params: &[Param], grads: &GradStore) -> Vec<(Tensor, Tensor)> {
    params
        .iter()
        .filter_map(|p| {
            let t = p.get();
            grads.get(&t).cloned().map(|g| (t, g))
        })
        .collect()
}

/// Adds N(0, σ²) noise with σ² = eta / (1 + step)^0.55 to every gradient
/// (Neelakantan et al. 2015, "Adding Gradient Noise Improves Learning for Very
/// Deep Networks"; they use eta in {0.01, 0.3, 1}).
pub fn add_gradient_noise(params: &[Param], grads: &mut GradStore, eta: f32, step: u32, seed: u64) -> Result<()> {
    let _g = nnlab_core::no_grad();
    let std = (eta / (1.0 + step as f32).powf(0.55)).sqrt();
    for (i, p) in params.iter().enumerate() {
        let t = p.get();
        if let Some(g) = grads.get(&t).cloned() {
            let noise = Tensor::randn(g.shape(), 0.0, std, seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15), step, &g.device())?;
            grads.insert(&t, g.add(&noise)?);
        }
    }
    Ok(())
}

/// Glob match where `*` stands for any run of characters (`*.bn*.weight`).
pub fn matches(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || !name[first.len()..].ends_with(last) || name.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

/// The parameters left trainable when only names matching one of `train`
/// patterns are trained (an empty list trains everything).
pub fn trainable(params: Vec<(String, Param)>, train: &[String]) -> Vec<(String, Param)> {
    if train.is_empty() {
        return params;
    }
    params.into_iter().filter(|(n, _)| train.iter().any(|p| matches(p, n))).collect()
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn glob_patterns() {
        assert!(matches("*.weight", "layers.0.weight"));
        assert!(matches("bn*.bias", "bn1.bias"));
        assert!(matches("*bn*", "block.bn2.weight"));
        assert!(!matches("*.weight", "layers.0.bias"));
        assert!(matches("exact", "exact") && !matches("exact", "exact2"));
        assert!(!matches("a*a", "a"));
    }
}
