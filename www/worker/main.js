// The training worker: owns the wasm module and at most one training run,
// answers the page's requests (shared/protocol.js) in arrival order through
// one serial queue, and reports progress as events.
import { Session, build, csvPreview, decodeSetup, inferShapes, loaded, readSessionFile, specSchema, webgpuInfo } from './wasm.js';
import { toFailure } from '../shared/protocol.js';
import { describeBuild } from '../shared/wasm.js';
import { Run, SAMPLE } from './loop.js';
import { chooseBackend } from './probe.js';
import { pfnHandlers } from './pfn.js';
import { experimentHandlers } from './experiment.js';

let run = null;
let sessions = 0;
let adapter;            // webgpuInfo(): a description, or null without WebGPU
let controls = 0;       // play/pause arrival counter: a later one supersedes an earlier one still queued
let watch = null;       // the inspection the page's open views want with every metrics event

// Every wasm call goes through one queue: a Session must never be freed or
// replaced while one of its async methods is still running.
let queue = loaded;
function serial(task) {
  const result = queue.then(task);
  queue = result.catch(() => {});
  return result;
}

function post(message, transfer = []) {
  postMessage(message, transfer);
}

async function gpuAdapter() {
  if (adapter === undefined) {
    // A broken driver can leave requestAdapter pending forever: treat that as no WebGPU.
    const timeout = new Promise((resolve) => setTimeout(() => resolve(null), 10000));
    adapter = await Promise.race([Promise.resolve().then(webgpuInfo), timeout]).catch(() => null) ?? null;
  }
  return adapter;
}

// What runs a backend: the GPU's description, or the CPU build's.
async function describe(backend) {
  return backend === 'webgpu' ? gpuAdapter() : describeBuild(build);
}

function current() {
  if (!run) throw Object.assign(new Error('There is no model yet: open one first.'), { kind: 'invalid_argument', path: null });
  return run;
}

// Opens a run of `spec` (from `state` when given), or of a session `file`.
// The current run is replaced only once the new one has opened: a model or
// file that fails leaves it as it was (paused).
async function open({ spec, backend, state, file }) {
  run?.pause({ quiet: true });
  if (file) spec = readSessionFile(file).spec;
  const wanted = ['auto', 'webgpu', 'cpu'].includes(backend) ? backend : 'auto';
  const gpu = wanted === 'cpu' ? null : await gpuAdapter();
  const choice = await chooseBackend(Session, spec, wanted, gpu);
  const start = (b) => (file ? Session.openFile(file, b) : Session.open(spec, b, state ?? null));
  let session;
  let note = choice.note;
  try {
    session = await start(choice.backend);
  } catch (e) {
    // A spec error fails on the CPU too; only a GPU failure is worth a retry there.
    if (choice.backend !== 'webgpu' || toFailure(e).kind === 'invalid_spec') throw e;
    session = await start('cpu');
    note = `WebGPU could not be used (${toFailure(e).message}); training on the CPU (WebAssembly) instead.`;
  }
  run?.close();
  const report = session.report();
  const budget = spec?.training?.steps ?? 1000;
  run = new Run({ id: ++sessions, session, serial, post, budget, watch, planar: report.input.length === 1 && report.input[0] === 2 });
  const dataset = session.dataset(4000);
  // The first metrics come with the reply: events of a session only count
  // once the page knows its id. An untrained model's come from the sample
  // training uses: evaluating a large test set (long-adding-s4d's 2,000
  // sequences of 200) on a slow GPU took most of the time to open it.
  const { data: metrics } = await run.collectMetrics(session.step > 0 ? undefined : SAMPLE);
  return { session: run.id, spec, backend: session.backend, note, adapter: await describe(session.backend), report, dataset, metrics };
}

async function setBackend({ backend }) {
  const r = current();
  const wasPlaying = r.playing;
  r.pause({ quiet: true });
  let note = null;
  if (backend === 'webgpu' && !(await gpuAdapter())) {
    note = 'WebGPU is not available in this browser; the run stays on the CPU.';
  } else if (backend !== 'auto') {
    await r.session.setBackend(backend);
  }
  await r.sendMetrics();
  if (wasPlaying) r.play();
  return { backend: r.backend, note, adapter: await describe(r.backend) };
}

const handlers = {
  // When the wasm module is ready (epoch milliseconds), ahead of any queued work.
  ready: () => loaded.then(() => ({ at: performance.timeOrigin + performance.now(), build })),
  open: (m) => serial(() => open(m)),
  infer: (m) => serial(() => inferShapes(m.spec)),
  schema: () => serial(() => specSchema()),
  csv: (m) => serial(() => csvPreview(String(m.text ?? ''))),
  play: () => {
    const seq = ++controls;
    return serial(() => { if (seq === controls) current().play(); return null; });
  },
  pause: () => {
    const seq = ++controls;
    run?.pause();
    return serial(() => { if (seq === controls) run?.pause(); return null; });
  },
  step: (m) => {
    ++controls;
    run?.pause({ quiet: true });
    return serial(async () => {
      const r = current();
      try {
        await r.step(Math.max(1, Math.min(1000, Math.floor(Number(m.n) || 1))));
      } catch (e) {
        await r.failed(e);
      }
      return { step: r.session.step };
    });
  },
  backend: (m) => serial(() => setBackend(m)),
  predict: (m) => serial(async () => new Float32Array(await current().session.predict(m.x, m.n))),
  grid: (m) => serial(async () => new Float32Array(await current().session.grid(m.res))),
  tokens: (m) => serial(() => {
    const { session } = current();
    if (m.reset) session.resetTokens();
    return m.reset && !m.tokens ? null : session.feedTokens(m.x, m.n, m.tokens);
  }),
  inspect: (m) => serial(() => current().session.inspect(m.request ?? {})),
  watch: (m) => serial(() => {
    watch = m.request && Object.keys(m.request).length ? m.request : null;
    if (!run) return null;
    run.watch = watch;
    return watch ? run.session.inspect(watch) : null;
  }),
  state: () => serial(() => current().session.exportState()),
  save: (m) => serial(async () => {
    const { session } = current();
    return { step: session.step, bytes: await session.exportFile(m.page == null ? null : JSON.stringify(m.page)) };
  }),
  pytorch: () => serial(() => current().session.pytorchFiles()),
  readFile: (m) => serial(() => readSessionFile(m.bytes)),
  decodeSetup: (m) => serial(() => decodeSetup(String(m.text ?? ''))),
  close: () => serial(() => { run?.close(); run = null; return null; }),
  loseDevice: () => serial(() => { run?.session.loseGpuDevice(); return null; }),
  ...Object.fromEntries(Object.entries({ ...pfnHandlers, ...experimentHandlers }).map(([type, handle]) => [type, (m) => handle(m, serial)])),
};

// Tells the page the module is loaded (client.js replaces a worker that
// does not say so in time).
loaded.then(() => post({ event: 'loaded', build }), () => {});

onmessage = ({ data: m }) => {
  const handler = handlers[m?.type];
  if (m?.id == null) return;
  if (!handler) {
    post({ id: m.id, ok: false, error: { kind: 'invalid_argument', path: 'type', message: `unknown request "${m?.type}"` } });
    return;
  }
  Promise.resolve()
    .then(() => handler(m))
    .then(
      (result) => post({ id: m.id, ok: true, result }, [result, result?.bytes].filter((r) => ArrayBuffer.isView(r)).map((r) => r.buffer)),
      (e) => post({ id: m.id, ok: false, error: toFailure(e) }),
    );
};
