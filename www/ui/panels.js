// The data and training panels: the spec's `data`, `seed`, `optimizer`,
// `loss` and `training` fields, rendered from the schema like the builder.
import { html } from './html.js';
import { state, schema } from '../app/store.js';
import { Field } from './form.js';
import { commitAt, errorAt, EditProblem } from './edit.js';
import { CsvUpload } from './upload.js';

function Fields({ keys }) {
  const sch = schema.value;
  const spec = state.value?.spec;
  if (!sch || !spec) return null;
  const ctx = { commit: commitAt, errorAt, renderLayers: () => null };
  return keys.map((k) => html`<${Field} key=${k} fkey=${k} prop=${sch.properties[k]} value=${spec[k]} path=${[k]} defs=${sch.$defs} ctx=${ctx} />`);
}

export function DataPanel() {
  return html`<section class="panel" aria-label="Data">
    <header class="panel-head"><h2>Data</h2></header>
    <${Fields} keys=${['data', 'seed']} />
    <${EditProblem} wanted=${(p) => p === 'input' || p === 'data.csv' || p === 'data.label'} />
    <${CsvUpload} />
  </section>`;
}

export function TrainingPanel() {
  return html`<section class="panel" aria-label="Training settings">
    <header class="panel-head"><h2>Training</h2></header>
    <${Fields} keys=${['optimizer', 'loss', 'training']} />
  </section>`;
}
