// The PFN view: on a fresh load the PFN's posterior and the exact GP's are
// drawn over a dataset drawn from the GP; the PFN's numbers are the native
// ones (`nnlab pfn predict` on the same model file); clicking adds a point
// and dragging moves one, and both curves follow; the unknown-lengthscale
// model takes over when the lengthscale is unknown; bad input (tampered
// links, points outside the domain, too many points, bad numbers, bad API
// calls) gets a message and loses nothing.
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open, record, shot, sleep, nnlab } from './harness.mjs';

// Waits until the view shows curves of the points as they are now.
async function settled(page, what, timeout = 60_000) {
  const start = Date.now();
  while (Date.now() - start < timeout) {
    const s = await page.evaluate(() => {
      const r = window.nnlab?.pfnRun;
      const p = window.nnlab?.pfn?.value;
      if (!r || !p) return null;
      const c = r.curve.value;
      return { status: r.status.value, message: r.message.value, points: p.context.length, curvePoints: c?.points?.length ?? -1, same: c?.points === p.context };
    });
    if (s?.status === 'error') throw new Error(`${what}: ${s.message?.message}`);
    if (s && s.status === 'ready' && s.same) return s;
    await sleep(100);
  }
  throw new Error(`${what}: no curves after ${timeout / 1000} s`);
}

const curve = (page) => page.evaluate(() => {
  const c = window.nnlab.pfnRun.curve.value;
  return { pfn: c.pfn, exact: c.exact, heldOut: c.heldOut, density: c.density.length, ms: c.ms };
});
const state = (page) => page.evaluate(() => ({ ...window.nnlab.pfn.value, message: window.nnlab.pfnRun.message.value, note: window.nnlab.pfnRun.note.value, model: window.nnlab.pfnRun.info.value?.spec?.name }));
const finite = (v) => Number.isFinite(v);

// What `nnlab pfn predict` says for the same model and points.
function native(model, dataset) {
  const dir = mkdtempSync(join(tmpdir(), 'nnlab-pfn-'));
  writeFileSync(join(dir, 'in.json'), JSON.stringify({ datasets: [dataset] }));
  nnlab(['pfn', 'predict', '--model', model, '--input', join(dir, 'in.json'), '--output', join(dir, 'out.json')]);
  return JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8'));
}

// The canvas position of data point (x, y), for the mouse.
async function canvasPoint(page, [x, y]) {
  const box = await page.locator('.pfn-plot canvas').boundingBox();
  // The plot's padding in viz/pfn-regression.js.
  const pad = { left: 34, right: 8, top: 8, bottom: 22 };
  return [box.x + pad.left + x * (box.width - pad.left - pad.right), box.y + pad.top + ((3.5 - y) / 7) * (box.height - pad.top - pad.bottom)];
}

