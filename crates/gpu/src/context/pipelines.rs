//! Compiled pipelines, cached by entry point (and variant) or, for kernels
//! generated at run time, by their source.

use super::GpuContext;
use crate::kernels::STORAGE_BINDINGS;
use crate::kernels::matmul::MatmulKernel;

/// What tells apart the pipelines compiled from one entry point: the
/// constants its source is built with. With the entry name, the cache key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Variant {
    /// The source as written.
    Only,
    /// With or without a bias binding.
    Bias(bool),
    /// A matmul kernel with its optional bindings.
    Matmul(MatmulKernel),
    /// An elementwise kernel for one op code and addressing mode.
    Elementwise { op: u32, contiguous: bool },
    /// A row normalisation, with or without its affine part in the kernel.
    Rows { op: u32, affine: bool },
    /// A reduction for one op code, its reduced elements on one line or not.
    Reduce { op: u32, line: bool },
    /// A concatenation of this many parts.
    Parts(usize),
    /// A recurrence's cell and hidden size (its arrays and workgroup size).
    Recurrence { kind: u32, hidden: usize },
}

impl GpuContext {
    /// Pipeline for the entry point `entry` of the WGSL that `source` builds,
    /// compiled once and cached by entry name (entry names are unique).
    pub(crate) fn pipeline(&self, entry: &'static str, source: impl FnOnce() -> String) -> wgpu::ComputePipeline {
        self.pipeline_variant(entry, Variant::Only, source)
    }

    /// Like `pipeline`, for kernels compiled once per `variant` (source
    /// constants such as an op code), cached by entry name and variant.
    pub(crate) fn pipeline_variant(&self, entry: &'static str, variant: Variant, source: impl FnOnce() -> String) -> wgpu::ComputePipeline {
        self.cached_pipeline(entry, variant, true, source)
    }

    /// Like `pipeline_variant`, compiled without the bounds checks that wgpu
    /// adds to every array access (about 15% of a large matmul on an NVIDIA
    /// H200). Only for kernels whose every index is in bounds by construction:
    /// clamped reads, guarded writes, workgroup arrays indexed below their size.
    /// Browsers keep their own checks.
    pub(crate) fn unchecked_pipeline_variant(&self, entry: &'static str, variant: Variant, source: impl FnOnce() -> String) -> wgpu::ComputePipeline {
        self.cached_pipeline(entry, variant, false, source)
    }

    fn cached_pipeline(&self, entry: &'static str, variant: Variant, checked: bool, source: impl FnOnce() -> String) -> wgpu::ComputePipeline {
        if let Some(p) = self.0.pipelines.borrow().get(&(entry, variant)) {
            return p.clone();
        }
        let pipeline = self.compile(entry, source(), checked);
        self.0.pipelines.borrow_mut().insert((entry, variant), pipeline.clone());
        pipeline
    }

    /// Pipeline for a kernel generated at run time, cached by its source.
    pub(crate) fn generated_pipeline(&self, entry: &'static str, source: String) -> wgpu::ComputePipeline {
        if let Some(p) = self.0.generated.borrow().get(&source) {
            return p.clone();
        }
        let pipeline = self.compile(entry, source.clone(), true);
        self.0.generated.borrow_mut().insert(source, pipeline.clone());
        pipeline
    }

    fn compile(&self, entry: &'static str, source: String, checked: bool) -> wgpu::ComputePipeline {
        dump(entry, &source);
        // Adapters may allow more, but a kernel must run on every device.
        let storage = source.lines().filter(|l| l.contains("var<storage")).count();
        debug_assert!(storage <= STORAGE_BINDINGS, "{entry} binds {storage} storage buffers; WebGPU guarantees {STORAGE_BINDINGS}");
        let writes = written_bindings(&source);
        let desc = wgpu::ShaderModuleDescriptor { label: Some(entry), source: wgpu::ShaderSource::Wgsl(source.into()) };
        let module = if checked {
            self.0.device.create_shader_module(desc)
        } else {
            // SAFETY: the caller's kernel keeps its accesses in bounds (see above).
            unsafe { self.0.device.create_shader_module_trusted(desc, wgpu::ShaderRuntimeChecks::unchecked()) }
        };
        let pipeline = self.0.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(entry),
            layout: None,
            module: &module,
            entry_point: Some(entry),
            compilation_options: Default::default(),
            cache: None,
        });
        self.0.pipeline_info.borrow_mut().insert(pipeline.clone(), PipelineInfo { entry, writes });
        pipeline
    }
}

/// What a plan needs to know of a cached pipeline.
pub(super) struct PipelineInfo {
    pub(super) entry: &'static str,
    /// The bindings its WGSL declares `read_write`.
    pub(super) writes: Vec<u32>,
}

/// The binding numbers that `source` declares as `read_write` storage. Every
/// kernel declares one binding per line (`@group(0) @binding(3) var<storage,
/// read_write> out: array<f32>;`).
fn written_bindings(source: &str) -> Vec<u32> {
    source.lines().filter(|l| l.contains("read_write")).filter_map(|l| l.split("@binding(").nth(1)?.split(')').next()?.trim().parse().ok()).collect()
}

/// With `NNLAB_DUMP_WGSL=<folder>` (native builds), every compiled kernel's
/// source is written there as `<entry>-<hash of the source>.wgsl`, so a reader
/// can see exactly the kernel that ran, generated parts included.
#[cfg(not(target_arch = "wasm32"))]
fn dump(entry: &str, source: &str) {
    use std::hash::{Hash, Hasher};
    let Some(dir) = std::env::var_os("NNLAB_DUMP_WGSL") else { return };
    let mut h = std::collections::hash_map::DefaultHasher::new();
    source.hash(&mut h);
    let path = std::path::Path::new(&dir).join(format!("{entry}-{:016x}.wgsl", h.finish()));
    if let Err(e) = std::fs::create_dir_all(&dir).and_then(|_| std::fs::write(&path, source)) {
        eprintln!("NNLAB_DUMP_WGSL: could not write {}: {e}", path.display());
    }
}

#[cfg(target_arch = "wasm32")]
fn dump(_entry: &str, _source: &str) {}
