// The shared data generators and timing protocol of ../shared/bench/workloads.json,
// used for every contender on the page, so all of them run under one clock.

export function mulberry32(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => {
    const u1 = next(), u2 = next();
    return Math.sqrt(-2 * Math.log(Math.max(u1, 1e-12))) * Math.cos(2 * Math.PI * u2);
  };
  return { uniform: next, normal };
}

function spiral(batch, rng) {
  const x = new Float32Array(batch * 2), y = new Int32Array(batch);
  for (let i = 0; i < batch; i++) {
    const c = rng.uniform() < 0.5 ? 0 : 1;
    const r = rng.uniform();
    const t = 1.75 * 2 * Math.PI * r + c * Math.PI;
    const n1 = rng.normal() * 0.05, n2 = rng.normal() * 0.05;
    x[2 * i] = r * Math.sin(t) + n1;
    x[2 * i + 1] = r * Math.cos(t) + n2;
    y[i] = c;
  }
  return { x, y };
}

function gaussianProjection(batch, features, classes, rng, seed) {
  const x = new Float32Array(batch * features);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal();
  const prng = mulberry32((seed + 1000003) >>> 0);
  const p = new Float64Array(features * classes).map(() => prng.normal());
  const y = new Int32Array(batch);
  for (let b = 0; b < batch; b++) {
    let best = -Infinity;
    for (let k = 0; k < classes; k++) {
      let s = 0;
      for (let j = 0; j < features; j++) s += x[b * features + j] * p[j * classes + k];
      if (s > best) { best = s; y[b] = k; }
    }
  }
  return { x, y };
}

export const WORKLOADS = {
  'mlp-spiral': { group: 'W1', batch: 32, input: [2], classes: 2, seed: 1 },
  'cnn-28': { group: 'W2', batch: 64, input: [28, 28, 1], classes: 10, seed: 2 },
  'lstm-seq': { group: 'W3', batch: 32, input: [32, 8], classes: 4, seed: 3 },
  'transformer-block': { group: 'W4', batch: 16, input: [32, 64], classes: 4, seed: 4 },
  'matmul-256': { group: 'W5', n: 256, seed: 5 },
  'matmul-512': { group: 'W5', n: 512, seed: 6 },
  'matmul-1024': { group: 'W5', n: 1024, seed: 7 },
};

// The four batches of a training workload, or A and B of a matmul, plus the
// sum of every value (nnlab's runner reports the same sum for its own data).
export function workloadData(id) {
  const w = WORKLOADS[id];
  const rng = mulberry32(w.seed);
  if (w.n) {
    const draw = () => Float32Array.from({ length: w.n * w.n }, () => 2 * rng.uniform() - 1);
    const a = draw(), b = draw();
    let checksum = 0;
    for (const v of a) checksum += v;
    for (const v of b) checksum += v;
    return { a, b, checksum };
  }
  const features = w.input.reduce((p, d) => p * d, 1);
  const batches = [];
  let checksum = 0;
  for (let i = 0; i < 4; i++) {
    const b = w.group === 'W1' ? spiral(w.batch, rng) : gaussianProjection(w.batch, features, w.classes, rng, w.seed);
    for (const v of b.x) checksum += v;
    for (const v of b.y) checksum += v;
    batches.push(b);
  }
  return { batches, checksum };
}

const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const stats = (v) => ({ min: Math.min(...v), median: median(v), max: Math.max(...v) });

// Runs `c` ({step(), read(): Promise}) under the protocol: synchronous warm-up
// (>= 5 steps and >= 500 ms), N from the median of the last three warm-up
// steps, then 3 repeats of a sync run (read every step) and an async run
// (read only the last step).
export async function measure(c) {
  const P = { warmupSteps: 5, warmupMs: 500, repeats: 3, targetMs: 1500, minSteps: 5, maxSteps: 2000 };
  const syncStep = async () => { await c.step(); await c.read(); };
  let t0 = performance.now();
  await syncStep();
  const firstStepMs = performance.now() - t0;
  const times = [];
  const start = performance.now();
  while (times.length < P.warmupSteps || performance.now() - start < P.warmupMs) {
    t0 = performance.now();
    await syncStep();
    times.push(performance.now() - t0);
  }
  const t = Math.max(median(times.slice(-3)), 1e-3);
  const n = Math.min(Math.max(Math.ceil(P.targetMs / t), P.minSteps), P.maxSteps);
  const sync = [], asyncMs = [];
  for (let r = 0; r < P.repeats; r++) {
    t0 = performance.now();
    for (let i = 0; i < n; i++) await syncStep();
    sync.push((performance.now() - t0) / n);
    t0 = performance.now();
    for (let i = 0; i < n; i++) await c.step();
    await c.read();
    asyncMs.push((performance.now() - t0) / n);
  }
  return { steps: n, firstStepMs, sync: stats(sync), async: stats(asyncMs) };
}
