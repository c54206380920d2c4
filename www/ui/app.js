// The page's layout: the controls and the views on the left (on a phone:
// first), the preset, data, model and training settings beside them.
import { html } from './html.js';
import { run, state } from '../app/store.js';
import { Controls } from './controls.js';
import { PresetPicker } from './presets.js';
import { Builder } from './builder.js';
import { DataPanel, TrainingPanel } from './panels.js';
import { Views } from './views.js';

export function App() {
  if (!state.value) {
    const e = run.error.value;
    return html`<main class="loading"><p id="message" class=${e ? 'error' : ''} role="status">${e ? e.message : 'Loading the lab…'}</p></main>`;
  }
  return html`<main>
    <div class="run">
      <${Controls} />
      <${Views} />
    </div>
    <div class="setup">
      <section class="panel" aria-label="Preset"><${PresetPicker} /></section>
      <${DataPanel} />
      <${Builder} />
      <${TrainingPanel} />
    </div>
  </main>`;
}
