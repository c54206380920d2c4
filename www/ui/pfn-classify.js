// In-context classification: pick or upload a small table; the tabular PFN
// reads the training rows and predicts the test rows without training (an
// average over a few views of the table, each one forward pass),
// beside logistic regression and a small MLP trained here on the same split.
import { useEffect } from 'preact/hooks';
import { html } from './html.js';
import { pfn } from '../app/pfn-store.js';
import { TABLES, TRAIN_RANGE } from '../app/pfn-url.js';
import { table, classify, chooseTable, setTrainShare, uploadTable, setLabel } from '../app/pfn-tasks.js';

const TABLE_NAMES = { iris: 'Iris (150 rows, 4 features, 3 classes)', wine: 'Wine (178 rows, 10 of 13 features, 3 classes)', 'breast-cancer': 'Breast cancer (569 rows, 10 of 30 features, 2 classes)' };
const pct = (v) => (Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : '–');
const ms = (v) => (Number.isFinite(v) ? `${v < 10 ? v.toFixed(1) : Math.round(v)} ms` : '–');

function Results() {
  const r = table.result.value;
  if (!r) return null;
  const rows = [
    ['pfn', 'PFN (8 forward passes, no training)', r.pfn],
    ['logistic', 'Logistic regression (300 Adam steps)', r.logistic],
    ['mlp', 'MLP, 64 ReLU units (300 Adam steps)', r.mlp],
  ];
  const best = Math.max(r.logistic.accuracy, r.mlp.accuracy);
  return html`<table class="pfn-results" id="pfn-results" data-pfn=${r.pfn.accuracy} data-logistic=${r.logistic.accuracy} data-mlp=${r.mlp.accuracy}>
    <caption>${r.table}: ${r.pfn.train} training rows (the PFN's context), ${r.pfn.test} test rows, ${r.pfn.features} features, ${r.pfn.classes} classes</caption>
    <thead><tr><th>Model</th><th>Test accuracy</th><th>Time</th></tr></thead>
    <tbody>${rows.map(([id, name, m]) => html`<tr data-model=${id} class=${id === 'pfn' && m.accuracy >= best ? 'best' : ''}><td>${name}</td><td>${pct(m.accuracy)}</td><td>${ms(m.ms)}</td></tr>`)}</tbody>
  </table>`;
}

export function ClassificationView() {
  const s = pfn.value;
  const upload = table.upload.value;
  useEffect(() => { if (!table.result.value && !table.running.value) classify(); }, []);
  const header = upload ? upload.csv.split(/\r?\n/, 1)[0].split(',').map((h) => h.trim()).filter(Boolean) : [];
  return html`<section class="panel" aria-label="PFN classification">
    <header class="panel-head"><h2>In-context classification</h2>
      <span class="status" id="pfn-table-status">${table.running.value ? 'classifying…' : ''}</span></header>
    <p class="caption">A tabular PFN trained only on random tables from a prior (random MLPs and structural causal models) classifies a real table's test rows,
      given its training rows as context, with no training on it. The baselines are trained on the same rows.</p>
    <div class="pfn-table-controls">
      <label class="field"><span>Table</span>
        <select id="pfn-table" value=${upload ? '' : s.table} onChange=${(e) => chooseTable(e.currentTarget.value)}>
          ${upload && html`<option value="">${upload.name} (uploaded)</option>`}
          ${TABLES.map((t) => html`<option value=${t}>${TABLE_NAMES[t]}</option>`)}
        </select></label>
      <label class="field" title="Up to 1,000 rows, 10 numeric features and 10 classes"><span>Or upload a CSV</span>
        <input id="pfn-upload" type="file" accept=".csv,text/csv" onChange=${(e) => { const f = e.currentTarget.files[0]; if (f) uploadTable(f); e.currentTarget.value = ''; }} /></label>
      ${upload && html`<label class="field"><span>Label column</span>
        <select id="pfn-label" value=${table.label.value} onChange=${(e) => setLabel(e.currentTarget.value)}>
          ${header.map((h) => html`<option value=${h}>${h}</option>`)}
        </select></label>`}
      <label class="field"><span>Training share</span>
        <input id="pfn-train-share" type="number" min=${TRAIN_RANGE[0]} max=${TRAIN_RANGE[1]} step="0.05" value=${s.train}
          onChange=${(e) => {
            const v = Number(e.currentTarget.value);
            if (Number.isFinite(v) && v >= TRAIN_RANGE[0] && v <= TRAIN_RANGE[1]) setTrainShare(v);
            else { table.error.value = { kind: 'invalid_argument', message: `The training share must be in [${TRAIN_RANGE.join(', ')}].` }; e.currentTarget.value = s.train; }
          }} /></label>
    </div>
    <p class="caption">A table of up to 1,000 rows, 10 numeric features and 10 classes, with a header row; the PFN reads the training rows as its context and averages its predictions over 8 views of the table (shuffled columns, renamed classes, half on rank-based normal scores).</p>
    ${table.error.value && html`<div id="pfn-table-message" role="status" class="error">${table.error.value.message}</div>`}
    <${Results} />
  </section>`;
}
