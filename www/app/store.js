// The page's one state object and the actions on it. `state` is what a link,
// an autosave or an embed snippet carries (serialisable: the spec, the
// backend choice, view settings); `run` is what the worker reports about the
// current training run (never serialised). Controls render from these
// signals and change them only through the actions below, which run one at
// a time in the order they were asked for (so a click right after typing
// acts on the model the typing made).
import { signal, batch, computed } from '@preact/signals';
import { toHash, fromHash, canonical } from './url.js';
import { packSetup } from './link.js';
import { setIn, getIn } from './schema.js';

export const state = signal(null);      // {preset, spec, backend, view, embed: {hide, autoplay}}
export const run = {
  status: signal('loading'),            // loading | opening | ready | playing | error
  backend: signal(null),                // the backend in use
  adapter: signal(null),
  note: signal(''),                     // a non-error note (auto choice, fall-back)
  error: signal(null),                  // {kind, path, message} that stopped training or opening
  report: signal(null),                 // shapes and parameter counts of the running model
  dataset: signal(null),
  metrics: signal(null),                // the latest metrics event
  history: signal([]),                  // [{step, trainLoss, testLoss, trainAccuracy, testAccuracy}]
  inspection: signal(null),             // the latest answer to what the open views watch (see ui/views.js)
  inspections: signal([]),              // [{step, parameters, sparsity}]: those parts over training
  drawing: signal(null),                // the drawn input (64 values), or null
};
// The parts of the page a link hides (embedding).
export const hidden = computed(() => new Set(state.value?.embed?.hide ?? []));
export const presets = signal(new Map()); // name -> {name, family, expected, check, spec}
export const schema = signal(null);

let lab = null;
let queue = Promise.resolve();

// Runs `task` after every action asked for before it.
export function act(task) {
  const result = queue.then(task);
  queue = result.catch((e) => fail(e));
  return result;
}

// Like `act`, but a failure goes to the caller alone: a refused file or a
// failed download is not an error of the run.
export function attempt(task) {
  const result = queue.then(task);
  queue = result.catch(() => {});
  return result;
}

export const theLab = () => lab;

function fail(e) {
  if (e?.kind === 'aborted') return;
  batch(() => {
    run.error.value = { kind: e?.kind ?? 'internal', path: e?.path ?? null, message: e?.message ?? String(e) };
    run.status.value = 'error';
  });
}

const MAX_HISTORY = 2000;
const MAX_INSPECTIONS = 240;

// Keeps the newest inspection, and its parts that are drawn over training.
export function inspected(i) {
  if (!i) return;
  run.inspection.value = i;
  if (!i.parameters && !i.sparsity) return;
  let h = run.inspections.value.filter((p) => p.step < i.step);
  h = [...h, { step: i.step, parameters: i.parameters, sparsity: i.sparsity }];
  if (h.length > MAX_INSPECTIONS) h = h.filter((_, k) => k % 2 === 0 || k === h.length - 1);
  run.inspections.value = h;
}

function record(m) {
  let h = run.history.value;
  if (h.length && h[h.length - 1].step >= m.step) h = h.filter((p) => p.step < m.step);
  h = [...h, { step: m.step, trainLoss: m.trainLoss, testLoss: m.testLoss, trainAccuracy: m.trainAccuracy, testAccuracy: m.testAccuracy }];
  // Halve the resolution of long runs so drawing stays cheap.
  if (h.length > MAX_HISTORY) h = h.filter((_, i) => i % 2 === 0 || i === h.length - 1);
  batch(() => {
    run.history.value = h;
    run.metrics.value = m;
    inspected(m.inspection);
  });
}

// Mirrors the state in the URL hash (a spec that is not a preset's goes in
// packed; a newer call supersedes one still packing).
let urlWrites = 0;
export async function writeUrl() {
  const mine = ++urlWrites;
  const s = state.value;
  const presetSpec = presets.value.get(s.preset)?.spec;
  const same = presetSpec && canonical(presetSpec) === canonical(s.spec);
  const packed = same ? null : await packSetup(s.spec);
  const hash = toHash(s, presetSpec, packed);
  if (mine === urlWrites && hash !== location.hash) history.replaceState(null, '', hash);
}

