// Boots the page: the worker (through the public client), the presets and
// the spec schema, the state from the URL (or this tab's saved session on a
// reload), autosave, then renders the app.
import { render } from 'preact';
import { effect } from '@preact/signals';
import { html } from '../ui/html.js';
import { Lab } from '../client.js';
import { boot, run, state, hidden, loadHash, testing } from './store.js';
import { restore, startAutosave, kept, saveNow } from './keep.js';
import { App } from '../ui/app.js';
import { acceptDrops } from '../ui/keep.js';
import { embedding } from './embedding.js';

async function presetList() {
  const index = await (await fetch('./models/presets.json')).json();
  return Promise.all(index.presets.map(async (p) => {
    const spec = await (await fetch(`./models/${p.file}`)).json();
    return { ...p, name: spec.name, spec };
  }));
}

const root = document.getElementById('app');
render(html`<${App} />`, root);

// The static header and footer follow the link's `hide` too.
effect(() => {
  const h = hidden.value;
  document.querySelector('header.top').hidden = h.has('header');
  document.querySelector('header.top p').hidden = h.has('text');
  document.querySelector('footer').hidden = h.has('text');
});

const lab = new Lab();
window.nnlab = { lab, run, state, kept, saveNow, testing };
try {
  const [presets, schema] = await Promise.all([presetList(), lab.schema()]);
  startAutosave(lab);
  await boot(lab, presets, schema, { restore });
  embedding(lab, root);
} catch (e) {
  run.error.value = { kind: e?.kind ?? 'internal', path: null, message: `The lab could not start: ${e?.message ?? e}` };
  run.status.value = 'error';
}

acceptDrops(document);
// Following another link (or editing the hash by hand) loads that setup.
window.addEventListener('hashchange', () => loadHash(location.hash));