export async function pfnView(browser) {
  const page = await open(browser, '#pfn=gp');
  await settled(page, 'a fresh #pfn=gp');
  const first = await curve(page);
  const s = await state(page);
  record('a fresh PFN view draws the PFN and the exact GP over a drawn dataset, with both held-out log-likelihoods',
    s.context.length === 8 && s.heldOut.length === 50 && first.pfn.mean.length === 200 && first.exact?.mean.length === 200 && first.density === 200 * 140
      && finite(first.heldOut.pfnNll) && finite(first.heldOut.exactNll) && await page.locator('#gp-ll').textContent() !== '–'
      && await page.locator('#pfn-mismatch').count() === 0,
    `${s.context.length} points, PFN ${first.heldOut?.pfnNll}, GP ${first.heldOut?.exactNll}, ${first.ms?.toFixed(1)} ms`);
  await shot(page, 'pfn-fresh');

  // The same predictions natively.
  const dataset = { x_context: s.context.map((p) => [p[0]]), y_context: s.context.map((p) => p[1]), x_query: [[0.1], [0.5], [0.93]] };
  const [inPage, want] = await Promise.all([page.evaluate((d) => window.nnlab.lab.pfnPredict('pfn-gp', { datasets: [d] }), dataset), Promise.resolve(native('pfn-gp', dataset))]);
  const diff = Math.max(...inPage.datasets[0].probs.flat().map((p, i) => Math.abs(p - want.datasets[0].probs.flat()[i])));
  record('the page\'s PFN probabilities are `nnlab pfn predict`\'s for the same points (1000 buckets, half-normal tails)',
    inPage.type === 'bar' && inPage.tails === 'halfnormal-pfn' && inPage.borders.length === 1001 && diff < 1e-5, `max difference ${diff}`);

  // A click adds a point; both curves change near it.
  const before = await curve(page);
  const [cx, cy] = await canvasPoint(page, [0.62, 2.6]);
  await page.mouse.click(cx, cy);
  await settled(page, 'after a click');
  const added = await curve(page);
  const k = Math.round(0.62 * 199);
  const after = await state(page);
  record('a click adds a context point where it was clicked, and both the PFN\'s and the GP\'s means move towards it',
    after.context.length === 9 && Math.abs(after.context[8][0] - 0.62) < 0.01 && Math.abs(after.context[8][1] - 2.6) < 0.05
      && added.pfn.mean[k] > before.pfn.mean[k] + 0.2 && added.exact.mean[k] > before.exact.mean[k] + 0.2,
    `PFN ${before.pfn.mean[k].toFixed(2)} -> ${added.pfn.mean[k].toFixed(2)}, GP ${before.exact.mean[k].toFixed(2)} -> ${added.exact.mean[k].toFixed(2)}`);

  // Dragging it down moves it, and the curves follow.
  await page.mouse.move(cx, cy);
  await page.mouse.down();
  const [, ty] = await canvasPoint(page, [0.62, -2.4]);
  for (let i = 1; i <= 10; i++) await page.mouse.move(cx, cy + ((ty - cy) * i) / 10);
  await page.mouse.up();
  await settled(page, 'after a drag');
  const dragged = await curve(page);
  const moved = await state(page);
  record('dragging a point moves it (no new point), and both curves follow it down',
    moved.context.length === 9 && Math.abs(moved.context[8][1] + 2.4) < 0.1 && dragged.pfn.mean[k] < added.pfn.mean[k] - 1 && dragged.exact.mean[k] < added.exact.mean[k] - 1,
    `point at ${moved.context[8].map((v) => v.toFixed(2))}, PFN mean ${dragged.pfn.mean[k].toFixed(2)}`);
  await shot(page, 'pfn-dragged');

  // A double-click removes it.
  const [dx, dy] = await canvasPoint(page, moved.context[8]);
  await page.mouse.dblclick(dx, dy);
  await settled(page, 'after a double-click');
  record('a double-click removes the point', (await state(page)).context.length === 8);

  // Lengthscale unknown: the other shipped PFN, against the Bayes-optimal mixture.
  await page.locator('#gp-ls-unknown').check();
  await settled(page, 'with the lengthscale unknown');
  const ls = await state(page);
  const mixture = await curve(page);
  record('with the lengthscale unknown the view switches to pfn-gp-ls and compares it with the Bayes-optimal mixture',
    ls.model === 'pfn-gp-ls' && ls.ls === 'unknown' && finite(mixture.heldOut.exactNll) && finite(mixture.heldOut.pfnNll) && /ls=unknown/.test(await page.evaluate(() => location.hash))
      && await page.locator('#pfn-mismatch').count() === 0,
    `${ls.model}: PFN ${mixture.heldOut.pfnNll?.toFixed(3)}, Bayes ${mixture.heldOut.exactNll?.toFixed(3)}`);
  await shot(page, 'pfn-lengthscale-unknown');

  // A GP the PFN was not trained for is compared all the same, with a note.
  await page.locator('#gp-ls-unknown').uncheck();
  await page.locator('#gp-ls').fill('0.15');
  await page.locator('#gp-ls').blur();
  await page.waitForFunction(() => window.nnlab.pfn.value.ls === 0.15, null, { timeout: 10_000 }).catch(() => {});
  await settled(page, 'with lengthscale 0.15');
  const other = await state(page);
  record('a lengthscale the PFN was not trained for keeps pfn-gp and says the two priors differ',
    other.model === 'pfn-gp' && other.ls === 0.15 && await page.locator('#pfn-mismatch').count() === 1, `${other.model}, ls ${other.ls}, ${await page.locator('#pfn-mismatch').count()} notes`);
  await page.locator('#gp-ls-unknown').check();
  await settled(page, 'with the lengthscale unknown again');

  // The link reproduces the view in a fresh profile.
  const hash = await page.evaluate(() => location.hash);
  const copy = await open(browser, hash);
  await settled(copy, 'the copied link');
  const again = await state(copy);
  record('a copied link opens the same points, GP and model in a fresh profile',
    again.model === 'pfn-gp-ls' && JSON.stringify(again.context.map((p) => p.map((v) => v.toFixed(3)))) === JSON.stringify(ls.context.map((p) => p.map((v) => v.toFixed(3)))));
  await copy.context().close();
  await page.context().close();
}

