// Controls generated from the spec's schema: one component per field kind
// (numbers with the schema's limits, choices, sizes, paddings, nested layer
// lists, tagged unions such as the optimizer or the dataset). A field keeps
// what the user typed until it commits (change or Enter); text that is not a
// value at all is explained at once and commits nothing; a value the model
// refuses comes back as an error for its path, shown next to the control.
import { useState, useEffect } from 'preact/hooks';
import { html } from './html.js';
import { fieldOf, pathName, variantDefaults } from '../app/schema.js';

const label = (key) => key.replace(/([A-Z])/g, ' $1').replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());

function parseNumber(text, f) {
  const t = text.trim();
  if (t === '') return f.nullable ? { value: undefined } : { error: 'needs a number' };
  const n = Number(t);
  if (!Number.isFinite(n)) return { error: `"${text}" is not a number` };
  if (f.kind === 'int' && !Number.isInteger(n)) return { error: 'must be a whole number' };
  if (f.min !== undefined && n < f.min) return { error: `must be at least ${f.min}` };
  if (f.max !== undefined && n > f.max) return { error: `must be at most ${f.max}` };
  return { value: n };
}

// A list of numbers (class weights): empty for none.
function parseNumbers(text) {
  const parts = text.split(/[\s,]+/).filter(Boolean);
  if (!parts.length) return { value: undefined };
  const values = parts.map(Number);
  return values.every(Number.isFinite) ? { value: values } : { error: 'numbers separated by commas, e.g. 1, 0.5, 2' };
}

function parseSize(text, padding) {
  const t = text.trim().toLowerCase();
  if (padding && (t === 'same' || t === 'valid')) return { value: t };
  const parts = t.split(/[\s,x×]+/).filter(Boolean).map(Number);
  if (!parts.length || parts.length > 2 || !parts.every((n) => Number.isInteger(n) && n >= 0)) {
    return { error: padding ? 'a whole number, two (e.g. 1,2), "same" or "valid"' : 'a whole number or two (e.g. 3,5)' };
  }
  return { value: parts.length === 1 ? parts[0] : parts };
}

// Schema defaults are f32 values widened to f64 (0.8999999761): show 7 digits.
const formatNumber = (v) => (typeof v === 'number' ? String(Number(v.toPrecision(7))) : String(v));
const formatValue = (v) => (v === undefined || v === null ? '' : Array.isArray(v) ? v.map(formatNumber).join(',') : formatNumber(v));

// A text box that parses on commit; `parse(text) -> {value} | {error}`.
function TextField({ name, value, parse, onCommit, error, inputmode, hint }) {
  const [draft, setDraft] = useState(formatValue(value));
  const [local, setLocal] = useState(null);
  useEffect(() => { setDraft(formatValue(value)); setLocal(null); }, [formatValue(value)]);
  const commit = () => {
    const r = parse(draft);
    if (r.error) { setLocal(r.error); return; }
    setLocal(null);
    if (formatValue(r.value) !== formatValue(value)) onCommit(r.value);
  };
  const shown = local ?? error;
  // Long text (an uploaded table) is summarised, not edited in a one-line box.
  if (typeof value === 'string' && value.length > 200) {
    return html`<p class="field"><span>${name}</span> ${value.length.toLocaleString('en')} characters (uploaded)</p>`;
  }
  return html`<label class=${shown ? 'field invalid' : 'field'} title=${hint}>
    <span>${name}</span>
    <input value=${draft} inputmode=${inputmode} aria-invalid=${shown ? 'true' : 'false'}
      onInput=${(e) => setDraft(e.currentTarget.value)} onChange=${commit}
      onKeyDown=${(e) => { if (e.key === 'Enter') commit(); }} />
    ${shown && html`<small class="problem" role="alert">${shown}</small>`}
  </label>`;
}

function Choice({ name, value, options, onCommit, error, hint, nullable }) {
  return html`<label class=${error ? 'field invalid' : 'field'} title=${hint}>
    <span>${name}</span>
    <select value=${value ?? ''} onChange=${(e) => onCommit(e.currentTarget.value === '' ? undefined : e.currentTarget.value)}>
      ${nullable && html`<option value="">none</option>`}
      ${options.map((o) => html`<option value=${o}>${o}</option>`)}
    </select>
    ${error && html`<small class="problem" role="alert">${error}</small>`}
  </label>`;
}

// Fields edited elsewhere (by clicking the 2D plane): a count and a way to clear them.
const EDITED_ON_THE_PLANE = { points: 'points drawn', removed: 'points taken out' };

