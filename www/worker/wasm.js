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

async function load(which) {
  const glue = await import(new URL(gluePath(which), root).href);
  await glue.default(initArgs(which, new URL('pkg/', root)));
  // The threaded build's pool: a worker per core, started before any work.
  if (which === 'threads') await glue.initThreadPool(Math.max(1, navigator.hardwareConcurrency || 1));
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