export async function pfnBadInput(browser) {
  const page = await open(browser, '#pfn=gp&c=0.5:1,1.5:2,abc,0.2:-1&kernel=cubic&noise=-3');
  await settled(page, 'a tampered link');
  const s = await state(page);
  record('a tampered link keeps what is valid and names each problem (a point outside the domain, text, a bad kernel and noise)',
    s.context.length === 2 && /outside the plotted domain \[0, 1\]/.test(s.note) && /not two numbers/.test(s.note) && /kernel "cubic"/.test(s.note) && /noise=-3/.test(s.note)
      && await page.locator('#pfn-message').textContent() === s.note, s.note);

  // At most the model's context: one more is refused with a message.
  const fifty = Array.from({ length: 50 }, (_, i) => `${(i / 49).toFixed(3)}:${Math.sin(i / 5).toFixed(3)}`).join(',');
  await page.evaluate((c) => { location.hash = `#pfn=gp&c=${c}`; }, fifty);
  await settled(page, 'a link with 50 points');
  const [x, y] = await canvasPoint(page, [0.33, 3]);
  await page.mouse.click(x, y);
  await sleep(300);
  const full = await state(page);
  record('a 51st point is refused with a message, and the 50 stay', full.context.length === 50 && /at most 50 context points/.test(full.message?.message ?? ''), full.message?.message);

  // A bad number typed into a control.
  await page.locator('#gp-noise').fill('-1');
  await page.locator('#gp-noise').press('Enter');
  await page.locator('#gp-noise').blur();
  await sleep(200);
  const typed = await state(page);
  record('a noise of -1 is refused with a message and the GP keeps its noise', typed.noise === 0.1 && /Noise standard deviation must be a number/.test(typed.message?.message ?? ''), typed.message?.message);

  // The JS API refuses bad requests with structured errors.
  const errors = await page.evaluate(async () => {
    const lab = window.nnlab.lab;
    const fail = (p) => p.then(() => null, (e) => ({ kind: e.kind, path: e.path, message: e.message }));
    return {
      domain: await fail(lab.pfnCurve('pfn-gp', { xContext: [0.2, 1.7], yContext: [0, 1], xQuery: [0.5] })),
      many: await fail(lab.pfnPredict('pfn-gp', { datasets: [{ x_context: Array.from({ length: 60 }, () => [0.5]), y_context: Array(60).fill(0), x_query: [[0.1]] }] })),
      nan: await fail(lab.pfnCurve('pfn-gp', { xContext: [0.2], yContext: [null], xQuery: [0.5] })),
      name: await fail(lab.pfnOpen('../../etc/passwd')),
      missing: await fail(lab.pfnOpen('pfn-nothing')),
    };
  });
  record('the JS API refuses points outside the domain, too many points, missing numbers and bad model names, with kind and path',
    errors.domain?.kind === 'invalid_spec' && errors.domain.path === 'xContext[1]' && /outside the plotted domain/.test(errors.domain.message)
      && /takes 1 to 50/.test(errors.many?.message) && errors.nan?.kind && /not a PFN model name/.test(errors.name?.message) && /could not be loaded/.test(errors.missing?.message),
    JSON.stringify(errors).slice(0, 400));
  const still = await state(page);
  record('after every refusal the view still has its 50 points and draws them', still.context.length === 50 && (await settled(page, 'after the refusals')).points === 50);
  await shot(page, 'pfn-bad-input');
  await page.context().close();
}