// One field of an object: `path` is where it sits in the spec.
export function Field({ fkey, prop, value, path, defs, ctx }) {
  const f = fieldOf(prop, defs);
  const name = label(fkey);
  const error = ctx.errorAt(pathName(path));
  const commit = (v) => ctx.commit(path, v);
  const hint = f.description || undefined;
  if (EDITED_ON_THE_PLANE[fkey]) {
    const n = value?.length ?? 0;
    return html`<p class="field"><span>${name}</span> ${n} ${EDITED_ON_THE_PLANE[fkey]} on the plane
      ${n > 0 && html` <button class="link" onClick=${() => commit(undefined)}>clear</button>`}
      ${error && html`<small class="problem" role="alert">${error}</small>`}</p>`;
  }
  switch (f.kind) {
    case 'int':
    case 'num':
      return html`<${TextField} name=${name} value=${value ?? f.default} parse=${(t) => parseNumber(t, f)} onCommit=${commit} error=${error} inputmode=${f.kind === 'int' ? 'numeric' : 'decimal'} hint=${hint} />`;
    case 'size':
    case 'padding':
      return html`<${TextField} name=${name} value=${value ?? f.default} parse=${(t) => parseSize(t, f.kind === 'padding')} onCommit=${commit} error=${error} hint=${hint} />`;
    case 'shape':
      return html`<${TextField} name=${name} value=${value} parse=${(t) => { const r = parseSize(t, false); if (r.error) { const p = t.split(/[\s,]+/).filter(Boolean).map(Number); return p.length && p.every((n) => Number.isInteger(n) && n > 0) ? { value: p } : { error: 'positive whole numbers, e.g. 1,8,8' }; } return { value: [r.value].flat() }; }} onCommit=${commit} error=${error} hint=${hint} />`;
    case 'bool':
      return html`<label class="field check" title=${hint}><input type="checkbox" checked=${value ?? f.default ?? false} onChange=${(e) => commit(e.currentTarget.checked)} /><span>${name}</span></label>`;
    case 'enum':
      return html`<${Choice} name=${name} value=${value ?? f.default} options=${f.options} nullable=${f.nullable} onCommit=${commit} error=${error} hint=${hint} />`;
    case 'numbers':
      return html`<${TextField} name=${name} value=${value} parse=${parseNumbers} onCommit=${commit} error=${error} inputmode="decimal" hint=${hint} />`;
    case 'strings':
      return html`<${TextField} name=${name} value=${(value ?? []).join(', ')} parse=${(t) => ({ value: t.split(',').map((s) => s.trim()).filter(Boolean) })} onCommit=${commit} error=${error} hint=${hint} />`;
    case 'union':
      return html`<${Union} name=${name} f=${f} value=${value} path=${path} defs=${defs} ctx=${ctx} />`;
    case 'object':
      return html`<fieldset class="nested"><legend>${name}</legend><div class="object-fields"><${ObjectFields} node=${f.node} value=${value ?? {}} path=${path} defs=${defs} ctx=${ctx} /></div></fieldset>`;
    case 'layers':
      return ctx.renderLayers(name, value ?? [], path);
    default:
      return html`<${TextField} name=${name} value=${value} parse=${(t) => ({ value: t })} onCommit=${commit} error=${error} hint=${hint} />`;
  }
}

// The fields of an object node (except `skip`, e.g. a union's tag).
// Required fields come first, in the order the schema requires them.
export function ObjectFields({ node, value, path, defs, ctx, skip = [] }) {
  const required = node.required ?? [];
  const rank = (k) => (required.includes(k) ? required.indexOf(k) : required.length);
  return Object.entries(node.properties ?? {})
    .filter(([k]) => !skip.includes(k))
    .sort(([a], [b]) => rank(a) - rank(b))
    .map(([k, prop]) => html`<${Field} key=${k} fkey=${k} prop=${prop} value=${value?.[k]} path=${[...path, k]} defs=${defs} ctx=${ctx} />`);
}

// A tagged union (optimizer, dataset, schedule, ...): a choice of variant,
// then that variant's fields. Switching variant starts from its defaults.
export function Union({ name, f, value, path, defs, ctx }) {
  const current = value?.[f.tag];
  const variant = f.variants.find((v) => v.value === current);
  const choose = (v) => {
    if (v === undefined) return ctx.commit(path, undefined);
    const next = f.variants.find((x) => x.value === v);
    ctx.commit(path, variantDefaults(next, f.tag, defs));
  };
  const error = ctx.errorAt(pathName(path));
  return html`<div class="union">
    <${Choice} name=${name} value=${current} options=${f.variants.map((v) => v.value)} nullable=${f.nullable} onCommit=${choose} error=${error}
      hint=${variant?.description} />
    ${variant && html`<div class="union-fields"><${ObjectFields} node=${variant.node} value=${value} path=${path} defs=${defs} ctx=${ctx} skip=${[f.tag]} /></div>`}
  </div>`;
}