// Opens a run of the current state's spec: a fresh one, one continuing from
// `from` (a trainer state) when the model still fits it, or the run a
// session `file` holds. Until it has opened, the current run stays as it
// was; if it fails, the current run stays (paused) and this rejects.
export async function open(from = null, { file = null, history = [] } = {}) {
  const s = state.value;
  const before = run.status.value;
  run.status.value = 'opening';
  let info;
  try {
    try {
      info = await lab.open(s.spec, { backend: s.backend, state: from, file });
    } catch (e) {
      if (!from || e.kind !== 'invalid_spec' || !String(e.path).startsWith('state')) throw e;
      info = await lab.open(s.spec, { backend: s.backend });
    }
  } catch (e) {
    if (run.status.value === 'opening') run.status.value = before === 'playing' ? 'ready' : before;
    throw e;
  }
  batch(() => {
    run.error.value = null;
    run.history.value = history;
    run.metrics.value = null;
    run.inspection.value = null;
    run.inspections.value = [];
    run.backend.value = info.backend;
    run.adapter.value = info.adapter;
    run.note.value = info.note ?? '';
    run.report.value = info.report;
    run.dataset.value = info.dataset;
    run.status.value = 'ready';
  });
  record(info.metrics);
  return info;
}

export async function boot(theLab, presetList, theSchema, { restore } = {}) {
  lab = theLab;
  presets.value = new Map(presetList.map((p) => [p.name, p]));
  schema.value = theSchema;
  lab.on('metrics', (m) => {
    record(m);
    if (m.trainLoss > 100 && !run.note.value.startsWith('The loss')) {
      run.note.value = 'The loss is above 100: the run is diverging. Try a learning rate 10x lower, then Reset.';
    }
  });
  lab.on('playing', (e) => { run.status.value = e.playing ? 'playing' : 'ready'; });
  lab.on('budget', (e) => { run.note.value = `Trained the spec's ${e.step.toLocaleString('en')} steps. Play goes on from here.`; });
  lab.on('backend', (e) => batch(() => { run.backend.value = e.backend; run.note.value = e.note ?? ''; }));
  lab.on('error', (e) => fail(e.error));
  return loadHash(location.hash, { restore });
}

// Applies a link: the model it names (or the default preset), with a note
// for everything in it that could not be used. `restore(next)`, when
// given, may open a saved run of that setup (`next`, the state the link
// asks for) instead: a reload. It resolves to true when it did.
export function loadHash(hash, { restore = null } = {}) {
  return act(async () => {
    const parsed = await fromHash(hash, presets.value, (text) => lab.decodeSetup(text));
    const fallback = presets.value.get('playground-spiral');
    let spec = parsed.spec ?? structuredClone(fallback.spec);
    const problems = [...parsed.problems];
    if (parsed.spec) {
      try {
        await lab.infer(spec);
      } catch (e) {
        problems.push(`its model is not valid (${e.path ? `${e.path}: ` : ''}${e.message})`);
        spec = structuredClone(fallback.spec);
        parsed.preset = fallback.name;
      }
    }
    const next = { preset: parsed.spec ? parsed.preset : fallback.name, spec, backend: parsed.backend, view: parsed.view, embed: parsed.embed };
    if (restore && !problems.length && await restore(next)) {
      // The saved run of this very setup is back.
    } else {
      await lifecycle.leaving();
      state.value = next;
      await open();
      lifecycle.fresh();
    }
    if (problems.length) run.note.value = `This link could not be followed in full: ${problems.join('; ')}.`;
    if (state.value.embed.autoplay && !problems.length) await lab.play();
  });
}

// What autosave hooks into (app/keep.js): `leaving` runs before a new model
// replaces the current run (a last save), `fresh` once it has (a new saved
// session), `reset` after Reset (the run is back at step 0).
export const lifecycle = { leaving: async () => {}, fresh: () => {}, reset: () => {} };

// Replaces the model with `next` (a spec, or a function of the current one,
// called when the change's turn comes so that quick edits build on each
// other) if it is valid: resolves to null, or to the error ({kind, path,
// message}) with the current model left as it was. With `keep`, the run
// continues from its current weights and optimizer state (for changes of
// the data that leave the model as it is).
export function setSpec(next, { preset = undefined, keep = false } = {}) {
  return act(async () => {
    const spec = typeof next === 'function' ? next(state.value.spec) : next;
    try {
      await lab.infer(spec);
    } catch (e) {
      return { kind: e.kind, path: e.path ?? null, message: e.message };
    }
    const from = keep && run.report.value ? await lab.exportState().catch(() => null) : null;
    const wasPlaying = run.status.value === 'playing';
    const previous = state.value;
    if (!from) await lifecycle.leaving();
    // `preset: null` says the model is no longer a preset's.
    state.value = { ...state.value, spec, preset: preset === undefined ? state.value.preset : preset };
    try {
      await open(from);
    } catch (e) {
      state.value = previous;
      throw e;
    }
    if (!from) lifecycle.fresh();
    await writeUrl();
    if (from && wasPlaying) await lab.play();
    return null;
  });
}

