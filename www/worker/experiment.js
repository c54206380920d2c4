// The worker's experiment-card requests. A card's runs are opened as Sessions
// of their own (beside the lab's run, which they leave alone) and trained a
// chunk at a time at the page's request, so the page interleaves them and
// draws their curves side by side; the card's table and checks come from the
// runs' final metrics. Every call goes through the worker's one queue.
import { Session, experimentPlan, experimentReport } from './wasm.js';
import { toFailure } from '../shared/protocol.js';

// While a run trains, its metric comes from a fixed sample of each split; at
// the end of its steps, from the whole sets.
const SAMPLE = 256;

let card = null;         // {text, plan: {card, runs, timingRepeats}, backend}
let sessions = [];       // by run index; opened on first use

function refuse(path, message) {
  return Object.assign(new Error(message), { kind: 'invalid_argument', path });
}

function closeCard() {
  for (const s of sessions) s?.free();
  sessions = [];
  card = null;
}

async function session(index) {
  const run = card?.plan.runs[index];
  if (!run) throw refuse('index', card ? `the card has no run ${index}` : 'open a card first');
  try {
    sessions[index] ??= await Session.open(JSON.stringify(run.spec), card.backend, null);
  } catch (e) {
    if (card.backend !== 'webgpu' || toFailure(e).kind === 'invalid_spec') throw e;
    throw refuse('backend', `WebGPU could not be used here (${toFailure(e).message}); train the card on the CPU instead.`);
  }
  return sessions[index];
}

// Trains run `index` by up to `steps` (never past its spec's steps; a card
// measured at initialisation trains none) and reads the card's metric (with
// its value per layer for the activation metrics). A run whose loss is no
// longer finite has diverged.
async function train(index, steps) {
  const s = await session(index);
  const { metric } = card.plan.card;
  const run = card.plan.runs[index];
  const total = run.atInit ? 0 : run.spec.training?.steps ?? 1000;
  const n = Math.max(0, Math.min(Math.floor(Number(steps) || 0), total - s.step));
  const t0 = performance.now();
  if (n > 0) {
    s.train(n);
    await s.sync();
  }
  const done = s.step >= total;
  const limit = done ? null : SAMPLE;
  // The final reading evaluates the whole splits, folded where the run asks
  // for it, and is timed on its own.
  if (done) s.setInference(run.evaluate ?? 'standard');
  const repeats = done ? card.plan.timingRepeats : 1;
  try {
    let metrics, measured, evalMs = Infinity;
    for (let k = 0; k < repeats; k++) {
      const t1 = performance.now();
      // While training, the metrics (whose loss shows a divergence) on a
      // sample; at the end, the card's metric alone on the whole split.
      metrics = done ? null : await s.metrics(limit);
      measured = metrics && metric in metrics ? { value: metrics[metric], layers: [] } : await s.measure(metric, limit);
      evalMs = Math.min(evalMs, performance.now() - t1);
    }
    return { step: s.step, done, diverged: false, metrics, value: measured.value, layers: measured.layers, ms: performance.now() - t0, evalMs: done ? evalMs : null };
  } catch (e) {
    if (toFailure(e).kind !== 'non_finite') throw e;
    return { step: s.step, done: true, diverged: true, metrics: null, value: null, layers: [], ms: performance.now() - t0, evalMs: null };
  }
}

export const experimentHandlers = {
  experimentOpen: (m, serial) => serial(() => {
    closeCard();
    const text = String(m.text ?? '');
    card = { text, plan: experimentPlan(text), backend: m.backend === 'webgpu' ? 'webgpu' : 'cpu' };
    return card.plan;
  }),
  experimentTrain: (m, serial) => serial(() => train(m.index | 0, m.steps)),
  experimentReport: (m, serial) => serial(() => {
    if (!card) throw refuse('card', 'open a card first');
    return experimentReport(card.text, m.results ?? []);
  }),
  experimentClose: (m, serial) => serial(() => { closeCard(); return null; }),
};
