//! Batched matrix multiply over strided operands.

use crate::context::{GpuBuffer, GpuContext, Result, Variant};
use crate::kernels::kernel_meta;

/// Both sides of C at least this long: the tiled kernel pays off.
const TILED_MIN: usize = 128;
/// ... and K at least this long: with fewer K-slices its two barriers per
/// slice cost more than workgroup memory saves (on SwiftShader a transformer's
/// [512, 64] @ [64, 256] ran 2-3x faster as 8x8 blocks per invocation).
const TILED_MIN_K: usize = 256;
/// What each matmul kernel's {{BIAS}} becomes: a binding and `bias_at(col)`,
/// the bias of column col (clamped to the last; columns past it are not
/// written), or 0 without one.
const BIAS_BINDING: &str =
    "@group(0) @binding(4) var<storage, read> bias: array<f32>;\nfn bias_at(col: u32) -> f32 { return bias[params.bias_offset + min(col, params.n - 1u)]; }";
const NO_BIAS: &str = "fn bias_at(col: u32) -> f32 { return 0.0; }";
/// The addend's binding, in the kernels a step plan's epilogue fusion makes.
const ADDEND_BINDING: &str = "@group(0) @binding(5) var<storage, read> addend: array<f32>;";

/// 8x8 blocks per invocation when that still gives this many workgroups.
/// Two keep both cores of a small machine busy on SwiftShader, where 8x8
/// blocks load half as much per multiply-add as 4x4 (weight gradients such
/// as [64, 512] @ [512, 64] ran about 1.5x faster).
const WIDE_MIN_GROUPS: usize = 2;
/// 128-row tiles (rather than 64) when they give this many workgroups.
const TALL_MIN_GROUPS: usize = 256;

/// A batch of matrices inside a buffer: element (b, i, j) lives at
/// `offset + (b / inner) * outer_stride + (b % inner) * batch_stride +
/// i * row_stride + j * col_stride`.
#[derive(Debug, Clone, Copy)]
pub struct MatrixView {
    pub batch_stride: usize,
    /// Matrices per run of `batch_stride`; runs are `outer_stride` apart.
    pub inner: usize,
    pub outer_stride: usize,
    pub row_stride: usize,
    pub col_stride: usize,
    pub offset: usize,
}

kernel_meta!(
    /// The matmul kernels' meta: the product's sizes, each operand's view
    /// (matrix z starts at offset + z / inner * outer stride + z % inner *
    /// batch stride), the bias offset and the scale alpha.
    pub(crate) MatmulMeta {
        batch: u32, m: u32, n: u32, k: u32,
        a_batch_stride: u32, a_row_stride: u32, a_col_stride: u32, a_offset: u32,
        b_batch_stride: u32, b_row_stride: u32, b_col_stride: u32, b_offset: u32,
        bias_offset: u32, a_inner: u32, a_outer_stride: u32, b_inner: u32, b_outer_stride: u32, alpha: f32,
    }
);

/// Which matmul kernel computes a product, and its optional bindings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct MatmulKernel {
    pub shape: MatmulShape,
    /// A bias over C's columns (binding 4).
    pub bias: bool,
    /// An array shaped as C, added to it element by element (binding 5): what
    /// a step plan's epilogue fusion folds in (see `epilogue.rs`).
    pub addend: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum MatmulShape {
    /// Workgroup tiles (`tiled_source`).
    Tiled(Tiling),
    /// One 8x8 block per invocation.
    Wide,
    /// One 4x4 block per invocation.
    Main,
}

impl MatmulKernel {
    fn entry(&self) -> &'static str {
        match self.shape {
            MatmulShape::Tiled(_) => "matmul_tiled",
            MatmulShape::Wide => "matmul_wide",
            MatmulShape::Main => "matmul_main",
        }
    }

    fn source(&self) -> String {
        let (entry, addend) = (self.entry(), self.addend);
        let source = match self.shape {
            MatmulShape::Tiled(tiling) => tiled_source(entry, tiling, addend),
            MatmulShape::Wide => blocked_source(entry, 8, addend),
            MatmulShape::Main => blocked_source(entry, 4, addend),
        };
        source.replace("{{BIAS}}", if self.bias { BIAS_BINDING } else { NO_BIAS }).replace("{{ADDEND}}", if addend { ADDEND_BINDING } else { "" })
    }
}

