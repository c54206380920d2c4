// The page's one state object and the actions on it. `state` is what a link,
// an autosave or an embed snippet carries (serialisable: the spec, the
// backend choice, view settings); `run` is what the worker reports about the
// current training run (never serialised). Controls render from these
// signals and change them only through the actions below, which run one at
// a time in the order they were asked for (so a click right after typing
// acts on the model the typing made).
import { signal, batch } from '@preact/signals';
import { toHash, fromHash } from './url.js';

export const state = signal(null);      // {preset, spec, backend, view}
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
};
export const presets = signal(new Map()); // name -> {name, family, expected, check, spec}
export const schema = signal(null);

let lab = null;
let queue = Promise.resolve();

// Runs `task` after every action asked for before it.
function act(task) {
  const result = queue.then(task);
  queue = result.catch((e) => fail(e));
  return result;
}

function fail(e) {
  if (e?.kind === 'aborted') return;
  batch(() => {
    run.error.value = { kind: e?.kind ?? 'internal', path: e?.path ?? null, message: e?.message ?? String(e) };
    run.status.value = 'error';
  });
}

const MAX_HISTORY = 2000;

function record(m) {
  let h = run.history.value;
  if (h.length && h[h.length - 1].step >= m.step) h = h.filter((p) => p.step < m.step);
  h = [...h, { step: m.step, trainLoss: m.trainLoss, testLoss: m.testLoss, trainAccuracy: m.trainAccuracy, testAccuracy: m.testAccuracy }];
  // Halve the resolution of long runs so drawing stays cheap.
  if (h.length > MAX_HISTORY) h = h.filter((_, i) => i % 2 === 0 || i === h.length - 1);
  batch(() => {
    run.history.value = h;
    run.metrics.value = m;
  });
}

function writeUrl() {
  const s = state.value;
  const hash = toHash(s, presets.value.get(s.preset)?.spec);
  if (hash !== location.hash) history.replaceState(null, '', hash);
}

// Opens a fresh run of the current state's spec.
async function open() {
  const s = state.value;
  batch(() => {
    run.status.value = 'opening';
    run.error.value = null;
    run.history.value = [];
    run.metrics.value = null;
  });
  const info = await lab.open(s.spec, { backend: s.backend });
  batch(() => {
    run.backend.value = info.backend;
    run.adapter.value = info.adapter;
    run.note.value = info.note ?? '';
    run.report.value = info.report;
    run.dataset.value = info.dataset;
    run.status.value = 'ready';
  });
  record(info.metrics);
}

export async function boot(theLab, presetList, theSchema) {
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
  return loadHash(location.hash);
}

// Applies a link: the model it names (or the default preset), with a note
// for everything in it that could not be used.
export function loadHash(hash) {
  return act(async () => {
    const parsed = fromHash(hash, presets.value);
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
    state.value = { preset: parsed.spec ? parsed.preset : fallback.name, spec, backend: parsed.backend, view: parsed.view };
    await open();
    if (problems.length) run.note.value = `This link could not be followed in full: ${problems.join('; ')}.`;
  });
}

// Replaces the model with `spec` if it is valid: resolves to null, or to the
// error ({kind, path, message}) with the current model left as it was.
export function setSpec(spec, { preset } = {}) {
  return act(async () => {
    try {
      await lab.infer(spec);
    } catch (e) {
      return { kind: e.kind, path: e.path ?? null, message: e.message };
    }
    state.value = { ...state.value, spec, preset: preset ?? state.value.preset };
    writeUrl();
    await open();
    return null;
  });
}

export function choosePreset(name) {
  const p = presets.value.get(name);
  return p ? setSpec(structuredClone(p.spec), { preset: name }) : Promise.resolve({ kind: 'invalid_argument', path: 'preset', message: `no preset "${name}"` });
}

export const reset = () => act(open);
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
    writeUrl();
    if (run.status.value === 'error' && !run.report.value) return;
    const r = await lab.setBackend(backend);
    batch(() => {
      run.backend.value = r.backend;
      run.note.value = r.note ?? (backend === 'auto' ? 'Auto keeps the current backend for this run; Reset times both again.' : '');
    });
  });
}

export function setView(patch) {
  state.value = { ...state.value, view: { ...state.value.view, ...patch } };
  writeUrl();
}

// For tests and for trying the fall-back by hand.
export const testing = {
  loseGpuDevice: () => act(() => lab.request('loseDevice')),
};
