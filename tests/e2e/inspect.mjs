// The inspection views: each renders for its preset, follows training, and
// shows the numbers the native side computes for the same weights (the
// session file the page saves, run through `nnlab inspect` on the CPU).
// Drawing a 1 with the mouse makes the trained digits CNN say 1.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open, until, ready, record, shot, drawStroke, sleep, nnlab } from './harness.mjs';

const ALL = { confusion: true, predictions: true, parameters: true, sparsity: true, filters: true };
const close = (a, b, rel = 1e-3) => Math.abs(a - b) <= rel * Math.max(1, Math.abs(a), Math.abs(b));
const maxAbs = (xs) => xs.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

// What `nnlab inspect` computes natively for the page's current run.
async function native(page, request) {
  const bytes = await page.evaluate(async () => Array.from((await window.nnlab.lab.saveFile(null)).bytes));
  const file = join(mkdtempSync(join(tmpdir(), 'nnlab-inspect-')), 'run.safetensors');
  writeFileSync(file, Buffer.from(bytes));
  const out = nnlab(['inspect', file, JSON.stringify(request)], { encoding: 'utf8', maxBuffer: 1 << 28 });
  return JSON.parse(out);
}

// Steps `n` times and waits until the views have drawn that step's inspection.
async function stepAndDraw(page, n) {
  const target = await page.evaluate(async (n) => (await window.nnlab.lab.step(n)).step, n);
  await page.evaluate((target) => new Promise((resolve) => {
    const check = () => (window.nnlab.run.inspection.value?.step === target ? requestAnimationFrame(() => requestAnimationFrame(resolve)) : setTimeout(check, 50));
    check();
  }), target);
  return target;
}

const probe = (inspection, path, kind) => inspection.example.probes.find((p) => p.path === path && p.kind === kind);
const attr = (page, selector, name) => page.evaluate(([s, n]) => document.querySelector(s)?.dataset[n], [selector, name]);