/// What a step plan keeps of a recorded matmul dispatch, so that fusion can
/// give it an addend: the kernel and the buffers of its bindings 0 to 4.
#[derive(Debug, Clone)]
pub(crate) struct MatmulCall {
    pub kernel: MatmulKernel,
    pub meta: wgpu::Buffer,
    pub a: wgpu::Buffer,
    pub b: wgpu::Buffer,
    pub out: wgpu::Buffer,
    pub bias: Option<wgpu::Buffer>,
    /// Elements of C.
    pub len: usize,
}

impl GpuContext {
    /// The pipeline of `kernel`. The tiled kernel clamps every read and guards
    /// every write, so it runs without wgpu's bounds checks.
    pub(crate) fn matmul_pipeline(&self, kernel: MatmulKernel) -> wgpu::ComputePipeline {
        let source = || kernel.source();
        match kernel.shape {
            MatmulShape::Tiled(_) => self.unchecked_pipeline_variant(kernel.entry(), Variant::Matmul(kernel), source),
            _ => self.pipeline_variant(kernel.entry(), Variant::Matmul(kernel), source),
        }
    }

    /// `C[b] = alpha * A[b] (m x k) @ B[b] (k x n)`, plus `bias` (n
    /// contiguous values at an element offset) on every row when given; C is
    /// contiguous `[batch, m, n]`.
    #[allow(clippy::too_many_arguments)]
    pub fn matmul(
        &self,
        a: &GpuBuffer,
        av: MatrixView,
        b: &GpuBuffer,
        bv: MatrixView,
        bias: Option<(&GpuBuffer, usize)>,
        alpha: f32,
        batch: usize,
        m: usize,
        n: usize,
        k: usize,
    ) -> Result<GpuBuffer> {
        if k == 0 && bias.is_none() {
            return self.upload(&vec![0.0; batch * m * n]);
        }
        let out = self.alloc(batch * m * n)?;
        if batch * m * n == 0 {
            return Ok(out);
        }
        let u = |v: usize| v as u32;
        let params = MatmulMeta {
            batch: u(batch),
            m: u(m),
            n: u(n),
            k: u(k),
            a_batch_stride: u(av.batch_stride),
            a_row_stride: u(av.row_stride),
            a_col_stride: u(av.col_stride),
            a_offset: u(av.offset),
            b_batch_stride: u(bv.batch_stride),
            b_row_stride: u(bv.row_stride),
            b_col_stride: u(bv.col_stride),
            b_offset: u(bv.offset),
            bias_offset: u(bias.map_or(0, |b| b.1)),
            a_inner: u(av.inner.max(1)),
            a_outer_stride: u(av.outer_stride),
            b_inner: u(bv.inner.max(1)),
            b_outer_stride: u(bv.outer_stride),
            alpha,
        };
        let meta = self.meta(params.words())?;
        // The bias binding exists only in the biased variant of each kernel.
        let has_bias = bias.is_some();
        let mut bindings = vec![&meta, a.raw(), b.raw(), out.raw()];
        bindings.extend(bias.map(|b| b.0.raw()));
        // Large products use 128-column workgroup tiles; small ones would leave
        // most of such a tile idle, so they use one 8x8 block per invocation
        // while that still makes WIDE_MIN_GROUPS workgroups, else 4x4.
        let wide_groups = n.div_ceil(64) * m.div_ceil(64) * batch;
        let (shape, groups) = if m >= TILED_MIN && n >= TILED_MIN && k >= TILED_MIN_K && self.limits().max_compute_workgroup_storage_size >= 16384 {
            // 128-row tiles keep the most values per workgroup in registers;
            // 64-row ones double the workgroups, which pays while a large GPU
            // would otherwise have idle cores (n = 1024 on an H200: 64 tiles).
            let wy = if n.div_ceil(128) * m.div_ceil(128) * batch < TALL_MIN_GROUPS { 8 } else { 16 };
            // vec4 loads of A pay with 64-row tiles only (H200, n = 1024: 18.1
            // -> 19.1 TFLOPS; n = 4096 with 128-row tiles: 33.8 -> 32.8).
            let a_vec4 = wy == 8
                && av.col_stride == 1
                && k.is_multiple_of(4)
                && [av.row_stride, av.offset, av.batch_stride, av.outer_stride].iter().all(|s| s.is_multiple_of(4));
            (MatmulShape::Tiled(Tiling { wy, a_vec4 }), (n.div_ceil(128), m.div_ceil(8 * wy), batch))
        } else if wide_groups >= WIDE_MIN_GROUPS {
            (MatmulShape::Wide, (n.div_ceil(64), m.div_ceil(64), batch))
        } else {
            (MatmulShape::Main, (n.div_ceil(32), m.div_ceil(32), batch))
        };
        let kernel = MatmulKernel { shape, bias: has_bias, addend: false };
        self.dispatch_groups(&self.matmul_pipeline(kernel), &bindings, (groups.0 as u32, groups.1 as u32, groups.2 as u32));
        if let Some(rec) = self.recording().borrow_mut().as_mut() {
            let raw = |b: &GpuBuffer| b.raw().clone();
            let bias = bias.map(|b| raw(b.0));
            rec.describe_last_matmul(MatmulCall { kernel, meta: meta.clone(), a: raw(a), b: raw(b), out: raw(&out), bias, len: batch * m * n });
        }
        Ok(out)
    }
}