export async function pfnPhone(browser) {
  const page = await open(browser, '#pfn=gp', { width: 375 });
  await settled(page, 'the PFN view on a phone');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  record('the PFN view fits a 375 px wide phone', overflow <= 0, `${overflow} px too wide`);
  await shot(page, 'pfn-phone');
  await page.context().close();
}

// Firefox ESR has no WebGPU: the PFN runs on the CPU there anyway.
export async function pfnFirefox(firefox) {
  const page = await open(firefox, '#pfn=gp');
  await settled(page, 'the PFN view in Firefox ESR');
  const c = await curve(page);
  record('the PFN view draws both posteriors in Firefox ESR', c.pfn.mean.length === 200 && c.exact.mean.length === 200 && finite(c.heldOut.pfnNll), `${c.ms?.toFixed(1)} ms`);
  await page.screenshot({ path: `${process.env.SCREENSHOT_DIR || 'target/e2e'}/pfn-firefox.png` }).catch(() => {});
  await page.context().close();
}

// What `nnlab pfn classify` says for one split (the page's: seed 0).
function nativeClassify(table, train) {
  const out = nnlab(['pfn', 'classify', '--model', 'pfn-tabular', `models/tables/${table}.csv`, '--train', String(train), '--splits', '1'], { encoding: 'utf8' });
  const row = out.split('\n').find((l) => l.startsWith(table));
  const [, , pfn, logistic, mlp] = row.trim().split(/\s+/).map(Number);
  return { pfn, logistic, mlp };
}

async function tableResult(page, what) {
  await page.waitForFunction(() => {
    const t = window.nnlab?.pfnTable;
    return t && !t.running.value && (t.result.value || t.error.value);
  }, null, { timeout: 120_000 }).catch(() => { throw new Error(`${what}: no result`); });
  return page.evaluate(() => ({ result: window.nnlab.pfnTable.result.value, error: window.nnlab.pfnTable.error.value }));
}

