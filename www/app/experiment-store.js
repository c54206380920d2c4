// The experiment cards' page (#experiments: the gallery; #experiment=NAME:
// one card): the open card, its runs' progress, and the loop that trains
// the runs side by side in the worker, a chunk of each in turn, then asks
// for the card's table and checks. The URL names the card; nothing else
// needs keeping, since every run is seeded and trains again the same way.
import { signal, batch } from '@preact/signals';

// Each run reports this many points of its curve.
const POINTS = 20;
const NAME = /^[a-z0-9-]{1,60}$/;

export const experiments = {
  list: signal(null),        // [{name, title, claim, citation, setup, outcome}] of the gallery
  measured: signal(null),    // name -> the summary `nnlab experiment run` measured (the gallery's thumbnails)
  name: signal(null),        // the open card's name, or null for the gallery
  plan: signal(null),        // {card, runs} of the open card
  progress: signal([]),      // per run: {step, total, curve: [[step, value]], metric, layers, done, diverged, seconds, evalMs}
  report: signal(null),      // {summary, checks} once every run has finished
  backend: signal('cpu'),    // where the runs train: cpu | webgpu (#experiment=NAME&backend=webgpu)
  status: signal('idle'),    // idle | loading | running | paused | done | error
  error: signal(null),       // {kind, message}
};

export const isExperimentHash = (hash) => /^#experiments?(=|&|$)/.test(hash);

let lab = null;
let generation = 0;          // bumped by every open and stop: a stale loop ends itself

export function useExperimentLab(theLab) {
  lab = theLab;
}

async function fetchText(url) {
  const response = await fetch(url);
  if (!response.ok) throw Object.assign(new Error(`${url} could not be loaded (${response.status})`), { kind: 'internal' });
  return response.text();
}

async function loadList() {
  if (experiments.list.value) return;
  const index = JSON.parse(await fetchText('./models/experiments/index.json'));
  experiments.list.value = await Promise.all(index.cards.map(async (name) => JSON.parse(await fetchText(`./models/experiments/${name}.json`))));
  // Thumbnails only: the gallery works without them.
  fetchText('./models/experiments/measured/cards.json')
    .then((text) => { experiments.measured.value = Object.fromEntries(JSON.parse(text).map((r) => [r.name, r.summary])); })
    .catch(() => {});
}

function fail(e) {
  batch(() => {
    experiments.error.value = { kind: e?.kind ?? 'internal', message: e?.message ?? String(e) };
    experiments.status.value = 'error';
  });
}

// Follows a #experiments or #experiment=NAME link.
export async function loadExperimentHash(hash) {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const name = params.get('experiment');
  const backend = params.get('backend') ?? 'cpu';
  stop();
  batch(() => { experiments.error.value = null; experiments.name.value = null; experiments.plan.value = null; experiments.report.value = null; });
  try {
    await loadList();
    if (name === null) {
      experiments.status.value = 'idle';
      return;
    }
    if (!NAME.test(name) || !experiments.list.value.some((c) => c.name === name)) {
      throw Object.assign(new Error(`There is no experiment card called "${name.slice(0, 60)}"; pick one below.`), { kind: 'invalid_argument' });
    }
    if (!['cpu', 'webgpu'].includes(backend)) {
      throw Object.assign(new Error(`backend "${backend.slice(0, 20)}" is not cpu or webgpu.`), { kind: 'invalid_argument' });
    }
    experiments.backend.value = backend;
    await openCard(name, backend);
  } catch (e) {
    fail(e);
  }
}

async function openCard(name, backend) {
  const mine = ++generation;
  batch(() => { experiments.name.value = name; experiments.status.value = 'loading'; });
  const plan = await lab.experimentOpen(await fetchText(`./models/experiments/${name}.json`), { backend });
  if (mine !== generation) return;
  batch(() => {
    experiments.plan.value = plan;
    const total = (r) => (r.atInit ? 0 : r.spec.training?.steps ?? 1000);
    experiments.progress.value = plan.runs.map((r) => ({ step: 0, total: total(r), curve: [], metric: null, layers: [], done: false, diverged: false, seconds: 0, evalMs: null }));
  });
  play();
}

export function play() {
  if (!experiments.plan.value || experiments.status.value === 'done') return;
  const mine = ++generation;
  experiments.status.value = 'running';
  loop(mine).catch((e) => { if (mine === generation) fail(e); });
}

export function pause() {
  if (experiments.status.value !== 'running') return;
  generation += 1;
  experiments.status.value = 'paused';
}

// Ends the card's training (leaving the page, or opening another card).
export function stop() {
  generation += 1;
  if (experiments.plan.value) lab?.experimentClose().catch(() => {});
}

// The run that has come least far, so all advance together.
function next(progress) {
  let best = -1;
  progress.forEach((p, i) => {
    const share = (q) => q.step / Math.max(q.total, 1);
    if (!p.done && (best < 0 || share(p) < share(progress[best]))) best = i;
  });
  return best;
}

async function loop(mine) {
  const { runs } = experiments.plan.value;
  for (;;) {
    const progress = experiments.progress.value;
    const i = next(progress);
    if (i < 0) break;
    const p = progress[i];
    const r = await lab.experimentTrain(i, Math.ceil(p.total / POINTS));
    if (mine !== generation) return;
    const value = r.value ?? null;
    const updated = {
      ...p, step: r.step, done: r.done, diverged: r.diverged, seconds: p.seconds + r.ms / 1000,
      curve: value == null ? p.curve : [...p.curve, [r.step, value]],
      metric: r.done && !r.diverged ? value : p.metric,
      layers: r.done && !r.diverged ? r.layers : p.layers,
      evalMs: r.evalMs ?? p.evalMs,
    };
    experiments.progress.value = progress.map((q, k) => (k === i ? updated : q));
  }
  const results = experiments.progress.value.map((p, i) => ({
    variant: runs[i].variant, sweepIndex: runs[i].sweepIndex, seed: runs[i].seed,
    metric: p.diverged ? null : p.metric, divergedAt: p.diverged ? p.step : null, seconds: p.seconds, layers: p.layers, evalSeconds: p.evalMs == null ? null : p.evalMs / 1000,
  }));
  const report = await lab.experimentReport(results);
  if (mine !== generation) return;
  batch(() => { experiments.report.value = report; experiments.status.value = 'done'; });
}
