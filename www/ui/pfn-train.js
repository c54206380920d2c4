// Train your own PFN: a small transformer trained here, in the worker, on
// datasets from the GP set on the right; its held-out NLL is charted against
// the exact GP's as it learns.
import { useEffect, useRef } from 'preact/hooks';
import { html } from './html.js';
import { pfn } from '../app/pfn-store.js';
import { training, startTraining, pauseTraining, resumeTraining, trainingSpec } from '../app/pfn-tasks.js';
import { seriesChart } from '../viz/series.js';

function Chart() {
  const box = useRef(null);
  const chart = useRef(null);
  const history = training.history.value;
  useEffect(() => {
    chart.current = seriesChart(box.current, { title: 'Held-out NLL (nats per point, lower is better)' });
    return () => chart.current.destroy();
  }, []);
  useEffect(() => {
    const h = history.filter((p) => Number.isFinite(p.pfnNll));
    chart.current.set(['PFN', 'exact GP'], h.map((p) => p.step), [h.map((p) => p.pfnNll), h.map((p) => p.exactNll)]);
  }, [history]);
  return html`<div class="pfn-train-chart" ref=${box}></div>`;
}

export function TrainView() {
  const status = training.status.value;
  const spec = trainingSpec(pfn.value);
  const last = training.history.value.at(-1);
  const m = spec.model;
  return html`<section class="panel" aria-label="Train a PFN">
    <header class="panel-head"><h2>Train your own PFN</h2>
      <span class="status" id="pfn-train-status" data-status=${status}>${{ idle: '', training: 'training…', paused: 'paused', done: 'done', error: 'stopped' }[status]}</span></header>
    <p class="caption">A PFN learns Bayesian inference from nothing but samples of its prior. This one (${m.layers} transformer layers of width ${m.dModel} and ${m.buckets} buckets) trains here on datasets of ${spec.context[0]} to ${spec.context[1]} points drawn from the GP set on the right;
      every 200 steps it is scored on held-out datasets from that GP, beside the exact posterior.</p>
    <div class="buttons">
      ${status === 'training'
        ? html`<button id="pfn-train-pause" onClick=${pauseTraining}>Pause</button>`
        : html`<button id="pfn-train-start" class="primary" onClick=${status === 'paused' ? resumeTraining : startTraining}>${status === 'paused' ? 'Continue' : status === 'idle' ? 'Train' : 'Train again'}</button>`}
    </div>
    <dl class="stats">
      <div><dt>Step</dt><dd id="pfn-train-step" data-value=${training.step.value}>${training.step.value.toLocaleString('en')} / ${spec.training.steps.toLocaleString('en')}</dd></div>
      <div><dt>Held-out NLL, PFN</dt><dd id="pfn-train-nll" data-value=${last?.pfnNll ?? ''}>${last ? last.pfnNll.toFixed(3) : '–'}</dd></div>
      <div><dt>Held-out NLL, exact GP</dt><dd id="pfn-train-exact" data-value=${last?.exactNll ?? ''}>${last ? last.exactNll.toFixed(3) : '–'}</dd></div>
    </dl>
    <${Chart} />
    ${training.error.value && html`<div role="status" class="error" id="pfn-train-message">${training.error.value.message}</div>`}
  </section>`;
}
