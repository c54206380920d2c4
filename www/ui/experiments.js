// Experiment cards: the gallery, and one card's runs trained side by side
// (their curves overlaid), then its table and the checks of the claim.
import { useEffect, useRef } from 'preact/hooks';
import { html } from './html.js';
import { experiments, play, pause } from '../app/experiment-store.js';
import { packSetup } from '../app/link.js';
import { seriesChart, PALETTE } from '../viz/series.js';

const METRIC = {
  testAccuracy: 'Test accuracy', testLoss: 'Test loss', trainAccuracy: 'Training accuracy', trainLoss: 'Training loss',
  activationSparsity: 'Activation sparsity', activationVariance: 'Activation variance',
};
// Metrics that are shares, shown as percentages.
const SHARE = new Set(['testAccuracy', 'trainAccuracy', 'activationSparsity']);
const isShare = (card) => SHARE.has(card.metric);
// Every run of the card is measured as initialised, untrained.
const allAtInit = (card) => card.variants.every((v) => v.atInit);
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
  const [lo, hi] = n === 1 ? [0, SHARE.has(summary.metric) ? 1 : top] : [Math.min(...finite), top];
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
  const percent = isShare(card);
  useEffect(() => {
    const title = allAtInit(card) ? `${METRIC[card.metric]} at initialisation` : `${METRIC[card.metric]} while training (on a sample of each split)`;
    chart.current = seriesChart(box.current, { title, percent });
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

// A metric's value as the tables show it.
function show(card, v) {
  if (v == null) return '–';
  if (isShare(card)) return `${(v * 100).toFixed(1)}%`;
  return Math.abs(v) < 1e-3 && v !== 0 ? v.toExponential(2) : v.toFixed(4);
}

// The final metric layer by layer (activation sparsity per layer, the
// signal's variance through depth), one line per variant and sweep value.
function LayerChart({ card, runs, progress }) {
  const box = useRef(null);
  useEffect(() => {
    const groups = new Map();
    runs.forEach((r, i) => {
      const key = groupLabel(card, r);
      if (!groups.has(key)) groups.set(key, []);
      if (progress[i].layers?.length) groups.get(key).push(progress[i].layers);
    });
    const depth = Math.max(0, ...[...groups.values()].flat().map((l) => l.length));
    const at = [...Array(depth).keys()];
    const columns = [...groups.values()].map((all) => at.map((k) => {
      const values = all.map((l) => l[k]?.value).filter(Number.isFinite);
      return values.length ? values.reduce((a, b) => a + b, 0) / values.length : null;
    }));
    const log = card.metric === 'activationVariance';
    const chart = seriesChart(box.current, { title: `${METRIC[card.metric]} by layer`, percent: isShare(card), log, xLabel: 'activation layer', xValues: (t) => (Number.isInteger(t) ? String(t + 1) : '') });
    chart.set([...groups.keys()], at, log ? columns.map((c) => c.map((v) => (v > 0 ? v : null))) : columns);
    return () => chart.destroy();
  }, [progress]);
  return html`<div class="experiment-chart" ref=${box} id="experiment-layers" aria-label="The metric layer by layer"></div>`;
}

// `timed`: the card compares ways of evaluating, so the table shows how long
// each run's final evaluation took.
function Runs({ card, runs, progress, timed }) {
  const fmt = (v) => show(card, v);
  return html`<table class="experiment-runs" id="experiment-runs">
    <thead><tr><th>Run</th><th>Step</th><th>${METRIC[card.metric]}</th><th>Time</th>${timed && html`<th>Final evaluation</th>`}<th></th></tr></thead>
    <tbody>${runs.map((r, i) => {
      const p = progress[i];
      const last = p.curve.at(-1)?.[1];
      return html`<tr data-run=${i} data-metric=${p.metric ?? ''} data-diverged=${p.diverged}>
        <td>${r.label}</td><td>${p.step} / ${p.total}</td>
        <td>${p.diverged ? 'diverged' : p.metric != null ? html`<strong>${fmt(p.metric)}</strong>` : fmt(last)}</td>
        <td>${p.seconds.toFixed(1)} s</td>
        ${timed && html`<td class="eval-time">${p.evalMs == null ? '–' : `${p.evalMs.toFixed(1)} ms`}</td>`}
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
    const log = card.metric === 'activationVariance';
    const title = `${METRIC[card.metric]} ${allAtInit(card) ? 'at initialisation' : 'at the end'} against ${s.sweepLabel}`;
    const chart = seriesChart(box.current, { title, percent: isShare(card), log, xLabel: s.sweepLabel, xValues: (t) => s.sweepValues[t] ?? '' });
    const at = s.sweepValues.map((_, k) => k);
    chart.set(s.variants, at, s.variants.map((_, i) => at.map((k) => s.cells[i * at.length + k].mean)));
    return () => chart.destroy();
  }, [summary]);
  return html`<div class="experiment-chart" ref=${box} id="experiment-sweep"></div>`;
}

function Report({ card, report }) {
  const s = report.summary;
  const fmt = (c) => (c.mean == null ? `${c.diverged} of ${c.runs} diverged` : show(card, c.mean));
  return html`<section class="experiment-report" id="experiment-report">
    <table class="experiment-summary">
      <caption>${METRIC[card.metric]} ${allAtInit(card) ? 'at initialisation' : 'at the end'}, mean over ${card.seeds.length} seed${card.seeds.length > 1 ? 's' : ''}</caption>
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
    ${!allAtInit(card) && html`<${Curves} card=${card} runs=${runs} progress=${progress} />`}
    <${Runs} card=${card} runs=${runs} progress=${progress} timed=${plan.timingRepeats > 1} />
    ${card.metric.startsWith('activation') && progress.some((p) => p.layers?.length) && html`<${LayerChart} card=${card} runs=${runs} progress=${progress} />`}
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
