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
// The whole threaded start (its module, shared memory and pool) gets this
// long; a start stuck anywhere in it must not leave the page loading forever.
const THREADS_START_MS = 30_000;

function within(promise, ms, what) {
  let timer;
  const late = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms); });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

async function load(which) {
  const glue = await import(new URL(gluePath(which), root).href);
  await glue.default(initArgs(which, new URL('pkg/', root)));
  // The threaded build's pool: a worker per core, started before any work
  // (a browser may drop a starting worker).
  if (which === 'threads') await within(glue.initThreadPool(Math.max(1, navigator.hardwareConcurrency || 1)), POOL_START_MS, 'the thread pool\'s start');
  return glue;
}

// A threaded build that fails to start (a browser that limits workers or
// shared memory) leaves the single-threaded one to run.
export const loaded = (build === 'threads' ? within(load(build), THREADS_START_MS, 'the threaded build\'s start') : load(build))
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
