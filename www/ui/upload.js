// Uploading a table: a CSV file (at most 1 MiB) is read, previewed (columns,
// first rows, row count) by the worker, and becomes the dataset once a label
// column and a task are chosen. Problems (size, missing values, text where a
// number belongs, too many rows or columns) are shown here, nothing changes.
import { useState } from 'preact/hooks';
import { html } from './html.js';
import { previewCsv, useTable } from '../app/store.js';
import { editError } from './edit.js';

const MAX_BYTES = 1 << 20;

export function CsvUpload() {
  const [file, setFile] = useState(null);       // {name, text, preview}
  const [label, setLabel] = useState('');
  const [task, setTask] = useState('classification');
  const [standardize, setStandardize] = useState(true);
  const [problem, setProblem] = useState(null);

  const choose = async (e) => {
    const f = e.currentTarget.files?.[0];
    setProblem(null);
    setFile(null);
    if (!f) return;
    if (f.size > MAX_BYTES) {
      setProblem(`${f.name} has ${f.size.toLocaleString('en')} bytes; the limit is ${MAX_BYTES.toLocaleString('en')} (1 MiB).`);
      return;
    }
    try {
      const text = await f.text();
      const preview = await previewCsv(text);
      const last = preview.columns[preview.columns.length - 1];
      const index = preview.columns.length - 1;
      setLabel(last);
      setTask(!preview.numeric[index] || preview.distinct[index] <= 10 ? 'classification' : 'regression');
      setFile({ name: f.name, text, preview });
    } catch (err) {
      setProblem(`${f.name}: ${err.message}`);
    }
  };

  const use = async () => {
    const error = await useTable({ csv: file.text, label, task, standardize, preview: file.preview });
    setProblem(error ? `${error.path ? `${error.path}: ` : ''}${error.message}` : null);
    if (!error) editError.value = null;
  };

  const p = file?.preview;
  return html`<details class="upload">
    <summary>Upload a table (CSV)</summary>
    <label class="field"><span>CSV file: a header row, then one example per row (at most 1 MiB, 20,000 rows, 100 columns)</span>
      <input type="file" id="csv-file" accept=".csv,text/csv,text/plain" onChange=${choose} /></label>
    ${problem && html`<p class="problem" role="alert" id="csv-problem">${problem}</p>`}
    ${p && html`<div class="csv-preview">
      <p class="caption">${file.name}: ${p.count.toLocaleString('en')} rows, ${p.columns.length} columns.</p>
      <div class="table-scroll"><table>
        <thead><tr>${p.columns.map((c) => html`<th>${c}</th>`)}</tr></thead>
        <tbody>${p.rows.map((r) => html`<tr>${r.map((v) => html`<td>${v}</td>`)}</tr>`)}</tbody>
      </table></div>
      <div class="object-fields">
        <label class="field"><span>Label column</span>
          <select id="csv-label" value=${label} onChange=${(e) => setLabel(e.currentTarget.value)}>
            ${p.columns.map((c) => html`<option value=${c}>${c}</option>`)}</select></label>
        <label class="field"><span>Task</span>
          <select id="csv-task" value=${task} onChange=${(e) => setTask(e.currentTarget.value)}>
            <option value="classification">classification</option><option value="regression">regression</option></select></label>
        <label class="field check"><input type="checkbox" checked=${standardize} onChange=${(e) => setStandardize(e.currentTarget.checked)} /><span>Standardise features</span></label>
      </div>
      <button id="csv-use" onClick=${use}>Train on this table</button>
    </div>`}
  </details>`;
}
