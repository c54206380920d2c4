// Keeping work: autosave of the current run to IndexedDB (app/saved.js),
// the list of saved sessions, a session as a downloadable file and back,
// and restoring the tab's session on reload.
//
// A saved session is the session file (Rust: spec/saved.rs) with the page's
// part in its metadata: the name, the preset, the backend choice, the view
// and the curves. It is written when training pauses or stops, after Step
// and Reset, every AUTOSAVE_MS while training, when the tab is hidden, and
// before another model replaces the run. The tab remembers its session's id
// (sessionStorage), so a reload of the same link reopens that run at the
// step it was saved at; on the CPU, the next step's loss is bit-for-bit the
// one it would have been.
import { signal, batch } from '@preact/signals';
import { state, run, presets, attempt, open, writeUrl, lifecycle, theLab } from './store.js';
import * as saved from './saved.js';
import { canonical, cleanView } from './url.js';

const AUTOSAVE_MS = 5000;
// The tab's session id. Storage may be off (a sandboxed or third-party
// frame): the tab then simply has no session to restore.
const tab = {
  get: () => { try { return sessionStorage.getItem('nnlab.session'); } catch { return null; } },
  set: (id) => { try { sessionStorage.setItem('nnlab.session', id); } catch { /* nothing to restore later */ } },
  clear: () => { try { sessionStorage.removeItem('nnlab.session'); } catch { /* nothing stored */ } },
};
// The largest session file opened (Rust's MAX_FILE_BYTES says the same).
export const MAX_FILE_BYTES = 256 << 20;

export const kept = {
  id: signal(saved.newId()),
  name: signal(''),
  list: signal([]),                 // saved sessions' records, latest first
  savedStep: signal(null),          // the step of the last save of this run
  problem: signal(null),            // why the last save failed (storage full, private window)
};

let savedAt = { step: -1, time: 0 };
let saving = null;                  // the save in flight

