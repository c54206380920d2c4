// The "auto" backend: time a few steps of the model on each backend, on
// throwaway sessions (the user's model is not touched), and pick the faster.
// Small models often train faster on the CPU (WebAssembly) than through
// WebGPU, above all where the GPU is emulated on the CPU. Results are kept
// per model, so reopening the same model does not time it again.
import { toFailure } from '../shared/protocol.js';

const cache = new Map();
const fmt = (ms) => (ms < 1 ? ms.toFixed(2) : ms.toFixed(1));

async function msPerStep(Session, spec, backend, budgetMs) {
  const s = await Session.open(spec, backend, null);
  try {
    // The first steps compile pipelines and record the GPU's step plan.
    s.train(2);
    if (backend === 'webgpu') await s.sync();
    let steps = 0;
    const start = performance.now();
    while (steps < 8 && performance.now() - start < budgetMs) {
      s.train(1);
      if (backend === 'webgpu') await s.sync();
      steps += 1;
    }
    return (performance.now() - start) / steps;
  } finally {
    s.free();
  }
}

// -> {backend, note}
export async function chooseBackend(Session, spec, wanted, adapter) {
  if (wanted === 'cpu') return { backend: 'cpu', note: null };
  if (!adapter) {
    return { backend: 'cpu', note: 'WebGPU is not available in this browser; training on the CPU (WebAssembly) instead.' };
  }
  if (wanted === 'webgpu') return { backend: 'webgpu', note: null };
  const model = { ...spec, training: { ...spec.training, steps: 1 } };
  delete model.name;
  delete model.description;
  const key = JSON.stringify(model);
  if (!cache.has(key)) {
    try {
      const cpu = await msPerStep(Session, spec, 'cpu', 300);
      // Stop timing the GPU once it is clearly slower: it cannot win then.
      const gpu = await msPerStep(Session, spec, 'webgpu', Math.max(50, cpu * 4));
      const backend = gpu < cpu ? 'webgpu' : 'cpu';
      cache.set(key, { backend, note: `Auto picked ${backend === 'cpu' ? 'the CPU' : 'WebGPU'}: ${fmt(Math.min(cpu, gpu))} ms per step against ${fmt(Math.max(cpu, gpu))} ms on ${backend === 'cpu' ? 'WebGPU' : 'the CPU'} for this model.` });
    } catch (e) {
      // A spec error surfaces when the real session opens; a GPU error means the CPU.
      if (toFailure(e).kind === 'invalid_spec') return { backend: 'cpu', note: null };
      cache.set(key, { backend: 'cpu', note: `WebGPU could not be used (${toFailure(e).message}); training on the CPU.` });
    }
  }
  return cache.get(key);
}
