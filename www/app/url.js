// The state object's mirror in the URL hash, in both directions. Reading a
// hash never throws and never silently changes what the link asked for: each
// part it cannot use is listed in `problems` so the page can say so.
//
//   #preset=digits-cnn                       a preset as shipped
//   #s=<setup>                               any model (an edited preset, a built one, an uploaded
//                                            table): its spec, deflated, base64url (link.js; Rust's decodeSetup reads it)
//   #spec=<JSON, URI-encoded>                the same, uncompressed (older links; still read)
//   &backend=auto|webgpu|cpu  &log=1  &smooth=0.6
//   &example=3  &layer=layers[2]  &closed=histograms,filters
//                                            the test example and the layer the views show, the views folded up
//   &hide=header,data,...  &autoplay=1       embedding (PARTS below; README has the table)
// Links of the earlier 2D playground (#dataset=spiral&hidden=8,8&...) still open.
import { VIEWS } from '../viz/registry.js';

const BACKENDS = ['auto', 'webgpu', 'cpu'];
const LEGACY_DATASETS = ['circle', 'xor', 'gauss', 'spiral', 'reg-plane', 'reg-gauss'];

// What `hide` may name: the page's groups, then every view by its id.
export const PARTS = Object.freeze([
  ['header', 'the title bar'],
  ['text', 'the description under the title and the footer'],
  ['presets', 'the preset picker'],
  ['data', 'the data panel (settings, CSV upload)'],
  ['model', 'the model builder'],
  ['training', 'the training settings'],
  ['controls', 'Play, Step, Reset and the backend choice'],
  ['stats', 'the numbers (step, losses, accuracy, speed)'],
  ['keep', 'saving, files, sharing and the list of saved sessions'],
  ['view-options', 'the log-scale and smoothing switches'],
  ...VIEWS.map((v) => [v.id, `the ${v.title.toLowerCase()} view`]),
]);
const PART_NAMES = new Set(PARTS.map(([name]) => name));
const LAYER_PATH = /^layers(\[\d{1,4}\](\.(body|shortcut))?)+$/;
const isLayerPath = (v) => typeof v === 'string' && v.length <= 200 && LAYER_PATH.test(v);
const isExample = (v) => Number.isInteger(v) && v >= 0 && v < 1e6;

// View settings from an untrusted object (a session file's page part): what is not valid is left out.
export function cleanView(v) {
  const views = new Set(VIEWS.map((x) => x.id));
  const out = { log: v?.log === true, smooth: Number.isFinite(v?.smooth) && v.smooth >= 0 && v.smooth < 1 ? v.smooth : 0 };
  if (isExample(v?.example)) out.example = v.example;
  if (isLayerPath(v?.layer)) out.layer = v.layer;
  if (Array.isArray(v?.closed)) out.closed = [...new Set(v.closed.filter((c) => views.has(c)))];
  return out;
}

// JSON text with object keys sorted: two specs of the same model give the
// same text whatever order their keys came in (a decoded link sorts them).
export function canonical(value) {
  return JSON.stringify(value, (_, v) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v));
}

// `packed` is the link text of the spec (link.js), used unless the spec is a preset's as shipped.
export function toHash(state, presetSpec, packed) {
  const p = new URLSearchParams();
  const same = presetSpec && canonical(presetSpec) === canonical(state.spec);
  if (same) p.set('preset', state.preset);
  else p.set('s', packed);
  if (state.backend !== 'auto') p.set('backend', state.backend);
  if (state.view.log) p.set('log', '1');
  if (state.view.smooth) p.set('smooth', String(state.view.smooth));
  if (state.view.example) p.set('example', String(state.view.example));
  if (state.view.layer) p.set('layer', state.view.layer);
  if (state.view.closed?.length) p.set('closed', state.view.closed.join(','));
  if (state.embed.hide.length) p.set('hide', state.embed.hide.join(','));
  if (state.embed.autoplay) p.set('autoplay', '1');
  return '#' + p.toString().replaceAll('%2C', ',').replaceAll('%5B', '[').replaceAll('%5D', ']');
}