/// The shape of a generated tiled matmul.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Tiling {
    /// Rows of 16 invocations: 8 (64-row tiles) or 16 (128-row tiles).
    wy: usize,
    /// A's rows are contiguous in K and start on 16-byte boundaries, so each
    /// invocation loads its share of an A slice as two vec4s.
    a_vec4: bool,
}

/// matmul_tiled.wgsl with its register code written out for `tiling`: the A
/// prefetch registers (8 scalars or 2 vec4s), 128 / wy B ones, and the 8x8
/// accumulators as 16 vec4s, c{i}{q} holding row i, columns 4q..4q+3 of what
/// the invocation owns.
///
/// The workgroup tiles are vec4 arrays read with 128-bit loads. Each
/// invocation owns two groups of 4 rows (4 wy apart) and of 4 columns (64
/// apart), so a warp's loads never hit one bank twice. The A slice is stored
/// transposed, each K-offset's row of vec4s padded by one, so that the
/// transposing stores conflict at most 2-way. This beats 8 adjacent rows and
/// columns per invocation on GPUs with banked workgroup memory (2x on an
/// H200) and on lavapipe, and ties with it on SwiftShader.
///
/// With 64-row tiles (4 warps; a large GPU then holds few per core) the K
/// loop is written out, so that the next steps' workgroup reads overlap this
/// step's multiply-adds (H200, n = 1024: 15.9 -> 18.1 TFLOPS); with 128-row
/// tiles the registers that costs lower occupancy (n = 4096: 33.8 -> 32.0).
fn tiled_source(entry: &str, tiling: Tiling, addend: bool) -> String {
    let Tiling { wy, a_vec4 } = tiling;
    let (na, nb, qs) = (if a_vec4 { 2 } else { 8 }, 128 / wy, 2 * wy + 1);
    // Row e of this invocation's A loads, relative to the tile.
    let a_row = |e: usize| if a_vec4 { format!("li / 4u + {}u", e * 4 * wy) } else { format!("ar + {}u", e * wy) };
    let declare = (0..na)
        .map(|e| {
            format!(
                "let a_at{e} = a_base + min(row0 + {0}, m - 1u) * params.a_row_stride; let a_in{e} = row0 + {0} < m; var ra{e} = {1}();",
                a_row(e),
                if a_vec4 { "vec4<f32>" } else { "f32" }
            )
        })
        .chain((0..nb).map(|e| format!("var rb{e} = 0.0;")))
        .chain((0..8).map(|i| format!("var c{i}0 = vec4<f32>(); var c{i}1 = vec4<f32>();")))
        .collect::<Vec<_>>()
        .join("\n    ");
    let load_a = if a_vec4 {
        std::iter::once("let ka = k0 + 4u * (li % 4u); let a_k = min(ka, k - 4u); let a_k_in = ka < k;".to_string())
            .chain((0..na).map(|e| format!("ra{e} = select(vec4<f32>(), a[(a_at{e} + a_k) / 4u], a_in{e} && a_k_in);")))
            .collect::<Vec<_>>()
    } else {
        std::iter::once("let ka = k0 + ak; let a_k = min(ka, k - 1u) * acs; let a_k_in = ka < k;".to_string())
            .chain((0..na).map(|e| format!("ra{e} = select(0.0, a[a_at{e} + a_k], a_in{e} && a_k_in);")))
            .collect::<Vec<_>>()
    };
    let load = load_a
        .into_iter()
        .chain((0..nb).map(|e| format!("let kb{e} = k0 + bk + {}u; rb{e} = select(0.0, b[b_at + min(kb{e}, k - 1u) * brs], b_in && kb{e} < k);", e * wy / 8)))
        .collect::<Vec<_>>()
        .join("\n            ");
    let shared = format!(
        "// As[kk * {qs} + q] holds rows 4q..4q+3 of the A tile at K-offset kk,\n// Bs[kk * 32 + q] columns 4q..4q+3 of the B tile.\nvar<workgroup> As: array<vec4<f32>, {}>;\nvar<workgroup> Bs: array<vec4<f32>, 512>;",
        16 * qs
    );
    let store_a: Vec<String> = if a_vec4 {
        (0..na)
            .flat_map(|e| (0..4).map(move |j| format!("As[(4u * (li % 4u) + {j}u) * {qs}u + li / 16u + {}u][(li / 4u) % 4u] = ra{e}[{j}];", e * wy)))
            .collect()
    } else {
        (0..na).map(|e| format!("As[ak * {qs}u + ar / 4u + {}u][ar % 4u] = ra{e};", e * wy / 4)).collect()
    };
    let store = store_a
        .into_iter()
        .chain((0..nb).map(|e| format!("Bs[(bk + {}u) * 32u + bc / 4u][bc % 4u] = rb{e};", e * wy / 8)))
        .collect::<Vec<_>>()
        .join("\n        ");
    let fma = (0..8)
        .map(|i| {
            format!("c{i}0 = fma(vec4<f32>({0}[{1}]), b0, c{i}0); c{i}1 = fma(vec4<f32>({0}[{1}]), b1, c{i}1);", if i < 4 { "a_lo" } else { "a_hi" }, i % 4)
        })
        .collect::<Vec<_>>()
        .join("\n                ");
    // One K step at K-offset kk (a WGSL expression).
    let step = |kk: &str| {
        format!(
            "{{\n                let a_lo = As[{kk} * {qs}u + lid.y]; let a_hi = As[{kk} * {qs}u + lid.y + {wy}u];\n                let b0 = Bs[{kk} * 32u + lid.x]; let b1 = Bs[{kk} * 32u + lid.x + 16u];\n                {fma}\n            }}"
        )
    };
    let slice = if wy == 8 {
        (0..16).map(|kk| step(&format!("{kk}u"))).collect::<Vec<_>>().join("\n        ")
    } else {
        format!("for (var kk = 0u; kk < KSTEP; kk++) {}", step("kk"))
    };
    let rows: Vec<String> = (0..8).map(|i| format!("row0 + {}u + lid.y * 4u + {}u", 4 * wy * (i / 4), i % 4)).collect();
    let cols: Vec<String> = (0..8).map(|j| format!("col0 + {}u + lid.x * 4u + {}u", 64 * (j / 4), j % 4)).collect();
    (MatmulMeta::wgsl() + include_str!("matmul_tiled.wgsl"))
        .replace("{{ENTRY}}", entry)
        .replace("{{A_ELEMENT}}", if a_vec4 { "vec4<f32>" } else { "f32" })
        .replace("{{WY}}", &wy.to_string())
        .replace("{{SHARED}}", &shared)
        .replace("{{DECLARE}}", &declare)
        .replace("{{LOAD}}", &load)
        .replace("{{STORE}}", &store)
        .replace("{{SLICE}}", &slice)
        .replace("{{WRITE}}", &write_cells(&rows, &cols, addend))
}