function defaultName(s) {
  const when = new Date().toLocaleString('en', { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
  return `${s.preset ?? s.spec.name} · ${when}`;
}

// What the page uses of a session file's page part, checked.
function pagePart(p) {
  return {
    view: cleanView(p?.view),
    history: Array.isArray(p?.history) ? p.history.filter((h) => h && Number.isFinite(h.step)) : [],
    name: typeof p?.name === 'string' ? p.name : '',
  };
}

function page() {
  const s = state.value;
  return { name: kept.name.value, preset: s.preset, backend: s.backend, view: s.view, history: run.history.value };
}

export async function refreshList() {
  try {
    kept.list.value = await saved.list();
  } catch (e) {
    kept.problem.value = `Saved sessions cannot be listed: ${e.message}.`;
  }
}

// Saves the current run now (unless nothing changed since the last save).
export function saveNow({ force = false } = {}) {
  const lab = theLab();
  const m = run.metrics.value;
  if (!lab || !m || !run.report.value || run.status.value === 'opening') return Promise.resolve();
  if (!force && m.step === savedAt.step) return Promise.resolve();
  saving = (saving ?? Promise.resolve()).then(async () => {
    const s = state.value;
    const id = kept.id.value;
    kept.name.value ||= defaultName(s);
    try {
      const { bytes, step } = await lab.saveFile(page());
      await saved.put({ id, name: kept.name.value, preset: s.preset, hash: location.hash, step, loss: run.metrics.value?.testLoss ?? null, updated: Date.now() }, bytes);
      tab.set(id);
      savedAt = { step, time: performance.now() };
      batch(() => { kept.savedStep.value = step; kept.problem.value = null; });
      await refreshList();
    } catch (e) {
      if (e.kind === 'aborted' || (e.kind === 'invalid_argument' && !run.report.value)) return;
      kept.problem.value = `Autosave failed: ${e.message}. This run is still here; use Download to keep it as a file.`;
    }
  }).finally(() => { saving = null; });
  return saving;
}

// Opens a session file's run (bytes), named `name`, as a new saved session
// (or as `id`, reopening a saved one). The file is checked first; if it is
// refused, the current model stays as it was and this rejects with why.
function openBytes(bytes, { id = saved.newId(), name = '' } = {}) {
  return attempt(async () => {
    const lab = theLab();
    const info = await lab.readFile(bytes);
    const p = info.page ?? {};
    const backend = ['auto', 'webgpu', 'cpu'].includes(p.backend) ? p.backend : state.value.backend;
    // Still the preset's model (so the link stays short).
    const shipped = presets.value.get(p.preset)?.spec;
    const same = shipped && canonical(shipped) === canonical(info.spec);
    const { view, history, name: savedName } = pagePart(p);
    if (kept.id.value !== id) await saveNow();
    const previous = state.value;
    state.value = { ...previous, spec: same ? structuredClone(shipped) : info.spec, preset: same ? p.preset : null, backend, view };
    try {
      await open(null, { file: bytes, history });
    } catch (e) {
      state.value = previous;
      throw e;
    }
    batch(() => {
      kept.id.value = id;
      kept.name.value = name || savedName || defaultName(state.value);
    });
    savedAt = { step: info.step, time: performance.now() };
    await writeUrl();
    return info;
  });
}

// Reopens a saved session from the list.
export async function reopen(id) {
  const [meta, bytes] = await Promise.all([saved.get(id), saved.file(id)]);
  if (!meta || !bytes) throw Object.assign(new Error('that saved session is gone (deleted in another tab?)'), { kind: 'storage' });
  await openBytes(bytes, { id, name: meta.name });
  tab.set(id);
}

// Opens a dropped or picked file; resolves to null or to the problem's text
// (the current model is untouched then).
export async function importFile(file) {
  if (file.size > MAX_FILE_BYTES) return `${file.name} is ${(file.size / (1 << 20)).toFixed(1)} MiB; a session file may be at most ${MAX_FILE_BYTES >> 20} MiB.`;
  try {
    await openBytes(new Uint8Array(await file.arrayBuffer()), { name: file.name.replace(/\.nnlab\.safetensors$|\.safetensors$/, '') });
    await saveNow({ force: true });
    return null;
  } catch (e) {
    return `${file.name} was not opened: ${e.path ? `${e.path} ` : ''}${e.message}. Your current model is unchanged.`;
  }
}

function offer(bytes, filename, type) {
  const url = URL.createObjectURL(new Blob([bytes], { type }));
  const a = Object.assign(document.createElement('a'), { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

const fileName = () => (kept.name.value || defaultName(state.value)).replace(/[^\w.-]+/g, '-').replace(/^-+|-+$/g, '') || 'session';

// The current run as a session file download.
export async function download() {
  const { bytes } = await attempt(() => theLab().saveFile(page()));
  offer(bytes, `${fileName()}.nnlab.safetensors`, 'application/octet-stream');
}

// The current run as a zip of a PyTorch folder (spec/export.rs in Rust).
export async function downloadPytorch() {
  // fflate loads on first use: most visits never zip anything.
  const [files, { zipSync }] = await Promise.all([attempt(() => theLab().pytorchFiles()), import('fflate')]);
  const folder = `${fileName()}-pytorch`;
  const zip = zipSync(Object.fromEntries(Object.entries(files).map(([name, bytes]) => [`${folder}/${name}`, bytes])));
  offer(zip, `${folder}.zip`, 'application/zip');
}

export async function rename(id, name) {
  if (id === kept.id.value) kept.name.value = name;
  await saved.rename(id, name);
  await refreshList();
}

export async function remove(id) {
  await saved.remove(id);
  if (id === kept.id.value) {
    tab.clear();
    savedAt = { step: -1, time: 0 };
    kept.savedStep.value = null;
  }
  await refreshList();
}

// At boot: reopens this tab's saved session if the link is still the one it
// was saved under (a reload). Resolves to true when it did.
export async function restore(next) {
  const id = tab.get();
  if (!id) return false;
  try {
    const meta = await saved.get(id);
    if (!meta || meta.hash !== location.hash) return false;
    const bytes = await saved.file(id);
    if (!bytes) return false;
    // Inside the boot's own action: open directly rather than queue behind it.
    const lab = theLab();
    const info = await lab.readFile(bytes);
    const { view, history } = pagePart(info.page);
    // The link is the one the session was saved under, so its spec is the session's.
    state.value = { ...next, view };
    await open(null, { file: bytes, history });
    batch(() => { kept.id.value = id; kept.name.value = meta.name; kept.savedStep.value = info.step; });
    savedAt = { step: info.step, time: performance.now() };
    run.note.value = `Restored from this browser's storage at step ${info.step.toLocaleString('en')}.`;
    return true;
  } catch (e) {
    kept.problem.value = `The saved session of this tab could not be reopened (${e.message}); starting from the link instead.`;
    return false;
  }
}

export function startAutosave(lab) {
  lifecycle.leaving = () => saveNow();
  lifecycle.fresh = () => {
    batch(() => { kept.id.value = saved.newId(); kept.name.value = ''; kept.savedStep.value = null; });
    savedAt = { step: -1, time: 0 };
  };
  lifecycle.reset = () => { if (kept.savedStep.value != null) saveNow({ force: true }); };
  // Full (not sampled) metrics while not playing follow a pause, a Step, the
  // end of the budget and a change of backend: the moments to save.
  lab.on('metrics', (m) => { if (!m.playing && !m.sampled) saveNow(); });
  setInterval(() => {
    if (run.status.value === 'playing' && performance.now() - savedAt.time >= AUTOSAVE_MS) saveNow();
  }, 1000);
  document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'hidden') saveNow(); });
  refreshList();
}
