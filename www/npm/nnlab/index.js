// nnlab for tutorial authors: `embed` puts a whole lab in an element of the
// page; `Lab` trains a model in a Web Worker for authors who draw their own
// figures; the wasm module's functions are there for direct use in a worker.
export { embed, labUrl } from './embed.js';
export { Lab } from './client.js';
export { default as init, Session, inferShapes, specSchema, csvPreview, decodeSetup, readSessionFile, webgpuInfo } from './pkg/nnlab_web.js';