/// matmul_blocked.wgsl for `block` (4 or 8) rows and columns per invocation:
/// row and column addresses, the accumulators as block/4 vec4s per row, one
/// step of K, the masked write-back.
fn blocked_source(entry: &str, block: usize, addend: bool) -> String {
    let quads = block / 4;
    let declare = (0..block)
        .map(|e| {
            let acc = (0..quads).map(|q| format!(" var c{e}{q} = vec4<f32>();")).collect::<String>();
            format!("var ra{e} = a_base + min(row0 + {e}u, m - 1u) * ars; var cb{e} = b_base + min(col0 + {e}u, n - 1u) * bcs;{acc}")
        })
        .collect::<Vec<_>>()
        .join("\n    ");
    let loads = (0..quads)
        .map(|q| format!("let b{q} = vec4<f32>(b[cb{}], b[cb{}], b[cb{}], b[cb{}]);", 4 * q, 4 * q + 1, 4 * q + 2, 4 * q + 3))
        .collect::<Vec<_>>()
        .join(" ");
    let fma = (0..block)
        .map(|i| format!("let a{i} = vec4<f32>(a[ra{i}]);{}", (0..quads).map(|q| format!(" c{i}{q} = fma(a{i}, b{q}, c{i}{q});")).collect::<String>()))
        .collect::<Vec<_>>()
        .join("\n        ");
    let advance = (0..block).map(|e| format!("ra{e} += acs; cb{e} += brs;")).collect::<Vec<_>>().join(" ");
    (MatmulMeta::wgsl() + include_str!("matmul_blocked.wgsl"))
        .replace("{{ENTRY}}", entry)
        .replace("{{BLOCK}}", &block.to_string())
        .replace("{{DECLARE}}", &declare)
        .replace("{{STEP}}", &format!("{loads}\n        {fma}\n        {advance}"))
        .replace("{{WRITE}}", &write_block(block, "row0", "col0", addend))
}

