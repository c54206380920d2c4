//! Batched matrix multiply over strided operands.

use crate::context::{GpuBuffer, GpuContext, Result};

/// Both sides of C at least this long: the tiled kernel pays off.
const TILED_MIN: usize = 128;
/// What each matmul kernel's {{BIAS}} becomes: a binding and `bias_at(col)`,
/// the bias of column col (clamped to the last; columns past it are not
/// written), or 0 without one.
const BIAS_BINDING: &str = "@group(0) @binding(4) var<storage, read> bias: array<f32>;\nfn bias_at(col: u32) -> f32 { return bias[desc[12] + min(col, desc[2] - 1u)]; }";
const NO_BIAS: &str = "fn bias_at(col: u32) -> f32 { return 0.0; }";

/// 8x8 blocks per invocation when that still gives this many workgroups.
const WIDE_MIN_GROUPS: usize = 8;

/// A batch of matrices inside a buffer: element (b, i, j) lives at
/// `offset + b * batch_stride + i * row_stride + j * col_stride`.
#[derive(Debug, Clone, Copy)]
pub struct MatrixView {
    pub batch_stride: usize,
    pub row_stride: usize,
    pub col_stride: usize,
    pub offset: usize,
}

impl GpuContext {
    /// `C[b] = A[b] (m x k) @ B[b] (k x n)`, plus `bias` (n contiguous
    /// values at an element offset) on every row when given; C is contiguous
    /// `[batch, m, n]`.
    #[allow(clippy::too_many_arguments)]
    pub fn matmul(&self, a: &GpuBuffer, av: MatrixView, b: &GpuBuffer, bv: MatrixView, bias: Option<(&GpuBuffer, usize)>, batch: usize, m: usize, n: usize, k: usize) -> Result<GpuBuffer> {
        if k == 0 && bias.is_none() {
            return self.upload(&vec![0.0; batch * m * n]);
        }
        let out = self.alloc(batch * m * n)?;
        if batch * m * n == 0 {
            return Ok(out);
        }
        let words: Vec<u32> = [batch, m, n, k, av.batch_stride, av.row_stride, av.col_stride, av.offset, bv.batch_stride, bv.row_stride, bv.col_stride, bv.offset, bias.map_or(0, |b| b.1)]
            .iter()
            .map(|&w| w as u32)
            .collect();
        let meta = self.meta(&words)?;
        // The bias binding exists only in the biased variant of each kernel.
        let has_bias = bias.is_some();
        let mut bindings = vec![&meta, a.raw(), b.raw(), out.raw()];
        bindings.extend(bias.map(|b| b.0.raw()));
        let with_bias = |source: String| source.replace("{{BIAS}}", if has_bias { BIAS_BINDING } else { NO_BIAS });
        // Large products use 128x128 workgroup tiles; small ones would leave
        // most of such a tile idle, so they use one 8x8 block per invocation
        // while that still makes WIDE_MIN_GROUPS workgroups, else 4x4.
        let wide_groups = n.div_ceil(64) * m.div_ceil(64) * batch;
        if m >= TILED_MIN && n >= TILED_MIN && self.limits().max_compute_workgroup_storage_size >= 16384 {
            let pipeline = self.pipeline_variant("matmul_tiled", has_bias as u32, || with_bias(tiled_source()));
            self.dispatch_groups(&pipeline, &bindings, (n.div_ceil(128) as u32, m.div_ceil(128) as u32, batch as u32));
        } else if wide_groups >= WIDE_MIN_GROUPS {
            let pipeline = self.pipeline_variant("matmul_wide", has_bias as u32, || with_bias(blocked_source("matmul_wide", 8)));
            self.dispatch_groups(&pipeline, &bindings, (n.div_ceil(64) as u32, m.div_ceil(64) as u32, batch as u32));
        } else {
            let pipeline = self.pipeline_variant("matmul_main", has_bias as u32, || with_bias(blocked_source("matmul_main", 4)));
            self.dispatch_groups(&pipeline, &bindings, ((n.div_ceil(32)) as u32, (m.div_ceil(32)) as u32, batch as u32));
        }
        Ok(out)
    }
}

