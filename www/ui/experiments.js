// Experiment cards: the gallery, and one card's runs trained side by side
// (their curves overlaid), then its table and the checks of the claim.
import { useEffect, useRef } from 'preact/hooks';
import { html } from './html.js';
import { experiments, play, pause } from '../app/experiment-store.js';
import { packSetup } from '../app/link.js';
import { seriesChart, PALETTE } from '../viz/series.js';

const METRIC = { testAccuracy: 'Test accuracy', testLoss: 'Test loss', trainAccuracy: 'Training accuracy', trainLoss: 'Training loss' };
const STATUS = { idle: '', loading: 'loading…', running: 'training…', paused: 'paused', done: 'done', error: 'stopped' };

// A card's measured outcome in miniature: a bar per variant, or a line per
// variant across the sweep (the numbers of `nnlab experiment run`).
function Thumbnail({ summary }) {
  if (!summary) return null;
  const [w, h] = [220, 64];
  const n = summary.sweepValues.length;
  const means = summary.cells.map((c) => c.mean);
  const finite = means.filter(Number.isFinite);
  const top = Math.max(...finite, 1e-9);
  // Bars stand on zero; lines use the range of their values, so small effects show.
  const [lo, hi] = n === 1 ? [0, summary.metric.endsWith('Accuracy') ? 1 : top] : [Math.min(...finite), top];
  const y = (v) => (Number.isFinite(v) ? h - 4 - (h - 8) * Math.min(1, (v - lo) / Math.max(hi - lo, 1e-9)) : h - 4);
  const marks = summary.variants.map((v, i) => {
    const color = PALETTE[i % PALETTE.length];
    const row = means.slice(i * n, (i + 1) * n);
    if (n === 1) {
      const bw = (w - 8) / summary.variants.length;
      return html`<rect x=${4 + i * bw + 2} y=${y(row[0])} width=${bw - 4} height=${h - 4 - y(row[0])} fill=${color}><title>${v}: ${row[0]?.toFixed(3) ?? 'diverged'}</title></rect>`;
    }
    const points = row.map((m, k) => `${4 + ((w - 8) * k) / (n - 1)},${y(m)}`).join(' ');
    return html`<polyline points=${points} fill="none" stroke=${color} stroke-width="2"><title>${v}</title></polyline>`;
  });
  return html`<svg class="thumb" viewBox=${`0 0 ${w} ${h}`} width=${w} height=${h} role="img" aria-label="The measured outcome">${marks}</svg>`;
}

function Gallery() {
  const list = experiments.list.value;
  if (!list) return html`<p role="status">Loading the cards…</p>`;
  return html`<ul class="cards" id="experiment-gallery">
    ${list.map((c) => html`<li class="card" data-card=${c.name}>
      <h2><a href=${`#experiment=${c.name}`}>${c.title}</a></h2>
      <${Thumbnail} summary=${experiments.measured.value?.[c.name]} />
      <p class="claim">${c.claim}</p>
      <p class="outcome"><strong>Measured here:</strong> ${c.outcome}</p>
      <p class="citation">${c.citation}</p>
    </li>`)}
  </ul>`;
}

// What a run's values are called: its variant, and the sweep value if any.
function groupLabel(card, run) {
  return run.sweepIndex == null ? run.variant : `${run.variant}, ${card.sweep.label} = ${card.sweep.values[run.sweepIndex]}`;
}

// One curve per variant and sweep value: the mean over the seeds.
function Curves({ card, runs, progress }) {
  const box = useRef(null);
  const chart = useRef(null);
  const percent = card.metric.endsWith('Accuracy');
  useEffect(() => {
    chart.current = seriesChart(box.current, { title: `${METRIC[card.metric]} while training (on a sample of each split)`, percent });
    return () => chart.current.destroy();
  }, [card.name]);
  useEffect(() => {
    const groups = new Map();
    runs.forEach((r, i) => {
      const key = groupLabel(card, r);
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(progress[i].curve);
    });
    const longest = [...groups.values()].flat().reduce((a, c) => (c.length > a.length ? c : a), []);
    const steps = longest.map(([step]) => step);
    const columns = [...groups.values()].map((curves) => steps.map((_, k) => {
      const values = curves.map((c) => c[k]?.[1]).filter((v) => Number.isFinite(v));
      return values.length === curves.length ? values.reduce((a, b) => a + b, 0) / values.length : null;
    }));
    chart.current.set([...groups.keys()], steps, columns);
  }, [progress]);
  return html`<div class="experiment-chart" ref=${box} aria-label="Curves of the runs"></div>`;
}

async function openInBuilder(spec) {
  location.hash = `s=${await packSetup(spec)}`;
}

