// The JavaScript API of nnlab for pages and tutorials: a model trains in a
// Web Worker, driven from here. The lab page uses exactly this API.
//
//   import { Lab } from './client.js';
//   const lab = new Lab();
//   lab.on('metrics', (m) => console.log(m.step, m.testLoss));
//   const info = await lab.open(spec, { backend: 'auto' });  // {backend, note, report, dataset, metrics}
//   await lab.play();  ...  await lab.pause();
//   await lab.setBackend('cpu');                             // continues from the same weights
//
// Every method returns a promise; failures reject with an Error carrying
// `kind` and `path` (see shared/protocol.js). Events of a replaced session
// are dropped, and a reply to an `open` that a newer `open` replaced rejects
// with kind 'aborted'.
import { EVENTS, toError } from './shared/protocol.js';

// A worker that may start the threaded build and has not loaded a module by
// then is replaced by a single-threaded one, its requests sent again. The
// worker gives up on a slow threaded start itself after 30 s
// (worker/wasm.js), but not where it is blocked: the thread pool's start
// waits synchronously for every pool worker, so one the browser never runs
// stops the training worker's timers too.
const LOAD_MS = 45_000;

export class Lab {
  // `wasm`: 'threads', 'relaxed-simd' or 'simd128' asks for that build where
  // the browser and the page can run it (www/shared/wasm.js); by default the
  // best they can (threads only in a cross-origin isolated page).
  constructor({ workerUrl = new URL('./worker/main.js', import.meta.url), wasm = null } = {}) {
    this.workerUrl = new URL(workerUrl, import.meta.url);
    this.pending = new Map();
    this.listeners = new Map(EVENTS.map((e) => [e, new Set()]));
    this.nextId = 1;
    this.session = null;     // id of the session events are accepted for
    this.opens = 0;          // the newest open; older ones resolve as aborted
    this.start(wasm);
  }

  start(wasm) {
    const url = new URL(this.workerUrl);
    if (wasm) url.searchParams.set('wasm', wasm);
    this.worker = new Worker(url, { type: 'module' });
    if (globalThis.crossOriginIsolated && (!wasm || wasm === 'threads')) this.loadTimer = setTimeout(() => this.restart(), LOAD_MS);
    this.worker.onmessage = ({ data }) => this.receive(data);
    this.worker.onerror = (e) => {
      const failure = { kind: 'worker', path: null, message: `The training worker could not start${e.message ? ` (${e.message})` : ''}.` };
      for (const { reject } of this.pending.values()) reject(toError(failure));
      this.pending.clear();
      this.emit('error', { error: failure });
    };
  }

  // The single-threaded worker in place of one that did not load in time:
  // nothing had started there, so every request waiting is sent again.
  restart() {
    console.warn(`nnlab: the training worker did not load within ${LOAD_MS / 1000} s; starting a single-threaded one`);
    this.worker.terminate();
    this.start('relaxed-simd');
    for (const [id, { type, args }] of this.pending) this.worker.postMessage({ id, type, ...args });
  }

  receive(m) {
    if (m.event === 'loaded') {
      clearTimeout(this.loadTimer);
      return;
    }
    if (m.event) {
      if (m.session === this.session) this.emit(m.event, m);
      return;
    }
    const waiting = this.pending.get(m.id);
    if (!waiting) return;
    this.pending.delete(m.id);
    if (m.ok) waiting.resolve(m.result);
    else waiting.reject(toError(m.error));
  }

  emit(event, data) {
    for (const fn of this.listeners.get(event) ?? []) fn(data);
  }

  // Subscribes to 'metrics' | 'playing' | 'backend' | 'error'; returns an unsubscribe function.
  on(event, fn) {
    const set = this.listeners.get(event);
    if (!set) throw new Error(`unknown event "${event}" (expected ${EVENTS.join(', ')})`);
    set.add(fn);
    return () => set.delete(fn);
  }

