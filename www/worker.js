// Owns the wasm Session so training never blocks the page.
//
// Protocol
//   page -> worker: {type:'reset', gen, config, backend} | {type:'play'} | {type:'pause'} | {type:'step'}
//                   {type:'lose-device'} (destroys the GPU device, to exercise the fallback)
//   worker -> page: {type:'ready', gen, backend, notice, adapter, dataset}
//                   {type:'metrics', gen, step, trainLoss, testLoss, trainAccuracy, testAccuracy, grid?, gridRes?}
//                   {type:'fallback', gen, backend, step, notice} (the GPU was lost; training goes on
//                   on the CPU from `step`, where the last snapshot was taken)
//                   {type:'error', gen, message}
// `gen` echoes the latest reset so the page can drop messages from older sessions.
import init, { Session, webgpuInfo } from './pkg/nnlab_web.js';

const GRID_RES = 50;
const GRID_EVERY_MS = 100;
const TARGET_CHUNK_MS = 40;
// How often the weights are copied to the host, where a lost GPU cannot take them.
const SNAPSHOT_EVERY_MS = 1000;
const NO_WEBGPU = 'WebGPU is not available in this browser; training on the CPU (WebAssembly) instead.';

let session = null;
let gen = 0;
let playing = false;
let loop = 0;            // bumped on every play/pause so a stale loop stops itself
let chunk = 10;          // steps per train() call, adapted towards TARGET_CHUNK_MS
let lastGridAt = 0;
let lastSnapshotAt = 0;
let pendingReset = null; // only the newest reset is built when several queue up
let initError = null;
let adapter;             // cached webgpuInfo(): string, or null when unusable

// Every wasm call goes through one serial queue: a Session must never be freed
// or rebuilt while one of its async methods is still running.
let queue = init().catch((e) => { initError = `Could not load the WebAssembly module: ${errorText(e)}`; });
function enqueue(task) {
  queue = queue.then(task).catch(report);
}

function post(message, transfer = []) {
  postMessage({ ...message, gen }, transfer);
}

function report(e) {
  const wasPlaying = playing;
  playing = false;
  if (session?.backend === 'webgpu' && /device was lost/i.test(errorText(e))) {
    enqueue(() => fallBack(errorText(e), wasPlaying));
    return;
  }
  post({ type: 'error', message: errorText(e) });
}

// The GPU is gone (driver reset, device removed): rebuild the session on the
// CPU from the last snapshot of the weights and carry on.
async function fallBack(reason, resume) {
  const step = session.fallBackToCpu();
  post({ type: 'fallback', backend: 'cpu', step,
    notice: `The GPU was lost (${reason}); training continues on the CPU (WebAssembly) from step ${step}.` });
  await sendMetrics(true);
  if (resume) {
    playing = true;
    const id = ++loop;
    enqueue(() => trainChunk(id));
  }
}

function errorText(e) {
  if (e instanceof Error) return e.message || String(e);
  if (e && typeof e === 'object' && 'message' in e) return String(e.message);
  return String(e);
}

// serde-wasm-bindgen may hand back Maps instead of plain objects.
const plain = (o) => (o instanceof Map ? Object.fromEntries(o) : o);

// Chained promises only yield to microtasks; a real task boundary lets
// 'pause' and 'reset' messages in between two training chunks.
const tick = new MessageChannel();
const nextTask = () => new Promise((resolve) => { tick.port1.onmessage = resolve; tick.port2.postMessage(null); });

async function gpuAdapter() {
  if (adapter === undefined) {
    // A broken driver can leave requestAdapter pending forever; treat that as "no WebGPU".
    const timeout = new Promise((resolve) => setTimeout(() => resolve(null), 10000));
    adapter = await Promise.race([Promise.resolve().then(webgpuInfo), timeout]).catch(() => null) ?? null;
  }
  return adapter;
}

async function reset() {
  const request = pendingReset;
  if (!request) return;
  pendingReset = null;
  playing = false;
  session?.free();
  session = null;
  gen = request.gen;
  chunk = 10;
  lastSnapshotAt = 0;
  if (initError) throw new Error(initError);

  let backend = request.backend;
  let notice = null;
  if (backend === 'webgpu' && !(await gpuAdapter())) {
    backend = 'cpu';
    notice = NO_WEBGPU;
  }
  try {
    session = await Session.create(request.config, backend);
  } catch (e) {
    // Config errors would fail on the CPU too; only GPU failures are worth a retry.
    if (backend !== 'webgpu' || /^invalid/i.test(errorText(e))) throw e;
    session = await Session.create(request.config, 'cpu');
    notice = `WebGPU could not be used (${errorText(e)}); training on the CPU (WebAssembly) instead.`;
  }
  post({ type: 'ready', backend: session.backend, notice, adapter: backend === 'webgpu' ? adapter : null,
    dataset: plain(session.dataset()) });
  await sendMetrics(true);
}

async function sendMetrics(withGrid) {
  const m = plain(await session.metrics());
  const message = { type: 'metrics', step: m.step, trainLoss: m.trainLoss, testLoss: m.testLoss,
    trainAccuracy: m.trainAccuracy ?? null, testAccuracy: m.testAccuracy ?? null };
  if (withGrid) {
    // Copied so the transfer can never detach memory owned by wasm.
    message.grid = new Float32Array(await session.grid(GRID_RES));
    message.gridRes = GRID_RES;
    lastGridAt = performance.now();
  }
  post(message, message.grid ? [message.grid.buffer] : []);
  if (session.backend === 'webgpu' && performance.now() - lastSnapshotAt >= SNAPSHOT_EVERY_MS) {
    await session.snapshot();
    lastSnapshotAt = performance.now();
  }
}

async function trainChunk(id) {
  if (!playing || id !== loop) return;
  if (!session) throw new Error('There is no model to train; fix the settings first.');
  const start = performance.now();
  await session.train(chunk);
  // On WebGPU, train() only records work; the metrics readback waits for it,
  // so the chunk is timed through the readback.
  await sendMetrics(performance.now() - lastGridAt >= GRID_EVERY_MS);
  const took = Math.max(performance.now() - start, 1);
  chunk = Math.round(Math.min(1000, Math.max(1, chunk * Math.min(2, Math.max(0.5, TARGET_CHUNK_MS / took)))));
  await nextTask();
  enqueue(() => trainChunk(id));
}

async function step() {
  if (!session) throw new Error('There is no model to train; fix the settings first.');
  await session.train(1);
  await sendMetrics(true);
}

onmessage = ({ data: m }) => {
  switch (m.type) {
    case 'reset':
      pendingReset = m;
      playing = false;
      enqueue(reset);
      break;
    case 'play': {
      if (playing) break;
      playing = true;
      const id = ++loop;
      enqueue(() => trainChunk(id));
      break;
    }
    case 'pause':
      playing = false;
      loop += 1;
      break;
    case 'step':
      playing = false;
      loop += 1;
      enqueue(step);
      break;
    case 'lose-device':
      enqueue(async () => session?.loseGpuDevice());
      break;
  }
};
