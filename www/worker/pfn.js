// The worker's PFN requests: shipped models loaded once by name (fetched
// from models/NAME.safetensors) and kept, their predictions and the
// regression view's curves, points drawn from a GP, and a PFN trained here.
// PFN models live beside the training run and are independent of it; their
// calls still go through the worker's one queue, in arrival order.
import { PfnModel, PfnTraining, tableBaseline } from './wasm.js';

const NAME = /^pfn-[a-z0-9-]{1,40}$/;
const models = new Map();   // name -> Promise<PfnModel>
let training = null;        // the PfnTraining of "train your own", or null

function refuse(path, message) {
  return Object.assign(new Error(message), { kind: 'invalid_argument', path });
}

async function fetchModel(name) {
  const url = new URL(`../models/${name}.safetensors`, import.meta.url);
  const response = await fetch(url);
  if (!response.ok) throw refuse('name', `the model "${name}" could not be loaded (${response.status} ${response.statusText})`);
  return PfnModel.fromBytes(new Uint8Array(await response.arrayBuffer()));
}

// The model called `name`, loaded on first use.
export function model(name) {
  if (typeof name !== 'string' || !NAME.test(name)) return Promise.reject(refuse('name', `"${String(name).slice(0, 60)}" is not a PFN model name (pfn-...)`));
  if (!models.has(name)) {
    const loading = fetchModel(name);
    models.set(name, loading);
    loading.catch(() => models.delete(name));
  }
  return models.get(name);
}

function trainer() {
  if (!training) throw refuse('training', 'no PFN is being trained: start one first');
  return training;
}

// Each handler takes the request message and the worker's serial queue.
export const pfnHandlers = {
  pfnOpen: (m, serial) => serial(async () => (await model(m.name)).info()),
  pfnPredict: (m, serial) => serial(async () => (await model(m.name)).predict(m.request ?? {})),
  pfnCurve: (m, serial) => serial(async () => {
    const t0 = performance.now();
    const curve = await (await model(m.name)).curve(m.request ?? {});
    return { ...curve, ms: performance.now() - t0 };
  }),
  pfnDraw: (m, serial) => serial(async () => (await model(m.name)).draw(m.reference ?? {}, m.context | 0, m.heldOut | 0, Number(m.seed) || 0)),
  // The tabular PFN and the two baselines on the same split of a CSV table, each timed.
  pfnClassify: (m, serial) => serial(async () => {
    const pfn = await model(m.name);
    const args = [String(m.csv ?? ''), String(m.label ?? ''), Number(m.trainRatio) || 0.5, Number(m.seed) || 0];
    const timed = async (run) => {
      const t0 = performance.now();
      const result = await run();
      return { ...result, ms: performance.now() - t0 };
    };
    return {
      pfn: await timed(() => pfn.classify(...args)),
      logistic: await timed(() => tableBaseline(...args, 'logistic')),
      mlp: await timed(() => tableBaseline(...args, 'mlp')),
    };
  }),
  pfnTrainStart: (m, serial) => serial(() => {
    training?.free();
    training = null;
    training = PfnTraining.create(m.spec ?? {});
    return training.info();
  }),
  pfnTrain: (m, serial) => serial(() => trainer().train(Math.max(1, Math.min(1000, m.steps | 0)))),
  pfnEvaluate: (m, serial) => serial(() => trainer().evaluate(m.datasets | 0 || 50, m.queries | 0 || 20)),
};
