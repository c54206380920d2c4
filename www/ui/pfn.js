// The PFN view: a transformer trained only on datasets drawn from a GP
// prior, predicting the posterior of the points on the plot in one forward
// pass, drawn over the exact GP posterior; the GP's kernel and
// hyperparameters beside it, and both models' log-likelihood of held-out points.
import { useEffect, useRef } from 'preact/hooks';
import { html } from './html.js';
import { pfn, pfnRun, Y_RANGE, queries, GRID, addPoint, movePoint, removePoint, clearPoints, drawData, setPfn, matchesPrior, modelName } from '../app/pfn-store.js';
import { KERNELS, DOMAIN, RANGES } from '../app/pfn-url.js';
import { mountRegression } from '../viz/pfn-regression.js';
import { ClassificationView } from './pfn-classify.js';
import { TrainView } from './pfn-train.js';

const KERNEL_NAMES = { rbf: 'RBF', matern12: 'Matérn 1/2', matern32: 'Matérn 3/2', matern52: 'Matérn 5/2' };
const fixed = (v, d = 3) => (Number.isFinite(v) ? v.toFixed(d) : '–');

function Plot() {
  const box = useRef(null);
  const view = useRef(null);
  const latest = useRef(null);
  const s = pfn.value;
  const curve = pfnRun.curve.value;
  // The curves of the points they were computed for; the points as they are now.
  latest.current = { curve, points: s.context, heldOut: s.heldOut, domain: DOMAIN, yRange: Y_RANGE, queries, grid: GRID };
  useEffect(() => {
    view.current = mountRegression(box.current, () => latest.current, { add: addPoint, move: movePoint, remove: removePoint });
    const resized = new ResizeObserver(() => view.current.draw());
    resized.observe(box.current);
    return () => resized.disconnect();
  }, []);
  useEffect(() => {
    const frame = requestAnimationFrame(() => view.current?.draw());
    return () => cancelAnimationFrame(frame);
  });
  return html`<div class="pfn-plot" ref=${box} data-points=${s.context.length} data-curve-points=${curve?.points?.length ?? 0}></div>`;
}

function Legend() {
  return html`<p class="caption pfn-legend">
    <span><i class="swatch pfn"></i> PFN: mean, 50% and 90% intervals, density (shade)</span>
    <span><i class="swatch gp"></i> exact GP: mean, 50% and 90% intervals</span>
    <span><i class="dot"></i> context</span> <span><i class="ring"></i> held-out</span>
  </p>`;
}

function Readout() {
  const c = pfnRun.curve.value;
  const s = pfn.value;
  const h = c?.heldOut;
  const ll = (nll) => (Number.isFinite(nll) ? (-nll).toFixed(3) : '–');
  return html`<dl class="stats pfn-stats">
    <div><dt>Context points</dt><dd id="pfn-context">${s.context.length} / ${pfnRun.info.value?.maxContext ?? '–'}</dd></div>
    <div><dt>Held-out log-lik., PFN</dt><dd id="pfn-ll" data-value=${h ? -h.pfnNll : ''}>${h ? ll(h.pfnNll) : '–'}</dd></div>
    <div><dt>Held-out log-lik., exact GP</dt><dd id="gp-ll" data-value=${h?.exactNll != null ? -h.exactNll : ''}>${h ? ll(h.exactNll) : '–'}</dd></div>
    <div><dt>PFN + GP, ms</dt><dd id="pfn-ms" data-value=${c?.ms ?? ''}>${c ? fixed(c.ms, 1) : '–'}</dd></div>
  </dl>
  ${h && html`<p class="caption">Mean log-likelihood per point (nats) of the ${h.points} held-out points (rings) given the context: higher is better; the exact GP is the best any model can do on average when its prior is the true one.</p>`}`;
}

