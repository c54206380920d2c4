// The wasm API for this worker, from the build the browser and the page can
// run best (www/shared/wasm.js): every worker module imports it from here.
// `?wasm=` on the worker's address asks for a build (tests, the benchmark).
// The exports are live bindings, set once `loaded` resolves: the worker's
// handlers only run after it (its serial queue starts with it).
import { chooseBuild, gluePath, initArgs } from '../shared/wasm.js';

export let build = chooseBuild(new URL(self.location.href).searchParams.get('wasm'), self.crossOriginIsolated);
export let Session, csvPreview, decodeSetup, inferShapes, readSessionFile, specSchema, webgpuInfo;
export let experimentPlan, experimentReport, PfnModel, PfnTraining, tableBaseline;

const root = new URL('../', import.meta.url);
const POOL_START_MS = 10_000;

async function load(which) {
  const glue = await import(new URL(gluePath(which), root).href);
  await glue.default(initArgs(which, new URL('pkg/', root)));
  // The threaded build's pool: a worker per core, started before any work.
  // A start that never finishes (a browser that drops a starting worker)
  // must not leave the page loading forever.
  if (which === 'threads') {
    let timer;
    const late = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`the thread pool did not start within ${POOL_START_MS / 1000} s`)), POOL_START_MS); });
    await Promise.race([glue.initThreadPool(Math.max(1, navigator.hardwareConcurrency || 1)), late]).finally(() => clearTimeout(timer));
  }
  return glue;
}

// A threaded build that fails to start (a browser that limits workers or
// shared memory) leaves the single-threaded one to run.
export const loaded = load(build)
  .catch((e) => {
    if (build !== 'threads') throw e;
    console.warn('nnlab: the threaded build did not start, running single-threaded:', e);
    build = chooseBuild('relaxed-simd');
    return load(build);
  })
  .then((glue) => {
    ({ Session, csvPreview, decodeSetup, inferShapes, readSessionFile, specSchema, webgpuInfo } = glue);
    ({ experimentPlan, experimentReport, PfnModel, PfnTraining, tableBaseline } = glue);
  });
