//! Fused optimizer updates (not differentiated): one kernel per parameter on
//! the GPU, the same arithmetic on the CPU.

use nnlab_gpu::{AdamParams, SgdParams};

use super::common_device;
use crate::{Error, Result, Storage, Tensor};

fn check(tensors: &[&Tensor]) -> Result<()> {
    common_device("optimizer update", tensors)?;
    if tensors.iter().any(|t| t.shape() != tensors[0].shape()) {
        return Err(Error::ShapeMismatch { op: "optimizer update", lhs: tensors[0].shape().to_vec(), rhs: tensors[1].shape().to_vec() });
    }
    Ok(())
}

impl Tensor {
    /// One Adam step, returning the new (parameter, first moment, second
    /// moment); `step` is a 4-element tensor [lr, 1 - beta1^t, 1 - beta2^t,
    /// gradient scale] (a tensor, so a recorded GPU plan can rewrite it every
    /// step, and the scale can be computed on the device, as clipping by norm
    /// does). The gradient is scaled before weight decay is added to it.
    pub fn adam_update(p: &Tensor, g: &Tensor, m: &Tensor, v: &Tensor, mut hp: AdamParams, step: &Tensor) -> Result<(Tensor, Tensor, Tensor)> {
        check(&[p, g, m, v])?;
        common_device("adam_update", &[p, step])?;
        if step.numel() != 4 {
            return Err(Error::InvalidArgument { op: "adam_update", reason: format!("step scalars have shape {:?}, expected [4]", step.shape()) });
        }
        hp.n = p.numel() as u32;
        let shape = p.shape();
        if let Some((ctx, pb)) = p.gpu_dense()? {
            let buf = |t: &Tensor| -> Result<_> { Ok(t.gpu_dense()?.expect("devices checked").1) };
            let (np, nm, nv) = ctx.adam(hp, &buf(step)?, &pb, &buf(g)?, &buf(m)?, &buf(v)?)?;
            let wrap = |b| Tensor::from_storage(Storage::Gpu(b), shape, None);
            return Ok((wrap(np), wrap(nm), wrap(nv)));
        }
        let (pv, gv, mv, vv) = (p.cpu_contiguous("adam")?, g.cpu_contiguous("adam")?, m.cpu_contiguous("adam")?, v.cpu_contiguous("adam")?);
        let [lr, bias1, bias2, scale] = <[f32; 4]>::try_from(step.cpu_contiguous("adam")?).expect("checked to hold 4 values");
        let (mut np, mut nm, mut nv) = (Vec::with_capacity(pv.len()), Vec::with_capacity(pv.len()), Vec::with_capacity(pv.len()));
        for i in 0..pv.len() {
            let grad = gv[i] * scale + hp.weight_decay * pv[i];
            let m1 = hp.beta1 * mv[i] + (1.0 - hp.beta1) * grad;
            let v1 = hp.beta2 * vv[i] + (1.0 - hp.beta2) * grad * grad;
            nm.push(m1);
            nv.push(v1);
            np.push(pv[i] - lr * (m1 / bias1) / ((v1 / bias2).sqrt() + hp.eps));
        }
        let wrap = |d| Tensor::from_storage(Storage::Cpu(d), shape, None);
        Ok((wrap(np), wrap(nm), wrap(nv)))
    }

    /// SGD with momentum: returns the new (parameter, momentum buffer).
    pub fn sgd_update(p: &Tensor, g: &Tensor, buf_: &Tensor, hp: SgdParams) -> Result<(Tensor, Tensor)> {
        check(&[p, g, buf_])?;
        let (p_, g_, b_) = (p.contiguous()?, g.contiguous()?, buf_.contiguous()?);
        let hp = SgdParams { n: p.numel() as u32, ..hp };
        let shape = p.shape();
        if let Some((ctx, pb)) = p.gpu_dense()? {
            let buf = |t: &Tensor| -> Result<_> { Ok(t.gpu_dense()?.expect("devices checked").1) };
            let (np, nb) = ctx.sgd(hp, &pb, &buf(g)?, &buf(buf_)?)?;
            return Ok((Tensor::from_storage(Storage::Gpu(np), shape, None), Tensor::from_storage(Storage::Gpu(nb), shape, None)));
        }
        let (pv, gv, bv) = (p_.cpu_contiguous("sgd")?, g_.cpu_contiguous("sgd")?, b_.cpu_contiguous("sgd")?);
        let mut np = Vec::with_capacity(pv.len());
        let mut nb = Vec::with_capacity(pv.len());
        for i in 0..pv.len() {
            let b = hp.momentum * bv[i] + gv[i] + hp.weight_decay * pv[i];
            nb.push(b);
            np.push(pv[i] - hp.lr * b);
        }
        Ok((Tensor::from_storage(Storage::Cpu(np), shape, None), Tensor::from_storage(Storage::Cpu(nb), shape, None)))
    }
}
