// The model builder: the layer list (nested blocks indented), each layer with
// its fields, output shape and parameter count (shape inference in the
// worker; nothing is allocated), buttons to move and remove it, and a choice
// of layer to add; and the spec as JSON for those who prefer text.
import { useState } from 'preact/hooks';
import { html } from './html.js';
import { state, run, schema } from '../app/store.js';
import { layerTypes, pathName, variantDefaults } from '../app/schema.js';
import { ObjectFields, Field } from './form.js';
import { commitAt, errorAt, propose, EditProblem } from './edit.js';

const shape = (s) => (s ? `[${s.join(', ')}]` : '');
const count = (n) => n.toLocaleString('en');

function LayerRow({ layer, index, path, list, ctx, defs, types, choice }) {
  const variant = types.find((t) => t.value === layer.type);
  const id = pathName(path);
  const report = run.report.value?.layers.find((l) => l.path === id);
  const error = errorAt(id);
  const move = (to) => commitAt(path.slice(0, -1), (current) => {
    const next = [...current];
    const [moved] = next.splice(index, 1);
    next.splice(to, 0, moved);
    return next;
  });
  return html`<li class=${error ? 'layer invalid' : 'layer'} data-path=${id}>
    <div class="layer-head">
      <strong title=${variant?.description}>${layer.type}</strong>
      <span class="shape" title="output shape per example">${report ? shape(report.output) : ''}</span>
      <span class="params">${report ? `${count(report.params)} params` : ''}</span>
      <span class="layer-buttons">
        <button aria-label=${`Move ${id} up`} disabled=${index === 0} onClick=${() => move(index - 1)}>↑</button>
        <button aria-label=${`Move ${id} down`} disabled=${index === list.length - 1} onClick=${() => move(index + 1)}>↓</button>
        <button aria-label=${`Insert ${choice} after ${id}`} title=${`Insert ${choice} after this layer`} onClick=${() => insert(index + 1, choice, path.slice(0, -1), types, defs)}>+</button>
        <button aria-label=${`Remove ${id}`} onClick=${() => commitAt(path, undefined)}>✕</button>
      </span>
    </div>
    ${error && html`<small class="problem" role="alert">${error}</small>`}
    ${variant && html`<div class="layer-fields"><${ObjectFields} node=${variant.node} value=${layer} path=${path} defs=${defs} ctx=${ctx} skip=${['type']} /></div>`}
  </li>`;
}

// A new layer of type `choice` at `at` in the list at `path`, with its defaults.
function insert(at, choice, path, types, defs) {
  const v = types.find((t) => t.value === choice);
  commitAt(path, (list) => {
    const next = [...(list ?? [])];
    next.splice(Math.min(at, next.length), 0, variantDefaults(v, 'type', defs));
    return next;
  });
}

// The type to add: "+" on a layer inserts it after that layer, Add at the end.
function LayerList({ name, list, path, ctx, defs, types }) {
  const [choice, setChoice] = useState('linear');
  const id = pathName(path);
  return html`<div class="layer-list">
    <ol>${list.map((layer, i) => html`<${LayerRow} key=${i} layer=${layer} index=${i} path=${[...path, i]} list=${list} ctx=${ctx} defs=${defs} types=${types} choice=${choice} />`)}</ol>
    <div class="add-layer">
      <label class="field"><span>Layer to add to ${name.toLowerCase()}</span>
        <select data-list=${id} value=${choice} onChange=${(e) => setChoice(e.currentTarget.value)}>
          ${types.map((t) => html`<option value=${t.value} title=${t.description}>${t.value}</option>`)}
        </select></label>
      <button aria-label=${`Add ${choice} at the end of ${id}`} onClick=${() => insert(Infinity, choice, path, types, defs)}>Add</button>
    </div>
  </div>`;
}

function JsonView() {
  const text = JSON.stringify(state.value.spec, null, 2);
  const [draft, setDraft] = useState(null);
  const [problem, setProblem] = useState(null);
  const apply = async () => {
    let spec;
    try {
      spec = JSON.parse(draft ?? text);
    } catch (e) {
      setProblem(`not JSON: ${e.message}`);
      return;
    }
    const error = await propose(spec);
    setProblem(error ? `${error.path ? `${error.path}: ` : ''}${error.message}` : null);
    if (!error) setDraft(null);
  };
  return html`<div class="json-view">
    <textarea aria-label="Model spec as JSON" spellcheck="false" rows="16" value=${draft ?? text} onInput=${(e) => setDraft(e.currentTarget.value)}></textarea>
    <div class="row"><button onClick=${apply}>Apply JSON</button><button onClick=${() => { setDraft(null); setProblem(null); }}>Revert</button></div>
    ${problem && html`<p class="problem" role="alert">${problem}</p>`}
  </div>`;
}

export function Builder() {
  const [asJson, setAsJson] = useState(false);
  const sch = schema.value;
  const spec = state.value?.spec;
  if (!sch || !spec) return null;
  const defs = sch.$defs;
  const types = layerTypes(sch);
  const ctx = {
    commit: commitAt,
    errorAt,
    renderLayers: (name, list, path) => html`<fieldset class="nested"><legend>${name}</legend><${LayerList} name=${name} list=${list} path=${path} ctx=${ctx} defs=${defs} types=${types} /></fieldset>`,
  };
  const report = run.report.value;
  // Errors at a layer or the input are shown there; the model's as a whole here.
  const wanted = (p) => p === 'layers' || p === '' || p === 'spec';
  return html`<section class="panel builder" aria-label="Model">
    <header class="panel-head"><h2>Model</h2>
      <span class="totals">${report ? `${count(report.params)} parameters, output ${shape(report.output)}` : ''}</span>
      <button class="link" onClick=${() => setAsJson(!asJson)}>${asJson ? 'Layers' : 'JSON'}</button></header>
    <${EditProblem} wanted=${wanted} />
    ${asJson ? html`<${JsonView} />` : html`
      <${Field} fkey="input" prop=${sch.properties.input} value=${spec.input} path=${['input']} defs=${defs} ctx=${ctx} />
      <${LayerList} name="Layers" list=${spec.layers} path=${['layers']} ctx=${ctx} defs=${defs} types=${types} />`}
  </section>`;
}
