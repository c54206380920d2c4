//! One module per kernel family; each launches the `.wgsl` files beside it.

pub mod attention_scan;
pub mod conv;
pub mod copy;
pub mod cross_entropy;
pub mod elementwise;
pub(crate) mod fused;
pub mod index;
pub mod lstm;
pub mod matmul;
pub mod optim;
pub mod pool;
pub mod random;
pub mod recurrence;
pub mod reduce;
pub mod rows;
pub mod ssm_scan;
pub(crate) mod strided;

/// Storage buffers every WebGPU device lets a shader stage bind (the spec's
/// minimum): kernels generated for a variable number of inputs stay within it.
pub(crate) const STORAGE_BINDINGS: usize = 8;

/// Most inputs such a kernel takes: the meta words and the output bind the rest.
pub(crate) const MAX_INPUTS: usize = STORAGE_BINDINGS - 2;

/// The binding declarations of a generated kernel with `inputs` f32 inputs
/// after its meta struct (bound at 0): `in0`, `in1`, .. from 1, the output `out` last.
pub(crate) fn input_bindings(inputs: usize) -> String {
    (0..inputs)
        .map(|j| format!("@group(0) @binding({}) var<storage, read> in{j}: array<f32>;", j + 1))
        .chain([format!("@group(0) @binding({}) var<storage, read_write> out: array<f32>;", inputs + 1)])
        .collect::<Vec<_>>()
        .join("\n")
}

/// common.wgsl: a launch grid's linear index, infinity and NaN.
pub(crate) fn common() -> &'static str {
    include_str!("common.wgsl")
}

/// How a meta field's Rust type is spelled in WGSL.
pub(crate) trait WgslType {
    fn wgsl_type() -> String;
}

impl WgslType for u32 {
    fn wgsl_type() -> String {
        "u32".into()
    }
}

impl WgslType for f32 {
    fn wgsl_type() -> String {
        "f32".into()
    }
}

impl<T: WgslType, const N: usize> WgslType for [T; N] {
    fn wgsl_type() -> String {
        format!("array<{}, {N}>", T::wgsl_type())
    }
}

/// Declares a kernel's meta words once: a `#[repr(C)]` struct that the
/// launcher fills and uploads (`words`), and the same struct in WGSL, bound
/// at 0 as `params` (`wgsl`, which the launcher prepends; `meta` is a reserved
/// word there), so shaders read `params.kh`, not `desc[5]`. Fields are u32,
/// f32, arrays of them or other such structs; `and views: [T]` adds a
/// runtime-sized array after them (`words_with`), as WGSL allows last.
macro_rules! kernel_meta {
    ($(#[$doc:meta])* $vis:vis $name:ident { $($(#[$fdoc:meta])* $field:ident: $ty:ty),* $(,)? } $(and $tail:ident: [$tail_ty:ty])?) => {
        $(#[$doc])*
        #[repr(C)]
        #[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
        $vis struct $name {
            $($(#[$fdoc])* pub $field: $ty),*
        }

        impl $name {
            pub(crate) fn words(&self) -> &[u32] {
                bytemuck::cast_slice(std::slice::from_ref(self))
            }

            $(
            /// The struct's words followed by those of `tail`, the runtime-sized array.
            pub(crate) fn words_with(&self, $tail: &[$tail_ty]) -> Vec<u32> {
                [self.words(), bytemuck::cast_slice($tail)].concat()
            }
            )?

            /// The WGSL struct, bound at 0 as a read-only storage buffer.
            #[allow(dead_code)]
            pub(crate) fn wgsl() -> String {
                Self::wgsl_bound("storage, read")
            }

            /// The WGSL struct bound at 0 as a uniform buffer, for kernels that
            /// need every storage binding a device guarantees (upload with
            /// `GpuContext::uniform`).
            #[allow(dead_code)]
            pub(crate) fn wgsl_uniform() -> String {
                Self::wgsl_bound("uniform")
            }

            fn wgsl_bound(space: &str) -> String {
                use $crate::kernels::WgslType;
                let fields: String = [
                    $(format!("    {}: {},\n", stringify!($field), <$ty>::wgsl_type()),)*
                    $(format!("    {}: array<{}>,\n", stringify!($tail), <$tail_ty>::wgsl_type()),)?
                ].concat();
                format!("struct {0} {{\n{fields}}}\n@group(0) @binding(0) var<{space}> params: {0};\n", stringify!($name))
            }
        }
    };
}
pub(crate) use kernel_meta;

/// Declares an op enum and, from the same list, the WGSL constants that name
/// its codes (`const UNARY_ERF: u32 = 17u;`), so a kernel's switch says
/// `case UNARY_ERF:` and no number is kept equal by hand.
macro_rules! op_codes {
    ($(#[$doc:meta])* $name:ident, $prefix:literal { $($(#[$vdoc:meta])* $variant:ident => $wgsl:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(u32)]
        pub enum $name { $($(#[$vdoc])* $variant),* }

        impl $name {
            pub(crate) fn wgsl_constants() -> String {
                [$(format!("const {}_{}: u32 = {}u;\n", $prefix, $wgsl, $name::$variant as u32)),*].concat()
            }
        }
    };
}
pub(crate) use op_codes;
