// Boots the page: the worker (through the public client), the presets and
// the spec schema, the state from the URL, then renders the app.
import { render } from 'preact';
import { html } from '../ui/html.js';
import { Lab } from '../client.js';
import { boot, run, loadHash, testing } from './store.js';
import { App } from '../ui/app.js';

async function presetList() {
  const index = await (await fetch('./models/presets.json')).json();
  return Promise.all(index.presets.map(async (p) => {
    const spec = await (await fetch(`./models/${p.file}`)).json();
    return { ...p, name: spec.name, spec };
  }));
}

const root = document.getElementById('app');
render(html`<${App} />`, root);

const lab = new Lab();
window.nnlab = { lab, run, testing };
try {
  const [presets, schema] = await Promise.all([presetList(), lab.schema()]);
  await boot(lab, presets, schema);
} catch (e) {
  run.error.value = { kind: e?.kind ?? 'internal', path: null, message: `The lab could not start: ${e?.message ?? e}` };
  run.status.value = 'error';
}

// Following another link (or editing the hash by hand) loads that setup.
window.addEventListener('hashchange', () => loadHash(location.hash));
// Training lives in this tab only (saving sessions comes with autosave): warn before leaving mid-run.
window.addEventListener('beforeunload', (e) => {
  if (run.status.value === 'playing') e.preventDefault();
});