function GpControls({ training }) {
  const s = pfn.value;
  const num = (key, label, step) => html`<label class="field"><span>${label}</span>
    <input id=${`gp-${key}`} type="number" min=${RANGES[key][0]} max=${RANGES[key][1]} step=${step} value=${s[key]}
      onChange=${(e) => {
        const v = Number(e.currentTarget.value);
        if (Number.isFinite(v) && v >= RANGES[key][0] && v <= RANGES[key][1]) setPfn({ [key]: v });
        else { pfnRun.message.value = { kind: 'invalid_argument', message: `${label} must be a number in [${RANGES[key].join(', ')}].` }; e.currentTarget.value = s[key]; }
      }} /></label>`;
  const unknown = s.ls === 'unknown';
  return html`<section class="panel" aria-label="The exact GP">
    <header class="panel-head"><h2>Exact GP</h2></header>
    <label class="field"><span>Kernel</span>
      <select id="gp-kernel" value=${s.kernel} onChange=${(e) => setPfn({ kernel: e.currentTarget.value })}>
        ${KERNELS.map((k) => html`<option value=${k}>${KERNEL_NAMES[k]}</option>`)}
      </select></label>
    <label class="field check"><input id="gp-ls-unknown" type="checkbox" checked=${unknown} onChange=${(e) => setPfn({ ls: e.currentTarget.checked ? 'unknown' : 0.3 })} />
      <span>Lengthscale unknown (uniform in [0.1, 0.6])</span></label>
    ${!unknown && num('ls', 'Lengthscale', 0.05)}
    ${num('os', 'Output scale (signal variance)', 0.1)}
    ${num('noise', 'Noise standard deviation', 0.01)}
    ${training ? html`<p class="caption">The PFN in training learns datasets drawn from this GP; a change applies to the next training run.</p>`
      : html`<p class="caption" id="pfn-model">PFN: <strong>${modelName(s)}</strong>, trained on ${unknown
      ? 'GPs with the lengthscale drawn uniformly in [0.1, 0.6]: its reference is the Bayes-optimal mixture over lengthscales'
      : 'GPs with an RBF kernel, lengthscale 0.3, output scale 1 and noise 0.1'}.
      ${!matchesPrior(s) && html`<span class="notice" id="pfn-mismatch"> The exact GP now differs from that prior, so the two need not agree: the PFN only knows its prior.</span>`}</p>`}
  </section>`;
}

function Message() {
  const m = pfnRun.message.value;
  const note = pfnRun.note.value;
  if (m) return html`<div id="pfn-message" role="status" aria-live="polite" class="error">${m.message}</div>`;
  return html`<div id="pfn-message" role="status" aria-live="polite" class=${note ? 'notice' : ''}>${note}</div>`;
}

function Regression() {
  const status = pfnRun.status.value;
  return html`<section class="panel" aria-label="PFN regression">
    <header class="panel-head"><h2>A transformer doing Bayesian inference</h2>
      <span class="status" id="pfn-status" data-status=${status}>${{ loading: 'loading the model…', ready: 'ready', error: 'stopped' }[status]}</span></header>
    <p class="caption">This prior-data fitted network (Müller et al., 2022) never saw these points: it was trained only on random functions from a GP prior.
      Given the context points it predicts the posterior at every x in one forward pass. Click to add a point, drag to move one, double-click to remove one.</p>
    <${Plot} />
    <${Legend} />
    <div class="buttons">
      <button id="pfn-draw" onClick=${() => drawData(8)}>New data from the GP</button>
      <button id="pfn-clear" onClick=${clearPoints}>Clear</button>
    </div>
    <${Message} />
    <${Readout} />
  </section>`;
}

const TABS = [['gp', 'Regression'], ['tabular', 'Classification'], ['train', 'Train your own']];

export function PfnApp() {
  if (!pfn.value) return html`<main class="loading"><p role="status">Loading the PFN…</p></main>`;
  const view = pfn.value.view;
  const hide = new Set(pfn.value.hide);
  return html`<main class=${view === 'tabular' || hide.has('gp') ? 'pfn single' : 'pfn'}>
    <div class="run">
      <nav class="tabs" aria-label="PFN tasks" hidden=${hide.has('tabs')}>
        ${TABS.map(([id, name]) => html`<button id=${`pfn-tab-${id}`} class=${view === id ? 'tab current' : 'tab'} aria-pressed=${view === id} onClick=${() => setPfn({ view: id })}>${name}</button>`)}
      </nav>
      ${view === 'gp' && html`<${Regression} />`}
      ${view === 'tabular' && html`<${ClassificationView} />`}
      ${view === 'train' && html`<${TrainView} />`}
    </div>
    ${view !== 'tabular' && !hide.has('gp') && html`<div class="setup"><${GpControls} training=${view === 'train'} /></div>`}
  </main>`;
}