// digits-cnn on WebGPU: feature maps, filters, confusion, sparsity, histograms
// and the graph against the native CPU computation; then they follow Play.
export async function digitsViews(browser) {
  const page = await open(browser, '#preset=digits-cnn&backend=webgpu&example=5&layer=layers[2]');
  await ready(page, 'digits-cnn');
  const step = await stepAndDraw(page, 40);
  const want = await native(page, { ...ALL, example: { split: 'test', index: 5 } });
  const views = await page.evaluate(() => [...document.querySelectorAll('[data-view]')].map((v) => v.dataset.view).join());
  const backend = await page.evaluate(() => window.nnlab.run.backend.value);
  record('digits-cnn on WebGPU shows its views: confusion, draw, feature maps, filters, graph, sparsity, histograms',
    backend === 'webgpu' && views === 'samples,curves,confusion,draw,features,filters,graph,sparsity,histograms', `${backend}: ${views}`);

  const features = Number(await attr(page, '[data-view="features"] canvas.tiles', 'scale'));
  const featuresWant = maxAbs(probe(want, 'layers[2]', 'output').values);
  record('feature maps: the chosen example and layer (from the link) at the native scale', close(features, featuresWant) && await attr(page, '[data-view="features"] canvas.tiles', 'path') === 'layers[2]',
    `page ±${features}, native ±${featuresWant}`);

  const filters = Number(await attr(page, '[data-view="filters"] canvas.tiles', 'scale'));
  record('filters: the first conv layer\'s weights at the native scale', close(filters, maxAbs(want.filters[0].values)), `page ±${filters}, native ±${maxAbs(want.filters[0].values)}`);

  const cells = await page.evaluate(() => [...document.querySelectorAll('table.confusion tr')].slice(1).map((tr) => [...tr.querySelectorAll('td')].map((td) => Number(td.textContent || 0))));
  const diagonal = cells.reduce((s, row, k) => s + row[k], 0);
  const nativeDiagonal = Array.from({ length: 10 }, (_, k) => want.confusion.counts[k * 11]).reduce((a, b) => a + b, 0);
  const total = cells.flat().reduce((a, b) => a + b, 0);
  record('confusion matrix: every test example counted, the diagonal as native (±1 near a tie)', total === want.confusion.examples && Math.abs(diagonal - nativeDiagonal) <= 1,
    `page ${diagonal}/${total}, native ${nativeDiagonal}/${want.confusion.examples}`);

  const zeros = await page.evaluate(() => [...document.querySelectorAll('.sparsity-now li')].map((li) => [li.dataset.path, Number(li.dataset.zeros)]));
  record('activation sparsity: each ReLU\'s share of zeros as native', zeros.length === want.sparsity.length && zeros.every(([p, z], k) => p === want.sparsity[k].path && Math.abs(z - want.sparsity[k].zeros) < 0.01),
    `page ${JSON.stringify(zeros)}, native ${JSON.stringify(want.sparsity.map((s) => [s.path, s.zeros]))}`);

  const norms = await page.evaluate(() => [...document.querySelectorAll('table.layer-stats tr[data-path]')].map((tr) => [tr.dataset.path, Number(tr.dataset.gradientNorm)]));
  record('histograms: every layer\'s gradient norm as native', norms.length === want.parameters.length && norms.every(([p, g], k) => p === want.parameters[k].path && close(g, want.parameters[k].gradientNorm, 1e-2)),
    `page ${JSON.stringify(norms)}, native ${JSON.stringify(want.parameters.map((p) => [p.path, p.gradientNorm]))}`);

  const nodes = await page.evaluate(() => ({ n: document.querySelectorAll('[data-view="graph"] button.node').length, selected: document.querySelector('[data-view="graph"] .node.selected')?.dataset.path }));
  await page.click('[data-view="graph"] button.node[data-path="layers[6]"]');
  await sleep(600);
  const linked = await attr(page, '[data-view="features"] canvas.tiles', 'path');
  record('model graph: a box per layer; clicking one shows it in the feature maps', nodes.n === 10 && nodes.selected === 'layers[2]' && linked === 'layers[6]', `${nodes.n} boxes, selected ${nodes.selected}, feature maps then show ${linked}`);

  // Live: the views follow training.
  const before = await page.evaluate(() => ({ columns: window.nnlab.run.inspections.value.length, scale: document.querySelector('[data-view="filters"] canvas.tiles').dataset.scale }));
  await page.evaluate(() => window.nnlab.lab.play());
  await until(page, (s) => s.metrics.step >= step + 60, { what: 'training on', timeout: 120_000 });
  await sleep(1000);
  await page.evaluate(() => window.nnlab.lab.pause());
  await sleep(500);
  const after = await page.evaluate(() => ({ columns: window.nnlab.run.inspections.value.length, step: window.nnlab.run.inspection.value.step, scale: document.querySelector('[data-view="filters"] canvas.tiles').dataset.scale, metrics: window.nnlab.run.metrics.value.step }));
  record('while training, the views update (histogram columns added, filters redrawn)', after.columns > before.columns + 1 && after.scale !== before.scale && after.step > step,
    `columns ${before.columns} → ${after.columns}, filter scale ${before.scale} → ${after.scale}, inspected at step ${after.step}`);
  await shot(page, 'inspect-digits');
  for (const v of ['confusion', 'features', 'filters', 'graph', 'sparsity', 'histograms']) await page.locator(`[data-view="${v}"]`).screenshot({ path: `${process.env.SCREENSHOT_DIR || 'target/e2e'}/view-${v}.png` }).catch(() => {});

  // Folding a view stops its work: no parameters in later inspections.
  await page.click('[data-view="histograms"] .fold');
  await sleep(400);
  await stepAndDraw(page, 1);
  const folded = await page.evaluate(() => ({ parameters: window.nnlab.run.inspection.value.parameters, closed: location.hash.includes('closed=histograms') }));
  record('a folded view is not computed, and the link remembers it folded', folded.parameters === null && folded.closed, JSON.stringify({ parameters: folded.parameters && 'computed', closed: folded.closed }));
  await page.context().close();
}