export async function pfnClassification(browser) {
  const page = await open(browser, '#pfn=tabular&table=iris');
  const { result: iris } = await tableResult(page, 'iris');
  const want = nativeClassify('iris', 0.5);
  const close = (a, b) => Math.abs(a - b) < 1e-3;
  record('iris in the classification view: the PFN\'s, logistic regression\'s and the MLP\'s test accuracy are what `nnlab pfn classify` computes for the same split, each with its time',
    iris && close(iris.pfn.accuracy, want.pfn) && close(iris.logistic.accuracy, want.logistic) && close(iris.mlp.accuracy, want.mlp) && iris.pfn.ms > 0 && iris.mlp.ms > 0,
    iris && `page ${[iris.pfn, iris.logistic, iris.mlp].map((m) => `${(m.accuracy * 100).toFixed(1)}% in ${m.ms.toFixed(0)} ms`).join(', ')}; native ${JSON.stringify(want)}`);
  await page.locator('#pfn-table').selectOption('breast-cancer');
  const { result: cancer } = await tableResult(page, 'breast cancer');
  record('choosing breast cancer classifies its 569 rows, and the link names the table', cancer?.pfn.train + cancer?.pfn.test === 569 && /table=breast-cancer/.test(await page.evaluate(() => location.hash)));
  await shot(page, 'pfn-classification');

  const header = 'a,b,label';
  const rows = (n, f = (i) => `${i % 7},${(i * 3) % 5},${i % 2 ? 'x' : 'y'}`) => [header, ...Array.from({ length: n }, (_, i) => f(i))].join('\n');
  const uploads = [
    ['missing values', rows(20, (i) => (i === 4 ? '1,,x' : `${i},${i % 3},${i % 2 ? 'x' : 'y'}`)), /row 6, column "b": the value is missing/],
    ['text in a numeric column', rows(20, (i) => (i === 2 ? 'seven,1,x' : `${i},${i % 3},${i % 2 ? 'x' : 'y'}`)), /"seven" is not a number/],
    ['too many rows', rows(1001), /1001 rows; the PFN reads at most 1000/],
    ['too many features', [`${Array.from({ length: 11 }, (_, i) => `f${i}`).join(',')},label`, ...Array.from({ length: 20 }, (_, r) => `${Array.from({ length: 11 }, (_, i) => (r * i) % 5).join(',')},${r % 2}`)].join('\n'), /11 feature columns; the PFN takes at most 10/],
    ['too many classes', rows(40, (i) => `${i},${i % 3},c${i % 11}`), /11 classes; the PFN tells at most 10 apart/],
  ];
  for (const [name, csv, message] of uploads) {
    await page.locator('#pfn-upload').setInputFiles({ name: `${name.replaceAll(' ', '-')}.csv`, mimeType: 'text/csv', buffer: Buffer.from(csv) });
    const { error } = await tableResult(page, name);
    record(`an uploaded table with ${name} is refused with a clear message`, message.test(error?.message ?? ''), error?.message);
  }
  await page.locator('#pfn-upload').setInputFiles({ name: 'good.csv', mimeType: 'text/csv', buffer: Buffer.from(rows(60)) });
  const { result: good } = await tableResult(page, 'a good upload');
  record('after the refusals a good upload is classified', good?.table === 'good.csv' && good.pfn.test + good.pfn.train === 60 && await page.locator('#pfn-label').inputValue() === 'label');
  await shot(page, 'pfn-classification-upload');
  await page.context().close();
}

export async function pfnTrainOwn(browser) {
  const page = await open(browser, '#pfn=train');
  await page.locator('#pfn-train-start').click();
  await page.waitForFunction(() => window.nnlab.pfnTraining.history.value.length >= 4 || window.nnlab.pfnTraining.status.value === 'error', null, { timeout: 180_000 });
  const t = await page.evaluate(() => ({ history: window.nnlab.pfnTraining.history.value, error: window.nnlab.pfnTraining.error.value }));
  const h = t.history;
  record('"Train your own" trains a PFN in the page: its held-out NLL falls towards the exact GP\'s',
    !t.error && h.length >= 4 && h.at(-1).pfnNll < h[0].pfnNll - 0.5 && h.every((p) => Number.isFinite(p.exactNll)),
    t.error?.message ?? h.map((p) => `${p.step}: ${p.pfnNll.toFixed(3)} (GP ${p.exactNll.toFixed(3)})`).join(', '));
  await page.locator('#pfn-train-pause').click();
  const paused = await page.evaluate(() => window.nnlab.pfnTraining.step.value);
  await sleep(1500);
  const still = await page.evaluate(() => window.nnlab.pfnTraining.step.value);
  record('Pause stops the training where it is', still - paused <= 20, `${paused} -> ${still}`);
  await shot(page, 'pfn-train-your-own');
  await page.context().close();
}

// For embedding: a link hides the title bar, the tabs and the GP panel.
export async function pfnEmbedded(browser) {
  const page = await open(browser, '#pfn=gp&hide=header,tabs,gp,wings');
  await settled(page, 'a PFN link with hide');
  const shown = await page.evaluate(() => ({
    header: !document.querySelector('header.top').hidden,
    tabs: !document.querySelector('nav.tabs').hidden,
    gp: !!document.querySelector('#gp-kernel'),
    plot: !!document.querySelector('.pfn-plot canvas'),
    note: window.nnlab.pfnRun.note.value,
  }));
  record('a PFN link hides the header, the tabs and the GP panel it names, and says which part it does not know',
    !shown.header && !shown.tabs && !shown.gp && shown.plot && /wings/.test(shown.note), JSON.stringify(shown));
  await page.context().close();
}
