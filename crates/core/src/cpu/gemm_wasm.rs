//! A packed SGEMM for WebAssembly simd128 (what the browser's CPU backend
//! runs; natively `matrixmultiply` has AVX2/FMA kernels). BLIS-style: B is
//! packed into panels NR columns wide and A into panels MR rows tall, a block
//! of KC at a time, so the micro-kernel streams both from contiguous memory
//! and keeps the MR x NR tile of C in registers: MR * NR / 4 = 8 accumulators,
//! two vectors of B and one splat of A. The tile is 4 x 8 rather than the
//! 6 x 8 of native kernels because V8 on x64 keeps one of the 16 vector
//! registers as scratch: 6 x 8 needs all 15 that remain and spills (measured
//! in Chromium: 4 x 8 runs about 1.4x faster; unrolling K runs slower). With
//! the relaxed-simd target feature a multiply-add is one fused instruction
//! where the machine has one.

use core::arch::wasm32::*;
use std::cell::RefCell;

const MR: usize = 4;
const NR: usize = 8;
const KC: usize = 256;
const MC: usize = 96;
const NC: usize = 1024;

/// An operand: element (i, j) at `ptr + i * rows + j * cols`.
#[derive(Clone, Copy)]
pub struct View {
    pub ptr: *const f32,
    pub rows: isize,
    pub cols: isize,
}

impl View {
    /// # Safety
    /// (i, j) must be inside the operand.
    #[inline(always)]
    unsafe fn at(&self, i: usize, j: usize) -> f32 {
        unsafe { *self.ptr.offset(i as isize * self.rows + j as isize * self.cols) }
    }
}

#[inline(always)]
fn madd(a: v128, b: v128, acc: v128) -> v128 {
    #[cfg(target_feature = "relaxed-simd")]
    {
        f32x4_relaxed_madd(a, b, acc)
    }
    #[cfg(not(target_feature = "relaxed-simd"))]
    {
        f32x4_add(acc, f32x4_mul(a, b))
    }
}

/// `C += alpha * A (m x k) @ B (k x n)`, C row-major with `ldc` floats a row.
///
/// # Safety
/// Every (i, p) of A for i < m, p < k and (p, j) of B for p < k, j < n must
/// be readable, and C must hold m rows of `ldc` >= n floats.
#[allow(clippy::too_many_arguments)]
pub unsafe fn sgemm(m: usize, k: usize, n: usize, alpha: f32, a: View, b: View, c: *mut f32, ldc: usize) {
    thread_local! {
        // The packed panels, kept between calls: training multiplies the same
        // shapes every step, and packing writes every element it reads.
        static PACKED: RefCell<(Vec<f32>, Vec<f32>)> = const { RefCell::new((Vec::new(), Vec::new())) };
    }
    PACKED.with(|p| {
        let (packed_a, packed_b) = &mut *p.borrow_mut();
        let grow = |v: &mut Vec<f32>, len: usize| {
            if v.len() < len {
                v.resize(len, 0.0)
            }
        };
        grow(packed_b, KC.min(k) * NC.min(n).div_ceil(NR) * NR);
        grow(packed_a, MC.min(m).div_ceil(MR) * MR * KC.min(k));
        unsafe { blocked(m, k, n, alpha, a, b, c, ldc, packed_a, packed_b) }
    })
}

/// The loops around the micro-kernel, with room for the packed panels.
#[allow(clippy::too_many_arguments)]
unsafe fn blocked(m: usize, k: usize, n: usize, alpha: f32, a: View, b: View, c: *mut f32, ldc: usize, packed_a: &mut [f32], packed_b: &mut [f32]) {
    for jc in (0..n).step_by(NC) {
        let nc = NC.min(n - jc);
        for pc in (0..k).step_by(KC) {
            let kc = KC.min(k - pc);
            unsafe { pack_b(packed_b, b, pc, kc, jc, nc) };
            for ic in (0..m).step_by(MC) {
                let mc = MC.min(m - ic);
                unsafe { pack_a(packed_a, a, ic, mc, pc, kc) };
                for jr in (0..nc).step_by(NR) {
                    let pb = packed_b[jr * kc..].as_ptr();
                    for ir in (0..mc).step_by(MR) {
                        let pa = packed_a[ir * kc..].as_ptr();
                        let tile = unsafe { kernel(kc, pa, pb) };
                        let (rows, cols) = (MR.min(mc - ir), NR.min(nc - jr));
                        unsafe { add_tile(&tile, alpha, c.add((ic + ir) * ldc + jc + jr), ldc, rows, cols) };
                    }
                }
            }
        }
    }
}

