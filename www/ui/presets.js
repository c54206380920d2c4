// The preset picker: every preset by family, with its one-line description
// and the result it reaches.
import { html } from './html.js';
import { state, presets, choosePreset } from '../app/store.js';
import { editError } from './edit.js';

export function expectedText(e) {
  if (!e) return '';
  const what = e.metric === 'testAccuracy' ? `${Math.round(e.atLeast * 100)}% test accuracy or more` : `test loss ${e.atMost} or less`;
  return `${what} in ${e.steps.toLocaleString('en')} steps`;
}

export function PresetPicker() {
  const list = [...presets.value.values()];
  const current = presets.value.get(state.value?.preset);
  const families = [...new Set(list.map((p) => p.family))];
  return html`<div class="preset-picker">
    <label class="field"><span>Preset</span>
      <select id="preset" value=${state.value?.preset ?? ''} onChange=${(e) => choosePreset(e.currentTarget.value).then(() => { editError.value = null; })}>
        ${!current && html`<option value="">(your model)</option>`}
        ${families.map((f) => html`<optgroup label=${f}>${list.filter((p) => p.family === f).map((p) => html`<option value=${p.name}>${p.name}</option>`)}</optgroup>`)}
      </select></label>
    ${current && html`<p class="preset-about"><span>${current.spec.description}</span> <em>Expected: ${expectedText(current.expected)}.</em></p>`}
  </div>`;
}
