// Which build of the wasm module a browser runs. Relaxed SIMD gives the CPU
// backend's matrix products a fused multiply-add; browsers without it (older
// Safari) get the plain simd128 build. Both come from the same source with the
// same bindings (xtask/src/site.rs), so only the .wasm file differs. Where the
// page is cross-origin isolated (SharedArrayBuffer exists) the threaded
// package (pkg-threads/: relaxed SIMD, shared memory, its own bindings) runs
// large products on a pool of workers.

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

export const BUILDS = Object.freeze(['threads', 'relaxed-simd', 'simd128']);

// The build to load: `wanted` (one of BUILDS, e.g. from `?wasm=` or a test)
// when the browser and the page can run it, else the best they can.
// `isolated`: the page's crossOriginIsolated.
export function chooseBuild(wanted = null, isolated = false) {
  const relaxed = WebAssembly.validate(PROBE);
  if (wanted === 'simd128' || !relaxed) return 'simd128';
  if (wanted === 'relaxed-simd' || !isolated || typeof SharedArrayBuffer === 'undefined') return 'relaxed-simd';
  return 'threads';
}

// The bindings module of `build`, relative to the folder holding pkg/.
export function gluePath(build) {
  return build === 'threads' ? 'pkg-threads/nnlab_web.js' : 'pkg/nnlab_web.js';
}

// What the glue's init() takes for `build`, the package folder being `pkg`.
export function initArgs(build, pkg) {
  return build === 'relaxed-simd' ? { module_or_path: new URL('nnlab_web_relaxed_bg.wasm', pkg) } : undefined;
}

// How the page names a build.
export function describeBuild(build) {
  return { threads: 'WebAssembly, relaxed SIMD, threads', 'relaxed-simd': 'WebAssembly, relaxed SIMD', simd128: 'WebAssembly, SIMD' }[build];
}