// -> {preset, spec, backend, view, embed, problems: [text]}; `spec` is null
// when the link names none (or none that reads), `preset` null when it names
// no preset. `decode` reads an `s` setup (decodeSetup: rejects with the reason).
export async function fromHash(hash, presets, decode) {
  const p = new URLSearchParams(String(hash).replace(/^#/, ''));
  const out = { preset: null, spec: null, backend: 'auto', view: { log: false, smooth: 0 }, embed: { hide: [], autoplay: false }, problems: [] };
  const backend = p.get('backend');
  if (backend !== null) {
    if (BACKENDS.includes(backend)) out.backend = backend;
    else out.problems.push(`backend "${backend}" is not one of ${BACKENDS.join(', ')}; using auto`);
  }
  out.view.log = p.get('log') === '1';
  const smooth = Number(p.get('smooth') ?? 0);
  out.view.smooth = Number.isFinite(smooth) && smooth >= 0 && smooth < 1 ? smooth : 0;
  const example = p.get('example');
  if (example !== null) {
    if (/^\d{1,6}$/.test(example)) out.view.example = Number(example);
    else out.problems.push(`example "${example}" is not an example number`);
  }
  const layer = p.get('layer');
  if (layer !== null) {
    if (isLayerPath(layer)) out.view.layer = layer;
    else out.problems.push(`layer "${layer.slice(0, 60)}" is not a layer's path`);
  }
  const closed = (p.get('closed') ?? '').split(',').map((c) => c.trim()).filter(Boolean);
  const views = new Set(VIEWS.map((v) => v.id));
  if (closed.length) out.view.closed = [...new Set(closed.filter((c) => views.has(c)))];
  if (closed.some((c) => !views.has(c))) out.problems.push(`closed: there is no view called ${closed.filter((c) => !views.has(c)).map((c) => `"${c}"`).join(', ')}`);
  const hide = (p.get('hide') ?? '').split(',').map((h) => h.trim()).filter(Boolean);
  out.embed.hide = [...new Set(hide.filter((h) => PART_NAMES.has(h)))];
  const unknown = hide.filter((h) => !PART_NAMES.has(h));
  if (unknown.length) out.problems.push(`hide: there is no part called ${unknown.map((h) => `"${h}"`).join(', ')}`);
  out.embed.autoplay = p.get('autoplay') === '1';
  const preset = p.get('preset');
  if (preset !== null) {
    if (presets.has(preset)) {
      out.preset = preset;
      out.spec = structuredClone(presets.get(preset).spec);
    } else out.problems.push(`there is no preset "${preset}"`);
  }
  const named = (spec) => {
    out.spec = spec;
    out.preset = presets.has(spec.name) ? spec.name : out.preset;
  };
  const packed = p.get('s');
  if (packed !== null) {
    try {
      named((await decode(packed)).spec);
    } catch (e) {
      out.problems.push(!e.path || e.path === 'link' ? `the link ${e.message}` : `its model is not valid (${e.path}: ${e.message})`);
    }
  }
  const spec = p.get('spec');
  if (spec !== null) {
    try {
      const parsed = JSON.parse(spec);
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      named(parsed);
    } catch (e) {
      out.problems.push(`the model in the link is not valid JSON (${e.message})`);
    }
  }
  if (!out.spec && p.has('dataset')) out.spec = legacySpec(p, presets, out.problems);
  return out;
}

// The earlier playground's settings as a spec, every unusable value named.
function legacySpec(p, presets, problems) {
  const base = structuredClone(presets.get('playground-spiral').spec);
  const dataset = p.get('dataset');
  const set = LEGACY_DATASETS.includes(dataset) ? dataset : 'spiral';
  if (set !== dataset) problems.push(`dataset "${dataset}" is unknown; using spiral`);
  const num = (key, fallback) => {
    const v = p.get(key);
    if (v === null) return fallback;
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) { problems.push(`${key} "${v}" is not a number; using ${fallback}`); return fallback; }
    return n;
  };
  const hidden = (p.get('hidden') ?? '8,8').split(',').filter((s) => s.trim() !== '').map(Number);
  const activation = p.get('activation') ?? 'tanh';
  const layers = [];
  for (const h of hidden) layers.push({ type: 'linear', out: h }, { type: 'activation', fn: activation });
  layers.push({ type: 'linear', out: set.startsWith('reg-') ? 1 : 2 });
  const optimizer = p.get('optimizer') === 'sgd' ? { name: 'sgd', lr: num('learningRate', 0.03), momentum: 0.9 } : { name: 'adam', lr: num('learningRate', 0.03) };
  return {
    ...base,
    name: `playground-${set}`,
    seed: num('seed', 1),
    layers,
    data: { name: 'plane', set, noise: num('noise', 10) / 100, samples: 500, trainRatio: num('trainRatio', 50) / 100 },
    optimizer,
    training: { ...base.training, batchSize: num('batchSize', 32) },
  };
}
