// The state object's mirror in the URL hash, in both directions. Reading a
// hash never throws and never silently changes what the link asked for: each
// part it cannot use is listed in `problems` so the page can say so.
//
//   #preset=digits-cnn                       a preset as shipped
//   #spec=<JSON, URI-encoded>                any model (an edited preset, a built one)
//   &backend=auto|webgpu|cpu  &log=1  &smooth=0.6
// Links of the earlier 2D playground (#dataset=spiral&hidden=8,8&...) still open.

const BACKENDS = ['auto', 'webgpu', 'cpu'];
const LEGACY_DATASETS = ['circle', 'xor', 'gauss', 'spiral', 'reg-plane', 'reg-gauss'];

export function toHash(state, presetSpec) {
  const p = new URLSearchParams();
  const same = presetSpec && JSON.stringify(presetSpec) === JSON.stringify(state.spec);
  if (same) p.set('preset', state.preset);
  else p.set('spec', JSON.stringify(state.spec));
  if (state.backend !== 'auto') p.set('backend', state.backend);
  if (state.view.log) p.set('log', '1');
  if (state.view.smooth) p.set('smooth', String(state.view.smooth));
  return '#' + p.toString();
}

// -> {preset, spec, backend, view, problems: [text]}; `spec` is null when the
// link names none (or none that parses), `preset` null when it names no preset.
export function fromHash(hash, presets) {
  const p = new URLSearchParams(String(hash).replace(/^#/, ''));
  const out = { preset: null, spec: null, backend: 'auto', view: { log: false, smooth: 0 }, problems: [] };
  const backend = p.get('backend');
  if (backend !== null) {
    if (BACKENDS.includes(backend)) out.backend = backend;
    else out.problems.push(`backend "${backend}" is not one of ${BACKENDS.join(', ')}; using auto`);
  }
  out.view.log = p.get('log') === '1';
  const smooth = Number(p.get('smooth') ?? 0);
  out.view.smooth = Number.isFinite(smooth) && smooth >= 0 && smooth < 1 ? smooth : 0;
  const preset = p.get('preset');
  if (preset !== null) {
    if (presets.has(preset)) {
      out.preset = preset;
      out.spec = structuredClone(presets.get(preset).spec);
    } else out.problems.push(`there is no preset "${preset}"`);
  }
  const spec = p.get('spec');
  if (spec !== null) {
    try {
      const parsed = JSON.parse(spec);
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      out.spec = parsed;
      out.preset = presets.has(parsed.name) ? parsed.name : out.preset;
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
