// The PFN page's two other tasks. Classification: a table (shipped, or
// uploaded and kept in this tab only) read by the tabular PFN without training,
// beside logistic regression and a small MLP trained on the same split.
// Training: a small PFN trained here on the GP the regression view compares
// with, its held-out NLL charted against the exact GP's.
import { signal, batch } from '@preact/signals';
import { pfn, reference, setPfn } from './pfn-store.js';

const MAX_UPLOAD = 1 << 20;

export const table = {
  upload: signal(null),        // {name, csv} of an uploaded table, or null
  label: signal(null),         // the label column of an upload (a shipped table's is "class")
  result: signal(null),        // {pfn, logistic, mlp, table, train}
  running: signal(false),
  error: signal(null),         // {kind, message}
};

let lab = null;
const shipped = new Map();     // name -> CSV text

export function useLab(theLab) {
  lab = theLab;
}

async function csvOf(name) {
  if (!shipped.has(name)) {
    const response = await fetch(`./models/tables/${name}.csv`);
    if (!response.ok) throw Object.assign(new Error(`the table "${name}" could not be loaded (${response.status})`), { kind: 'internal' });
    shipped.set(name, await response.text());
  }
  return shipped.get(name);
}

// Classifies the current table; a newer run replaces an older one's result.
let runs = 0;
export async function classify() {
  const mine = ++runs;
  const s = pfn.value;
  const upload = table.upload.value;
  batch(() => { table.running.value = true; table.error.value = null; });
  try {
    const csv = upload ? upload.csv : await csvOf(s.table);
    const label = upload ? table.label.value : 'class';
    const result = await lab.pfnClassify('pfn-tabular', { csv, label, trainRatio: s.train, seed: 0 });
    if (mine === runs) table.result.value = { ...result, table: upload ? upload.name : s.table, train: s.train };
  } catch (e) {
    if (mine === runs) batch(() => { table.error.value = { kind: e.kind ?? 'internal', message: e.message ?? String(e) }; table.result.value = null; });
  } finally {
    if (mine === runs) table.running.value = false;
  }
}

export function chooseTable(name) {
  batch(() => { table.upload.value = null; table.label.value = null; });
  setPfn({ table: name });
  return classify();
}

export function setTrainShare(share) {
  setPfn({ train: share });
  return classify();
}

// An uploaded CSV: the label is its last column unless one is named "class".
export async function uploadTable(file) {
  if (file.size > MAX_UPLOAD) {
    table.error.value = { kind: 'invalid_spec', message: `${file.name} has ${file.size.toLocaleString('en')} bytes; the limit is 1 MiB (and 1,000 rows).` };
    return;
  }
  // Busy from the moment a file is picked: reading it takes a moment too.
  batch(() => { table.running.value = true; table.error.value = null; });
  const csv = await file.text();
  const header = csv.split(/\r?\n/, 1)[0].split(',').map((h) => h.trim());
  batch(() => {
    table.upload.value = { name: file.name, csv };
    table.label.value = header.includes('class') ? 'class' : header[header.length - 1];
  });
  await classify();
}

export function setLabel(label) {
  table.label.value = label;
  return classify();
}

// Training a PFN here.
export const training = {
  status: signal('idle'),      // idle | training | paused | done | error
  step: signal(0),
  steps: signal(0),
  history: signal([]),         // [{step, trainNll, pfnNll, exactNll}]
  error: signal(null),
};

const CHUNK = 20;
const EVAL_EVERY = 200;
const HELD_OUT = { datasets: 40, queries: 10 };

// A small PFN for the GP the regression view compares with: 2 layers of
// width 32, 100 buckets, contexts of 1 to 20 points, 3,000 steps.
export function trainingSpec(s) {
  const r = reference(s);
  return {
    name: 'pfn-in-the-page',
    prior: { kind: 'gp', kernel: r.kernel, lengthscale: r.lengthscale, outputscale: r.outputscale, noiseStd: r.noiseStd, x: [0, 1] },
    context: [1, 20], queries: 20,
    model: { dModel: 32, heads: 2, layers: 2, ff: 64, decoderHidden: 64, buckets: 100 },
    training: { steps: 3000, batch: 16, lr: 0.002, warmup: 100, seed: 7, borderSamples: 20000 },
  };
}

let loop = 0;
async function evaluate() {
  const report = await lab.pfnEvaluate(HELD_OUT.datasets, HELD_OUT.queries);
  return { pfnNll: report.all.pfnNll, exactNll: report.all.exactNll };
}

async function trainLoop(mine) {
  let trainNll = null;
  while (mine === loop && training.step.value < training.steps.value) {
    const r = await lab.pfnTrain(CHUNK);
    if (mine !== loop) return;
    trainNll = r.nll;
    training.step.value = r.step;
    if (r.step % EVAL_EVERY === 0 || r.step >= r.steps) {
      const e = await evaluate();
      training.history.value = [...training.history.value, { step: r.step, trainNll, ...e }];
    }
  }
  if (mine === loop) training.status.value = 'done';
}

export async function startTraining() {
  const mine = ++loop;
  batch(() => { training.status.value = 'training'; training.error.value = null; training.history.value = []; training.step.value = 0; });
  try {
    const info = await lab.pfnTrainStart(trainingSpec(pfn.value));
    training.steps.value = info.spec.training.steps;
    training.history.value = [{ step: 0, trainNll: null, ...(await evaluate()) }];
    await trainLoop(mine);
  } catch (e) {
    if (mine === loop) batch(() => { training.status.value = 'error'; training.error.value = { kind: e.kind ?? 'internal', message: e.message ?? String(e) }; });
  }
}

export function pauseTraining() {
  loop += 1;
  if (training.status.value === 'training') training.status.value = 'paused';
}

export function resumeTraining() {
  if (training.status.value !== 'paused') return Promise.resolve();
  const mine = ++loop;
  training.status.value = 'training';
  return trainLoop(mine).catch((e) => batch(() => { training.status.value = 'error'; training.error.value = { kind: e.kind ?? 'internal', message: e.message ?? String(e) }; }));
}
