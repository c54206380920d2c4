// The page's layout: the controls and the views on the left (on a phone:
// first), the preset, data, model and training settings beside them.
import { html } from './html.js';
import { run, state, hidden } from '../app/store.js';
import { Controls } from './controls.js';
import { PresetPicker } from './presets.js';
import { Builder } from './builder.js';
import { DataPanel, TrainingPanel } from './panels.js';
import { Views } from './views.js';
import { KeepPanel } from './keep.js';

export function App() {
  if (!state.value) {
    const e = run.error.value;
    return html`<main class="loading"><p id="message" class=${e ? 'error' : ''} role="status">${e ? e.message : 'Loading the lab…'}</p></main>`;
  }
  const h = hidden.value;
  const show = (part, el) => (h.has(part) ? null : el);
  const setup = [
    show('presets', html`<section class="panel" aria-label="Preset"><${PresetPicker} /></section>`),
    show('keep', html`<${KeepPanel} />`),
    show('data', html`<${DataPanel} />`),
    show('model', html`<${Builder} />`),
    show('training', html`<${TrainingPanel} />`),
  ].filter(Boolean);
  return html`<main class=${setup.length ? '' : 'single'}>
    <div class="run">
      <${Controls} />
      <${Views} />
    </div>
    ${setup.length > 0 && html`<div class="setup">${setup}</div>`}
  </main>`;
}
