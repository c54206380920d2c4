// How fast the PFN view is on the CPU (WebAssembly): from a fresh load of
// #pfn=gp to the wasm module being ready and to the first curves drawn, and
// the time of one prediction for 50 context and 200 query points (the
// plotted curve: what dragging a point recomputes), alone and with what the
// view adds (the density grid, the exact GP or the Bayes-optimal mixture).
//   PFN_URL=http://127.0.0.1:PORT/ node bench/pfn.mjs   (cargo xtask bench --pfn serves the site)
// Env: PFN_URL (required), PFN_LOADS (fresh loads, default 5), PFN_REPEATS
//      (predictions per case, default 30), PFN_JSON (output path), CHROMIUM.
import { chromium } from 'playwright-core';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const url = process.env.PFN_URL;
if (!url) {
  console.error('Set PFN_URL to the address serving www-dist');
  process.exit(2);
}
const LOADS = Number(process.env.PFN_LOADS || 5);
const REPEATS = Number(process.env.PFN_REPEATS || 30);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking'] });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// A fresh profile each time: nothing cached.
async function load() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  // Every response, the worker's (wasm, model) included: bytes over the wire.
  const sizes = [];
  page.on('requestfinished', (r) => sizes.push(r.sizes().then((s) => ({ url: r.url(), bytes: s.responseBodySize + s.responseHeadersSize }))));
  await page.goto(`${url}#pfn=gp`);
  const times = await page.evaluate(async () => {
    while (!window.nnlab?.lab) await new Promise((r) => setTimeout(r, 5));
    const ready = window.nnlab.lab.ready();
    while (!window.nnlab.pfnRun.curve.value) await new Promise((r) => requestAnimationFrame(r));
    const drawn = performance.now();
    return { wasm: (await ready).at - performance.timeOrigin, drawn };
  });
  const responses = await Promise.all(sizes);
  await context.close();
  return { wasmReadyMs: times.wasm, firstCurvesMs: times.drawn, afterWasmMs: times.drawn - times.wasm, requests: responses.length, transferBytes: responses.reduce((a, r) => a + r.bytes, 0),
    modelBytes: responses.filter((r) => r.url.endsWith('.safetensors')).reduce((a, r) => a + r.bytes, 0) };
}

const loads = [];
for (let i = 0; i < LOADS; i++) loads.push(await load());

const page = await browser.newPage();
await page.goto(`${url}#pfn=gp`);
await page.waitForFunction(() => window.nnlab?.pfnRun?.curve?.value, null, { timeout: 60_000 });
const predictions = await page.evaluate(async (repeats) => {
  const lab = window.nnlab.lab;
  const x = Array.from({ length: 50 }, (_, i) => (i + 0.5) / 50);
  const base = { xContext: x, yContext: x.map((v) => Math.sin(6 * v)), xQuery: Array.from({ length: 200 }, (_, i) => i / 199) };
  const grid = { low: -3.5, high: 3.5, count: 140 };
  const fixed = { kernel: 'rbf', lengthscale: 0.3, outputscale: 1, noiseStd: 0.1 };
  const unknown = { ...fixed, lengthscale: { dist: 'uniform', low: 0.1, high: 0.6 } };
  const time = async (model, request) => {
    const ms = [];
    for (let i = 0; i < repeats; i++) ms.push((await lab.pfnCurve(model, request)).ms);
    return ms;
  };
  return {
    'pfn-gp, PFN alone': await time('pfn-gp', base),
    'pfn-gp, PFN + density grid': await time('pfn-gp', { ...base, yGrid: grid }),
    'pfn-gp, the whole view (+ exact GP)': await time('pfn-gp', { ...base, yGrid: grid, reference: fixed }),
    'pfn-gp-ls, the whole view (+ Bayes-optimal mixture, 64 lengthscales)': await time('pfn-gp-ls', { ...base, yGrid: grid, reference: unknown }),
  };
}, REPEATS);
await browser.close();

const result = {
  date: new Date().toISOString(),
  loads,
  median: { wasmReadyMs: median(loads.map((l) => l.wasmReadyMs)), firstCurvesMs: median(loads.map((l) => l.firstCurvesMs)), afterWasmMs: median(loads.map((l) => l.afterWasmMs)) },
  predictionMs: Object.fromEntries(Object.entries(predictions).map(([k, v]) => [k, { median: median(v), min: Math.min(...v) }])),
};
console.log(`transfer of a fresh load: ${(loads[0].transferBytes / 1024).toFixed(0)} KiB in ${loads[0].requests} requests (the model ${(loads[0].modelBytes / 1024).toFixed(0)} KiB)`);
console.log(`fresh load of #pfn=gp (median of ${LOADS}): wasm ready ${result.median.wasmReadyMs.toFixed(0)} ms, curves drawn ${result.median.firstCurvesMs.toFixed(0)} ms (${result.median.afterWasmMs.toFixed(0)} ms after the wasm)`);
for (const [k, v] of Object.entries(result.predictionMs)) console.log(`${k}: median ${v.median.toFixed(1)} ms, best ${v.min.toFixed(1)} ms (50 context, 200 query points)`);
if (process.env.PFN_JSON) {
  mkdirSync(dirname(process.env.PFN_JSON), { recursive: true });
  writeFileSync(process.env.PFN_JSON, JSON.stringify(result, null, 2));
}