  request(type, args = {}, transfer = []) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, type, args });
      this.worker.postMessage({ id, type, ...args }, transfer);
    });
  }

  // Opens a fresh run of `spec` (an object or JSON text), replacing the
  // current one; `state` continues a saved run, `file` (a session file's
  // bytes, from saveFile) opens the run it holds. If the new run fails to
  // open, the current one stays (paused) and the promise rejects.
  async open(spec, { backend = 'auto', state = null, file = null } = {}) {
    const mine = ++this.opens;
    const previous = this.session;
    this.session = null;
    let info;
    try {
      info = file
        ? await this.request('open', { file, backend })
        : await this.request('open', { spec: typeof spec === 'string' ? JSON.parse(spec) : spec, backend, state });
    } catch (e) {
      if (mine === this.opens) this.session = previous;
      throw e;
    }
    if (mine !== this.opens) throw toError({ kind: 'aborted', path: null, message: 'a newer model replaced this one' });
    this.session = info.session;
    return info;
  }

  // The current run as one file ({step, bytes: Uint8Array}, safetensors):
  // weights, optimizer state, step, the spec, and `page` (any JSON object).
  saveFile(page = null) { return this.request('save', { page }); }
  // The run as a PyTorch folder ({file name: Uint8Array}): model.py,
  // weights, data, settings and a train.py that continues training.
  pytorchFiles() { return this.request('pytorch'); }
  // What a session file holds ({spec, page, step}), checked, without opening it.
  readFile(bytes) { return this.request('readFile', { bytes }); }
  // A link's setup text (see app/link.js) read and checked: {spec, page}.
  decodeSetup(text) { return this.request('decodeSetup', { text }); }

  // Resolves once the wasm module is ready: {at} (epoch milliseconds).
  ready() { return this.request('ready'); }
  infer(spec) { return this.request('infer', { spec }); }
  schema() { return this.request('schema'); }
  csvPreview(text) { return this.request('csv', { text }); }
  play() { return this.request('play'); }
  pause() { return this.request('pause'); }
  step(n = 1) { return this.request('step', { n }); }
  setBackend(backend) { return this.request('backend', { backend }); }
  predict(x, n) { return this.request('predict', { x, n }); }
  grid(res) { return this.request('grid', { res }); }
  // A sequence model token by token: `x` holds the next `tokens` tokens of
  // `n` sequences ([n, tokens, token shape]); every layer carries its state
  // from the tokens fed before (`reset` starts new sequences, and so does
  // training). Resolves to {position, outputs, outputShape, states}: the
  // outputs for the sequences up to each token, the states after the last.
  feedTokens(x, n, tokens, { reset = false } = {}) { return this.request('tokens', { x, n, tokens, reset }); }
  resetTokens() { return this.request('tokens', { reset: true, tokens: 0 }); }
  // What the model does inside, on its current weights: probes of a test
  // example ({example: {split, index}}) or of an input ({input: [...]}), and
  // {confusion, predictions, parameters, sparsity, filters: true} parts.
  inspect(request) { return this.request('inspect', { request }); }
  // Every later 'metrics' event carries `inspection`: `request`'s parts,
  // computed within the metrics' share of the time; resolves to the first.
  watch(request) { return this.request('watch', { request }); }
  exportState() { return this.request('state'); }

  // Prior-data fitted networks, by name (models/pfn-*.safetensors). `pfnOpen`
  // resolves to the model's spec and limits; `pfnPredict` takes datasets as
  // `nnlab pfn predict` does ({datasets: [{x_context, y_context, x_query}]})
  // and resolves to the probabilities of each query point over the bar
  // distribution's buckets (or the classes); `pfnCurve` to what the
  // regression view draws (the PFN's and the exact GP's bands).
  pfnOpen(name) { return this.request('pfnOpen', { name }); }
  pfnPredict(name, request) { return this.request('pfnPredict', { name, request }); }
  pfnCurve(name, request) { return this.request('pfnCurve', { name, request }); }
  // Points drawn from a GP `reference` ({kernel, lengthscale, outputscale, noiseStd}).
  pfnDraw(name, reference, { context = 8, heldOut = 50, seed = 0 } = {}) { return this.request('pfnDraw', { name, reference, context, heldOut, seed }); }
  // The tabular PFN's test accuracy on a CSV table (the training rows are its
  // context) beside logistic regression and a small MLP trained on the same split.
  pfnClassify(name, { csv, label, trainRatio = 0.5, seed = 0 }) { return this.request('pfnClassify', { name, csv, label, trainRatio, seed }); }
  // A PFN trained in the worker on a prior (a spec like models/pfn-gp.json).
  pfnTrainStart(spec) { return this.request('pfnTrainStart', { spec }); }
  pfnTrain(steps) { return this.request('pfnTrain', { steps }); }
  pfnEvaluate(datasets = 50, queries = 20) { return this.request('pfnEvaluate', { datasets, queries }); }
  // Experiment cards (models/experiments/*.json): `experimentOpen` checks a
  // card's text and resolves to its runs; `experimentTrain` trains one run by
  // a chunk of steps; `experimentReport` decides the card's checks from the
  // runs' final metrics, as `nnlab experiment run` does.
  experimentOpen(text, { backend = 'cpu' } = {}) { return this.request('experimentOpen', { text, backend }); }
  experimentTrain(index, steps) { return this.request('experimentTrain', { index, steps }); }
  experimentReport(results) { return this.request('experimentReport', { results }); }
  experimentClose() { return this.request('experimentClose'); }
  close() { this.session = null; return this.request('close'); }
  terminate() {
    clearTimeout(this.loadTimer);
    this.worker.terminate();
  }
}
