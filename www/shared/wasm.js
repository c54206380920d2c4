// Which build of the wasm module a browser runs. Relaxed SIMD gives the CPU
// backend's matrix products a fused multiply-add; browsers without it (older
// Safari) get the plain simd128 build. Both come from the same source with the
// same bindings (xtask/src/site.rs), so only the .wasm file differs.

// A function returning f32x4.relaxed_madd of three zero vectors: valid only
// where the browser has relaxed SIMD.
const ZERO = [0xfd, 0x0c, ...new Array(16).fill(0)];
const BODY = [0x00, ...ZERO, ...ZERO, ...ZERO, 0xfd, 0x85, 0x02, 0x0b];
const PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type: () -> v128
  0x03, 0x02, 0x01, 0x00, // one function of that type
  0x0a, BODY.length + 2, 0x01, BODY.length, ...BODY, // its code
]);

export const BUILDS = Object.freeze(['relaxed-simd', 'simd128']);

// The build to load: `wanted` ('relaxed-simd' | 'simd128', e.g. from a test)
// when the browser can run it, else the best it can.
export function chooseBuild(wanted = null) {
  const relaxed = WebAssembly.validate(PROBE);
  if (wanted === 'simd128' || !relaxed) return 'simd128';
  return 'relaxed-simd';
}

// What the glue's init() takes for `build`, the package folder being `pkg`.
export function initArgs(build, pkg) {
  return build === 'relaxed-simd' ? { module_or_path: new URL('nnlab_web_relaxed_bg.wasm', pkg) } : undefined;
}