// Sequence models on the CPU: attention maps (transformer, Aaren), hidden
// states (LSTM, GRU, S4D) and predictions against targets, each as native.
export async function sequenceViews(browser) {
  const cases = [
    ['copy-transformer', 'attention', 'layers[3]', 'attention'],
    ['adding-aaren', 'attention', 'layers[1]', 'attention'],
    ['adding-lstm', 'hidden', 'layers[0]', 'hidden'],
    ['parity-gru', 'hidden', null, 'hidden'],
    ['sine-s4d', 'hidden', null, 'hidden'],
  ];
  for (const [preset, view, layer, kind] of cases) {
    const page = await open(browser, `#preset=${preset}&backend=cpu&example=2${layer ? `&layer=${layer}` : ''}`);
    await ready(page, preset);
    await stepAndDraw(page, 20);
    const want = await native(page, { example: { split: 'test', index: 2 }, predictions: true });
    const path = await attr(page, `[data-view="${view}"] canvas[data-scale]`, 'path');
    const scale = Number(await attr(page, `[data-view="${view}"] canvas[data-scale]`, 'scale'));
    const values = probe(want, path, kind)?.values ?? [];
    const wantScale = kind === 'attention' ? Math.max(...values) : maxAbs(values);
    let detail = `page ${scale}, native ${wantScale}`;
    let same = close(scale, wantScale);
    if (kind === 'attention') {
      // The last query's largest weight in the first head.
      const shape = probe(want, path, kind).shape;
      const last = Math.max(...values.slice((shape[1] - 1) * shape[2], shape[1] * shape[2]));
      const shown = Number(await attr(page, `[data-view="${view}"] canvas[data-scale]`, 'lastRowMax'));
      same &&= close(shown, last);
      detail += `; last query's largest weight: page ${shown}, native ${last}`;
    }
    record(`${preset}: ${view === 'attention' ? 'attention maps' : 'hidden states'} of ${path} as native`, (!layer || path === layer) && same, detail);
    const predictions = await page.evaluate(() => {
      const c = document.querySelector('[data-view="predictions"] .caption');
      return { shown: !!c, confusion: !!document.querySelector('[data-view="confusion"] table.confusion'), predicted: c?.dataset.predicted, tokens: document.querySelectorAll('[data-view="predictions"] table.tokens tr').length };
    });
    if (!predictions.shown) {
      // One class per sequence: a confusion matrix, not a list of tokens.
      record(`${preset}: a confusion matrix instead of predictions vs targets`, predictions.confusion, JSON.stringify(predictions));
    } else if (predictions.predicted !== undefined) {
      const per = want.predictions.outputs.length / want.predictions.count;
      const nativeValue = want.predictions.outputs[2 * per];
      record(`${preset}: predictions vs targets shows test example 2's prediction as native`, close(Number(predictions.predicted), nativeValue), `page ${predictions.predicted}, native ${nativeValue}`);
    } else {
      record(`${preset}: predictions vs targets lists target and predicted tokens`, predictions.tokens === 9, `${predictions.tokens - 1} rows`);
    }
    // Then the view follows training.
    const signature = () => page.evaluate((v) => { const c = document.querySelector(`[data-view="${v}"] canvas[data-scale]`); return `${c.dataset.scale}|${c.dataset.lastRowMax}`; }, view);
    const first = await signature();
    await stepAndDraw(page, 20);
    const then = await signature();
    record(`${preset}: the ${view === 'attention' ? 'attention maps' : 'hidden states'} are redrawn after 20 more steps`, then !== first, `${first} → ${then}`);
    await page.locator(`[data-view="${view}"]`).screenshot({ path: `${process.env.SCREENSHOT_DIR || 'target/e2e'}/view-${view}-${preset}.png` }).catch(() => {});
    if (predictions.shown) await page.locator('[data-view="predictions"]').screenshot({ path: `${process.env.SCREENSHOT_DIR || 'target/e2e'}/view-predictions-${preset}.png` }).catch(() => {});
    await page.context().close();
  }
}

// The trained digits CNN reads a 1 drawn with the mouse; the probabilities
// shown are the native ones for the same drawing.
export async function drawADigit(browser, label) {
  const page = await open(browser, '#preset=digits-cnn&backend=cpu', { width: 1280 });
  await until(page, (s) => s.status === 'ready', { what: 'digits-cnn' });
  await page.evaluate(() => window.nnlab.lab.step(600));
  await until(page, (s) => s.metrics?.step === 600, { what: 'training 600 steps' });
  await drawStroke(page, 'canvas.drawing', [[0.52, 0.1], [0.5, 0.5], [0.48, 0.9]]);
  await page.evaluate(() => new Promise((resolve) => {
    const check = () => (document.querySelector('.verdict')?.dataset.predicted !== undefined && window.nnlab.run.drawing.value ? setTimeout(resolve, 600) : setTimeout(check, 100));
    check();
  }));
  const shown = await page.evaluate(() => ({
    predicted: document.querySelector('.verdict').dataset.predicted,
    p: [...document.querySelectorAll('.probabilities li')].map((li) => Number(li.dataset.p)),
    drawing: window.nnlab.run.drawing.value,
  }));
  const want = await native(page, { input: shown.drawing });
  const agree = shown.p.length === 10 && shown.p.every((p, k) => Math.abs(p - want.drawing.output[k]) < 1e-4);
  record(label, shown.predicted === '1' && agree, `says ${shown.predicted} (${(Math.max(...shown.p) * 100).toFixed(1)}%); native p(1) ${want.drawing.output[1].toFixed(4)}, page ${shown.p[1]?.toFixed(4)}`);
  if (!page.firefox) await page.locator('[data-view="draw"]').screenshot({ path: `${process.env.SCREENSHOT_DIR || 'target/e2e'}/view-draw.png` }).catch(() => {});
  await page.context().close();
}