/// B's rows pc..pc+kc, columns jc..jc+nc, as panels of NR columns: panel q
/// holds (p, q * NR + j) at q * NR * kc + p * NR + j, zero past column nc.
unsafe fn pack_b(out: &mut [f32], b: View, pc: usize, kc: usize, jc: usize, nc: usize) {
    for (q, panel) in out.chunks_exact_mut(NR * kc).take(nc.div_ceil(NR)).enumerate() {
        let width = NR.min(nc - q * NR);
        for p in 0..kc {
            let row = &mut panel[p * NR..(p + 1) * NR];
            for (j, v) in row.iter_mut().enumerate() {
                *v = if j < width { unsafe { b.at(pc + p, jc + q * NR + j) } } else { 0.0 };
            }
        }
    }
}

/// A's rows ic..ic+mc, columns pc..pc+kc, as panels of MR rows: panel q holds
/// (q * MR + i, p) at q * MR * kc + p * MR + i, zero past row mc.
unsafe fn pack_a(out: &mut [f32], a: View, ic: usize, mc: usize, pc: usize, kc: usize) {
    for (q, panel) in out.chunks_exact_mut(MR * kc).take(mc.div_ceil(MR)).enumerate() {
        let height = MR.min(mc - q * MR);
        for p in 0..kc {
            let col = &mut panel[p * MR..(p + 1) * MR];
            for (i, v) in col.iter_mut().enumerate() {
                *v = if i < height { unsafe { a.at(ic + q * MR + i, pc + p) } } else { 0.0 };
            }
        }
    }
}

/// The MR x NR product of an A panel and a B panel over `kc`: row i's
/// columns 0..4 in `[i][0]`, 4..8 in `[i][1]`.
#[inline(always)]
unsafe fn kernel(kc: usize, pa: *const f32, pb: *const f32) -> [[v128; 2]; MR] {
    let mut acc = [[f32x4_splat(0.0); 2]; MR];
    for p in 0..kc {
        unsafe {
            let b0 = v128_load(pb.add(p * NR) as *const v128);
            let b1 = v128_load(pb.add(p * NR + 4) as *const v128);
            let a = pa.add(p * MR);
            for (i, row) in acc.iter_mut().enumerate() {
                let ai = v128_load32_splat(a.add(i) as *const u32);
                row[0] = madd(ai, b0, row[0]);
                row[1] = madd(ai, b1, row[1]);
            }
        }
    }
    acc
}

/// C's `rows` x `cols` corner at `c` += alpha * tile.
#[inline(always)]
unsafe fn add_tile(tile: &[[v128; 2]; MR], alpha: f32, c: *mut f32, ldc: usize, rows: usize, cols: usize) {
    let scale = f32x4_splat(alpha);
    if cols == NR {
        for (i, row) in tile.iter().enumerate().take(rows) {
            unsafe {
                let out = c.add(i * ldc) as *mut v128;
                v128_store(out, madd(row[0], scale, v128_load(out)));
                let out = c.add(i * ldc + 4) as *mut v128;
                v128_store(out, madd(row[1], scale, v128_load(out)));
            }
        }
        return;
    }
    let mut spill = [0.0f32; NR];
    for (i, row) in tile.iter().enumerate().take(rows) {
        unsafe {
            v128_store(spill.as_mut_ptr() as *mut v128, row[0]);
            v128_store(spill.as_mut_ptr().add(4) as *mut v128, row[1]);
            for (j, v) in spill.iter().enumerate().take(cols) {
                *c.add(i * ldc + j) += alpha * v;
            }
        }
    }
}
