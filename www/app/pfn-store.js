// The PFN view's state and actions. `pfn` is what the link carries (the GP
// compared with, the context and held-out points); `pfnRun` is what the
// worker answered (the model's limits, the latest curves, timings). Every
// change asks the worker for new curves; while one is being computed only
// the newest change waits, so dragging a point never queues up stale work.
import { signal, batch } from '@preact/signals';
import { pfnFromHash, pfnToHash, DOMAIN } from './pfn-url.js';
import { canonical } from './url.js';

export const pfn = signal(null);         // {view, kernel, ls, os, noise, context: [[x, y]], heldOut: [[x, y]]}
export const pfnRun = {
  status: signal('loading'),              // loading | ready | error
  info: signal(null),                     // the model's {spec, maxContext, domain, ...}
  curve: signal(null),                    // the latest pfnCurve answer (with `ms`)
  message: signal(null),                  // {kind, message}: a refused change or a failed load
  note: signal(''),                       // what a link could not give
};

// The y range the view plots and evaluates the PFN's density over.
export const Y_RANGE = [-3.5, 3.5];
export const QUERIES = 200;
export const GRID = 140;
const SEED_BASE = 20_221_025;

let lab = null;
let loaded = null;         // the model name pfnRun.info describes
let busy = false;
let again = false;

export const modelName = (s) => (s.ls === 'unknown' ? 'pfn-gp-ls' : 'pfn-gp');

export function reference(s) {
  const lengthscale = s.ls === 'unknown' ? { dist: 'uniform', low: 0.1, high: 0.6 } : s.ls;
  return { kernel: s.kernel, lengthscale, outputscale: s.os, noiseStd: s.noise };
}

// Whether the exact GP is the prior the PFN was trained on.
export function matchesPrior(s) {
  const prior = pfnRun.info.value?.spec?.prior;
  if (!prior) return false;
  const r = reference(s);
  return ['kernel', 'lengthscale', 'outputscale', 'noiseStd'].every((k) => canonical(prior[k]) === canonical(r[k]));
}

// The x values the curves are computed at (the view draws them there).
export const queries = Array.from({ length: QUERIES }, (_, i) => DOMAIN[0] + ((DOMAIN[1] - DOMAIN[0]) * i) / (QUERIES - 1));

function request(s) {
  return {
    xContext: s.context.map((p) => p[0]),
    yContext: s.context.map((p) => p[1]),
    xQuery: queries,
    yGrid: { low: Y_RANGE[0], high: Y_RANGE[1], count: GRID },
    heldOut: { x: s.heldOut.map((p) => p[0]), y: s.heldOut.map((p) => p[1]) },
    reference: reference(s),
  };
}

function writeUrl() {
  const hash = pfnToHash(pfn.value);
  if (hash !== location.hash) history.replaceState(null, '', hash);
}

// Computes the curves of the newest state; a change made meanwhile runs next.
async function refresh() {
  if (busy) { again = true; return; }
  busy = true;
  try {
    do {
      again = false;
      const s = pfn.value;
      const name = modelName(s);
      try {
        if (loaded !== name) {
          pfnRun.status.value = 'loading';
          pfnRun.info.value = await lab.pfnOpen(name);
          loaded = name;
        }
        if (!s.context.length) {
          batch(() => { pfnRun.curve.value = null; pfnRun.status.value = 'ready'; });
          continue;
        }
        const curve = await lab.pfnCurve(name, request(s));
        // Shown even when a newer change waits: while dragging, the curves follow.
        batch(() => { pfnRun.curve.value = { ...curve, points: s.context }; pfnRun.message.value = null; pfnRun.status.value = 'ready'; });
      } catch (e) {
        batch(() => {
          pfnRun.message.value = { kind: e.kind ?? 'internal', message: e.message ?? String(e) };
          pfnRun.status.value = loaded === name ? 'ready' : 'error';
        });
      }
    } while (again);
  } finally {
    busy = false;
  }
}

function change(next) {
  pfn.value = next;
  writeUrl();
  return refresh();
}

// Refuses a change with a message, leaving the points as they were.
function refuse(message) {
  pfnRun.message.value = { kind: 'invalid_argument', message };
  return Promise.resolve(false);
}

const inDomain = (x) => Number.isFinite(x) && x >= DOMAIN[0] && x <= DOMAIN[1];

export function addPoint([x, y]) {
  const s = pfn.value;
  const max = pfnRun.info.value?.maxContext ?? 50;
  if (s.context.length >= max) return refuse(`This PFN was trained on at most ${max} context points: remove one before adding another.`);
  if (!inDomain(x)) return refuse(`x = ${x.toFixed(3)} lies outside the plotted domain [${DOMAIN.join(', ')}] the PFN was trained on.`);
  return change({ ...s, context: [...s.context, [x, y]] });
}

export function movePoint(i, [x, y]) {
  const s = pfn.value;
  const cx = Math.min(DOMAIN[1], Math.max(DOMAIN[0], x));
  return change({ ...s, context: s.context.map((p, k) => (k === i ? [cx, y] : p)) });
}

export function removePoint(i) {
  const s = pfn.value;
  return change({ ...s, context: s.context.filter((_, k) => k !== i) });
}

export const clearPoints = () => change({ ...pfn.value, context: [], heldOut: [] });

// Any part of the state: the GP, the view, the table settings.
export function setPfn(patch) {
  return change({ ...pfn.value, ...patch });
}

// A new dataset drawn from the exact GP: `context` points and 50 held-out ones.
export async function drawData(context = 8, seed = SEED_BASE + Math.floor(Math.random() * 1e6)) {
  const s = pfn.value;
  try {
    const d = await lab.pfnDraw(modelName(s), reference(s), { context, heldOut: 50, seed });
    const pairs = (xs, ys) => xs.map((x, i) => [x, ys[i]]);
    return change({ ...pfn.value, context: pairs(d.xContext, d.yContext), heldOut: pairs(d.heldOut.x, d.heldOut.y) });
  } catch (e) {
    pfnRun.message.value = { kind: e.kind ?? 'internal', message: e.message ?? String(e) };
    return false;
  }
}

// Opens the view a link describes (a fresh dataset when it names no points).
export async function loadPfnHash(theLab, hash) {
  lab = theLab;
  const { pfn: next, problems } = pfnFromHash(hash);
  pfnRun.note.value = problems.length ? `This link could not be followed in full: ${problems.join('; ')}.` : '';
  const drawn = next.context === null;
  pfn.value = { ...next, context: next.context ?? [] };
  if (drawn) return drawData(8, SEED_BASE);
  writeUrl();
  return refresh();
}

export const pfnTesting = { request: () => request(pfn.value) };