function Runs({ card, runs, progress }) {
  const fmt = (v) => (v == null ? '–' : card.metric.endsWith('Accuracy') ? `${(v * 100).toFixed(1)}%` : v.toFixed(4));
  return html`<table class="experiment-runs" id="experiment-runs">
    <thead><tr><th>Run</th><th>Step</th><th>${METRIC[card.metric]}</th><th>Time</th><th></th></tr></thead>
    <tbody>${runs.map((r, i) => {
      const p = progress[i];
      const last = p.curve.at(-1)?.[1];
      return html`<tr data-run=${i} data-metric=${p.metric ?? ''} data-diverged=${p.diverged}>
        <td>${r.label}</td><td>${p.step} / ${p.total}</td>
        <td>${p.diverged ? 'diverged' : p.metric != null ? html`<strong>${fmt(p.metric)}</strong>` : fmt(last)}</td>
        <td>${p.seconds.toFixed(1)} s</td>
        <td><button class="link" onClick=${() => openInBuilder(r.spec)} title="Open this run's spec in the lab">Open in the lab</button></td>
      </tr>`;
    })}</tbody>
  </table>`;
}

// The final metric against the sweep's values, one line per variant.
function SweepChart({ card, summary }) {
  const box = useRef(null);
  useEffect(() => {
    const s = summary;
    const chart = seriesChart(box.current, { title: `${METRIC[card.metric]} at the end against ${s.sweepLabel}`, percent: card.metric.endsWith('Accuracy'), xLabel: s.sweepLabel, xValues: (t) => s.sweepValues[t] ?? '' });
    const at = s.sweepValues.map((_, k) => k);
    chart.set(s.variants, at, s.variants.map((_, i) => at.map((k) => s.cells[i * at.length + k].mean)));
    return () => chart.destroy();
  }, [summary]);
  return html`<div class="experiment-chart" ref=${box} id="experiment-sweep"></div>`;
}

function Report({ card, report }) {
  const s = report.summary;
  const fmt = (c) => (c.mean == null ? `${c.diverged} of ${c.runs} diverged` : card.metric.endsWith('Accuracy') ? `${(c.mean * 100).toFixed(1)}%` : c.mean.toFixed(4));
  return html`<section class="experiment-report" id="experiment-report">
    <table class="experiment-summary">
      <caption>${METRIC[card.metric]} at the end, mean over ${card.seeds.length} seed${card.seeds.length > 1 ? 's' : ''}</caption>
      <thead><tr><th>${s.sweepLabel ?? ''}</th>${s.sweepValues.map((v) => html`<th>${v}</th>`)}</tr></thead>
      <tbody>${s.variants.map((v, i) => html`<tr><th>${v}</th>${s.sweepValues.map((_, k) => html`<td>${fmt(s.cells[i * s.sweepValues.length + k])}</td>`)}</tr>`)}</tbody>
    </table>
    ${s.sweepLabel && html`<${SweepChart} card=${card} summary=${s} />`}
    <ul class="checks">${report.checks.map((c) => html`<li class=${c.passed ? 'pass' : 'fail'} data-passed=${c.passed}>
      <strong>${c.passed ? 'Holds' : 'Does not hold'}:</strong> ${c.text} <span class="measured">(${c.measured})</span></li>`)}</ul>
    <p><strong>What the miniature measured natively:</strong> ${card.outcome}</p>
  </section>`;
}

function CardView() {
  const plan = experiments.plan.value;
  const status = experiments.status.value;
  if (!plan) return null;
  const { card, runs } = plan;
  const progress = experiments.progress.value;
  return html`<section class="panel experiment" aria-label=${card.title} data-card=${card.name}>
    <header class="panel-head"><h2>${card.title}</h2>
      <span class="status" id="experiment-status" data-status=${status}>${STATUS[status]}</span></header>
    <p class="claim"><strong>The claim:</strong> ${card.claim} <span class="citation">(${card.citation})</span></p>
    <p><strong>The miniature:</strong> ${card.setup}</p>
    <div class="buttons">
      ${status === 'running' && html`<button id="experiment-pause" onClick=${pause}>Pause</button>`}
      ${status === 'paused' && html`<button id="experiment-play" class="primary" onClick=${play}>Continue</button>`}
      <label>Train on <select id="experiment-backend" value=${experiments.backend.value}
        onChange=${(e) => { location.hash = `experiment=${card.name}${e.currentTarget.value === 'cpu' ? '' : `&backend=${e.currentTarget.value}`}`; }}>
        <option value="cpu">the CPU (WebAssembly)</option><option value="webgpu">the GPU (WebGPU)</option></select></label>
      <a href="#experiments">All cards</a>
    </div>
    <${Curves} card=${card} runs=${runs} progress=${progress} />
    <${Runs} card=${card} runs=${runs} progress=${progress} />
    ${experiments.report.value && html`<${Report} card=${card} report=${experiments.report.value} />`}
  </section>`;
}

export function ExperimentsApp() {
  const error = experiments.error.value;
  return html`<main class="single experiments">
    <div class="run">
      ${error && html`<div role="status" class="error" id="experiment-message">${error.message}</div>`}
      ${experiments.name.value ? html`<${CardView} />` : html`<section class="panel"><header class="panel-head"><h2>Experiment cards</h2></header>
        <p>Claims from the papers nnlab is built on, each turned into a few small runs that train side by side in this page, on the same data with the same seeds, and checked against what the claim predicts.</p>
        <${Gallery} /></section>`}
    </div>
  </main>`;
}