/// Writes the accumulators c{i}{q} of a block whose first row and column are
/// the WGSL expressions `row` and `col` into C, adding the bias (and the
/// addend), skipping rows and columns past the edge.
fn write_block(block: usize, row: &str, col: &str, addend: bool) -> String {
    let rows: Vec<String> = (0..block).map(|i| format!("{row} + {i}u")).collect();
    write_cells(&rows, &(0..block).map(|j| format!("{col} + {j}u")).collect::<Vec<_>>(), addend)
}

/// Writes accumulator value c{i}{j / 4}[j % 4] to row `rows[i]` and column
/// `cols[j]` of C (WGSL expressions), adding the bias (and the addend's
/// element at the same place), skipping rows and columns past the edge.
fn write_cells(rows: &[String], cols: &[String], addend: bool) -> String {
    let bias = std::iter::once("let alpha = params.alpha;".to_string())
        .chain(cols.iter().enumerate().map(|(j, col)| format!("let bias{j} = bias_at({col});")))
        .collect::<Vec<_>>()
        .join(" ");
    let rows = rows.iter().enumerate().map(|(i, row)| {
        let cols = cols
            .iter()
            .enumerate()
            .map(|(j, col)| {
                let sum = format!("c{i}{}[{}] * alpha + bias{j}", j / 4, j % 4);
                if addend {
                    format!("if ({col} < n) {{ c[at + {col}] = {sum} + addend[at + {col}]; }}")
                } else {
                    format!("if ({col} < n) {{ c[at + {col}] = {sum}; }}")
                }
            })
            .collect::<Vec<_>>()
            .join(" ");
        format!("if ({row} < m) {{ let at = c_base + ({row}) * n; {cols} }}")
    });
    std::iter::once(bias).chain(rows).collect::<Vec<_>>().join("\n    ")
}