// Points drawn on the 2D plane: {add: [x, y, target]} or {remove: i}, i the
// index of a training point as the dataset preview lists them (generated
// points still in, then the drawn ones). The model keeps training.
export function editPoints(change) {
  return setSpec((spec) => withPoints(spec, change), { keep: true });
}

function withPoints(spec, change) {
  const data = { ...spec.data, points: [...(spec.data.points ?? [])], removed: [...(spec.data.removed ?? [])] };
  if (change.add) data.points.push(change.add);
  if (change.remove !== undefined) {
    const kept = run.dataset.value.train.n - data.points.length;
    if (change.remove >= kept) data.points.splice(change.remove - kept, 1);
    else {
      // The generated index of the change.remove-th point still in.
      const out = new Set(data.removed);
      let g = -1;
      for (let seen = -1; seen < change.remove; ) if (!out.has(++g)) seen += 1;
      data.removed.push(g);
      data.removed.sort((a, b) => a - b);
    }
  }
  if (!data.points.length) delete data.points;
  if (!data.removed.length) delete data.removed;
  return { ...spec, data };
}

// The spec with the value at `path` (a list of keys) replaced, or removed
// when `value` is undefined; `value` may be a function of the value there.
export function editAt(path, value) {
  return setSpec((spec) => setIn(spec, path, typeof value === 'function' ? value(getIn(spec, path)) : value));
}

// A first look at an uploaded CSV text (columns, first rows) or its problem.
export const previewCsv = (text) => lab.csvPreview(text);

// Trains on an uploaded table: its features are the model's input, and the
// output layer is sized to its classes (or one value). A model that does not
// start with a linear layer is replaced by a small MLP.
export function useTable({ csv, label, task, standardize, preview }) {
  const spec = state.value.spec;
  const features = preview.columns.length - 1;
  const outputs = task === 'classification' ? preview.distinct[preview.columns.indexOf(label)] : 1;
  let layers = spec.layers[0]?.type === 'linear' ? structuredClone(spec.layers) : [{ type: 'linear', out: 16 }, { type: 'activation', fn: 'relu' }];
  const last = layers[layers.length - 1];
  if (last.type === 'linear') last.out = outputs;
  else layers = [...layers, { type: 'linear', out: outputs }];
  const next = {
    ...spec, name: 'table', description: `A table of ${preview.count} rows: ${features} features, ${task === 'classification' ? `${outputs} classes` : 'a value'} in column "${label}".`,
    input: [features], layers, loss: null,
    data: { name: 'table', csv, label, task, standardize, trainRatio: 0.8 },
  };
  return setSpec(next, { preset: null });
}

export function choosePreset(name) {
  const p = presets.value.get(name);
  return p ? setSpec(structuredClone(p.spec), { preset: name }) : Promise.resolve({ kind: 'invalid_argument', path: 'preset', message: `no preset "${name}"` });
}

export const reset = () => act(async () => {
  await open();
  lifecycle.reset();
});
export const play = () => act(async () => {
  if (run.status.value === 'error' && !run.report.value) return;
  run.note.value = run.note.value.startsWith('The loss') ? '' : run.note.value;
  await lab.play();
});
export const pause = () => act(() => lab.pause());
export const step = () => act(() => lab.step(1));

export function setBackend(backend) {
  return act(async () => {
    state.value = { ...state.value, backend };
    await writeUrl();
    if (run.status.value === 'error' && !run.report.value) return;
    const r = await lab.setBackend(backend);
    batch(() => {
      run.backend.value = r.backend;
      run.adapter.value = r.adapter ?? null;
      run.note.value = r.note ?? (backend === 'auto' ? 'Auto keeps the current backend for this run; Reset times both again.' : '');
    });
  });
}

export function setView(patch) {
  state.value = { ...state.value, view: { ...state.value.view, ...patch } };
  writeUrl();
}

// What the open views want computed with every metrics event (null: none).
// Sent at most every WATCH_MS; the first answer comes back at once.
const WATCH_MS = 120;
let watched = '{}';
let watchTimer = 0;
export function watch(request) {
  const text = JSON.stringify(request ?? {});
  if (text === watched) return;
  watched = text;
  clearTimeout(watchTimer);
  watchTimer = setTimeout(() => {
    lab?.watch(JSON.parse(watched)).then(inspected, () => {});
  }, WATCH_MS);
}
// A one-off inspection (a drawing's probes while the user draws).
export const inspect = (request) => lab.inspect(request);
export const predict = (x, n) => lab.predict(x, n);
export const feedTokens = (x, n, tokens, options) => lab.feedTokens(x, n, tokens, options);
export function setDrawing(values) {
  run.drawing.value = values;
}

// For tests and for trying the fall-back by hand.
export const testing = {
  loseGpuDevice: () => act(() => lab.request('loseDevice')),
  canonical,
  editAt,
};