/// matmul_tiled.wgsl with its register code written out: 8 prefetch
/// registers per operand and an 8x8 accumulator block as 16 vec4s.
fn tiled_source() -> String {
    let e8 = 0..8;
    let declare = e8.clone().map(|e| format!("var ra{e} = 0.0; var rb{e} = 0.0;")).chain((0..8).map(|i| format!("var c{i}0 = vec4<f32>(); var c{i}1 = vec4<f32>();"))).collect::<Vec<_>>().join("\n    ");
    let load = |k0: &str| e8.clone().map(|e| format!("ra{e} = load_a(li + {e}u * 256u, {k0}, row0); rb{e} = load_b(li + {e}u * 256u, {k0}, col0);")).collect::<Vec<_>>().join("\n            ");
    let store = e8.clone().map(|e| format!("As[((li + {e}u * 256u) % KSTEP) * TILE + (li + {e}u * 256u) / KSTEP] = ra{e}; Bs[li + {e}u * 256u] = rb{e};")).collect::<Vec<_>>().join("\n        ");
    let fma = (0..8).map(|i| format!("let a{i} = vec4<f32>(As[ab + {i}u]); c{i}0 = fma(a{i}, b0, c{i}0); c{i}1 = fma(a{i}, b1, c{i}1);")).collect::<Vec<_>>().join("\n            ");
    include_str!("matmul_tiled.wgsl")
        .replace("{{DECLARE}}", &declare)
        .replace("{{LOAD_FIRST}}", &load("0u"))
        .replace("{{STORE}}", &store)
        .replace("{{LOAD_NEXT}}", &load("k0"))
        .replace("{{FMA}}", &fma)
        .replace("{{WRITE}}", &write_block(8, "row0 + lid.y * 8u", "c0"))
}

/// matmul_blocked.wgsl for `block` (4 or 8) rows and columns per invocation:
/// row and column addresses, the accumulators as block/4 vec4s per row, one
/// step of K, the masked write-back.
fn blocked_source(entry: &str, block: usize) -> String {
    let quads = block / 4;
    let declare = (0..block)
        .map(|e| {
            let acc = (0..quads).map(|q| format!(" var c{e}{q} = vec4<f32>();")).collect::<String>();
            format!("var ra{e} = a_base + min(row0 + {e}u, m - 1u) * ars; var cb{e} = b_base + min(col0 + {e}u, n - 1u) * bcs;{acc}")
        })
        .collect::<Vec<_>>()
        .join("\n    ");
    let loads = (0..quads).map(|q| format!("let b{q} = vec4<f32>(b[cb{}], b[cb{}], b[cb{}], b[cb{}]);", 4 * q, 4 * q + 1, 4 * q + 2, 4 * q + 3)).collect::<Vec<_>>().join(" ");
    let fma = (0..block)
        .map(|i| format!("let a{i} = vec4<f32>(a[ra{i}]);{}", (0..quads).map(|q| format!(" c{i}{q} = fma(a{i}, b{q}, c{i}{q});")).collect::<String>()))
        .collect::<Vec<_>>()
        .join("\n        ");
    let advance = (0..block).map(|e| format!("ra{e} += acs; cb{e} += brs;")).collect::<Vec<_>>().join(" ");
    include_str!("matmul_blocked.wgsl")
        .replace("{{ENTRY}}", entry)
        .replace("{{BLOCK}}", &block.to_string())
        .replace("{{DECLARE}}", &declare)
        .replace("{{STEP}}", &format!("{loads}\n        {fma}\n        {advance}"))
        .replace("{{WRITE}}", &write_block(block, "row0", "col0"))
}

/// Writes the accumulators c{i}{q} of a block whose first row and column are
/// the WGSL expressions `row` and `col` into C, adding the bias, skipping rows
/// and columns past the edge.
fn write_block(block: usize, row: &str, col: &str) -> String {
    let bias = (0..block).map(|j| format!("let bias{j} = bias_at({col} + {j}u);")).collect::<Vec<_>>().join(" ");
    let rows = (0..block).map(|i| {
        let cols = (0..block).map(|j| format!("if ({col} + {j}u < n) {{ c[at + {j}u] = c{i}{}[{}] + bias{j}; }}", j / 4, j % 4)).collect::<Vec<_>>().join(" ");
        format!("if ({row} + {i}u < m) {{ let at = c_base + ({row} + {i}u) * n + {col}; {cols} }}")
    });
    std::iter::once(bias).chain(rows).collect::<Vec<_>>().join("\n    ")
}
