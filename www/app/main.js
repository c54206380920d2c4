// Boots the page: the worker (through the public client), then either the
// lab (the presets and the spec schema, the state from the URL or this tab's
// saved session on a reload, autosave) or, for a #pfn link, the PFN view, or
// for #experiments, the experiment cards;
// then renders the app. Following a link switches between them.
import { render } from 'preact';
import { effect, signal } from '@preact/signals';
import { html } from '../ui/html.js';
import { Lab } from '../client.js';
import { boot, run, state, hidden, loadHash, testing } from './store.js';
import { restore, startAutosave, kept, saveNow } from './keep.js';
import { App } from '../ui/app.js';
import { PfnApp } from '../ui/pfn.js';
import { ExperimentsApp } from '../ui/experiments.js';
import { acceptDrops } from '../ui/keep.js';
import { embedding } from './embedding.js';
import { isPfnHash } from './pfn-url.js';
import { loadPfnHash, pfn, pfnRun, pfnTesting } from './pfn-store.js';
import { useLab, table, training } from './pfn-tasks.js';
import { experiments, isExperimentHash, loadExperimentHash, stop as stopExperiment, useExperimentLab } from './experiment-store.js';

async function presetList() {
  const index = await (await fetch('./models/presets.json')).json();
  return Promise.all(index.presets.map(async (p) => {
    const spec = await (await fetch(`./models/${p.file}`)).json();
    return { ...p, name: spec.name, spec };
  }));
}

const modeOf = (hash) => (isPfnHash(hash) ? 'pfn' : isExperimentHash(hash) ? 'experiments' : 'lab');
const mode = signal(modeOf(location.hash));
const root = document.getElementById('app');
const APPS = { pfn: PfnApp, experiments: ExperimentsApp, lab: App };
const Root = () => html`<${APPS[mode.value]} />`;
render(html`<${Root} />`, root);

// The static header and footer follow the link's `hide` too.
effect(() => {
  const h = mode.value === 'pfn' ? new Set(pfn.value?.hide ?? []) : mode.value === 'lab' ? hidden.value : new Set();
  document.querySelector('header.top').hidden = h.has('header');
  document.querySelector('header.top p').hidden = h.has('text');
  document.querySelector('footer').hidden = h.has('text');
  for (const a of document.querySelectorAll('header.top nav a')) a.toggleAttribute('aria-current', a.dataset.mode === mode.value);
});

// `?wasm=simd128` (or relaxed-simd, threads; before the #) asks for a wasm build.
const lab = new Lab({ wasm: new URLSearchParams(location.search).get('wasm') });
window.nnlab = { lab, run, state, kept, saveNow, testing, pfn, pfnRun, pfnTesting, pfnTable: table, pfnTraining: training, experiments };
useLab(lab);
useExperimentLab(lab);

let labStarted = null;
function startLab() {
  labStarted ??= (async () => {
    try {
      const [presets, schema] = await Promise.all([presetList(), lab.schema()]);
      startAutosave(lab);
      await boot(lab, presets, schema, { restore });
      embedding(lab, root);
    } catch (e) {
      run.error.value = { kind: e?.kind ?? 'internal', path: null, message: `The lab could not start: ${e?.message ?? e}` };
      run.status.value = 'error';
    }
  })();
  return labStarted;
}

document.documentElement.classList.toggle('embedded', window.parent !== window);
if (mode.value === 'pfn') loadPfnHash(lab, location.hash);
else if (mode.value === 'experiments') loadExperimentHash(location.hash);
else startLab();

acceptDrops(document);
// Following another link (or editing the hash by hand) loads that setup.
window.addEventListener('hashchange', () => {
  const next = modeOf(location.hash);
  if (next !== 'lab' && mode.value === 'lab' && run.status.value === 'playing') lab.pause();
  if (next !== 'experiments' && mode.value === 'experiments') stopExperiment();
  if (next === 'pfn') {
    mode.value = 'pfn';
    loadPfnHash(lab, location.hash);
  } else if (next === 'experiments') {
    mode.value = 'experiments';
    loadExperimentHash(location.hash);
  } else {
    const started = labStarted;
    mode.value = 'lab';
    if (started) loadHash(location.hash);
    else startLab();
  }
});
