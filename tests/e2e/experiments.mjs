// Experiment cards in the page: the gallery lists every card with its claim
// and measured outcome; a card trains its runs side by side and reaches the
// numbers and checks `nnlab experiment run` computes natively for the same
// card; a run opens in the lab; leaving stops the card; a bad card name gets
// a message with the gallery still there.
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open, record, shot, sleep, until, nnlab } from './harness.mjs';

const CARDS = readdirSync('models/experiments').filter((f) => f.endsWith('.json')).map((f) => f.replace(/\.json$/, '')).sort();

const status = (page) => page.evaluate(() => {
  const e = window.nnlab?.experiments;
  return e && { status: e.status.value, error: e.error.value, progress: e.progress.value, report: e.report.value, name: e.name.value };
});

async function finished(page, what, timeout = 300_000) {
  const start = Date.now();
  while (Date.now() - start < timeout) {
    const s = await status(page);
    if (s?.status === 'error') throw new Error(`${what}: ${s.error?.message}`);
    if (s?.status === 'done') return s;
    await sleep(250);
  }
  throw new Error(`${what}: not done after ${timeout / 1000} s`);
}

// What `nnlab experiment run` measures for the card, natively on the CPU.
const measured = new Map();
function native(card) {
  if (!measured.has(card)) measured.set(card, runNative(card));
  return measured.get(card);
}

function runNative(card) {
  const out = join(mkdtempSync(join(tmpdir(), 'nnlab-card-')), 'card.json');
  nnlab(['experiment', 'run', `models/experiments/${card}.json`, '--json', out], { stdio: ['ignore', 'ignore', 'inherit'] });
  return JSON.parse(readFileSync(out, 'utf8'))[0];
}

export async function experimentGallery(browser) {
  const page = await open(browser, '#experiments');
  await page.waitForSelector('#experiment-gallery .card', { timeout: 60_000 });
  const cards = await page.$$eval('#experiment-gallery .card', (els) => els.map((el) => ({ name: el.dataset.card, claim: el.querySelector('.claim')?.textContent ?? '', outcome: el.querySelector('.outcome')?.textContent ?? '' })));
  await page.waitForSelector('#experiment-gallery .thumb', { timeout: 10_000 }).catch(() => {});
  const thumbs = await page.$$eval('#experiment-gallery .thumb', (els) => els.length);
  record('the gallery lists every card in models/experiments with its claim, what the miniature measured and a thumbnail of it',
    JSON.stringify(cards.map((c) => c.name).sort()) === JSON.stringify(CARDS) && cards.every((c) => c.claim.length > 40 && c.outcome.length > 40) && thumbs === CARDS.length,
    `${cards.length} cards, ${thumbs} thumbnails`);
  await shot(page, 'experiments-gallery');
  await page.context().close();
}

export async function experimentCard(browser) {
  const page = await open(browser, '#experiments');
  await page.waitForSelector('[data-card=random-pruning] a', { timeout: 60_000 });
  await page.click('[data-card=random-pruning] a');
  const s = await finished(page, 'random-pruning');
  const want = native('random-pruning');
  const page_ = s.progress.map((p) => p.metric);
  const mine = want.runs.map((r) => r.metric);
  const diff = Math.max(...page_.map((m, i) => Math.abs(m - mine[i])));
  record('a card trains its 20 runs side by side in the page (CPU), each to the final test accuracy `nnlab experiment run` measures natively',
    page_.length === 20 && diff < 1e-4, `max difference ${diff.toExponential(2)}`);
  const checks = s.report.checks.map((c) => [c.passed, c.measured]);
  record('the card\'s table and checks are the native ones, and the claim holds in the page',
    JSON.stringify(checks) === JSON.stringify(want.checks.map((c) => [c.passed, c.measured])) && checks.every(([p]) => p), JSON.stringify(checks));
  const drawn = await page.evaluate(() => ({ curves: document.querySelectorAll('.experiment-chart canvas').length, sweep: !!document.querySelector('#experiment-sweep canvas'), rows: document.querySelectorAll('#experiment-runs tbody tr').length }));
  record('the runs\' curves are overlaid, and the final accuracy is drawn against the hidden width', drawn.curves >= 2 && drawn.sweep && drawn.rows === 20, JSON.stringify(drawn));
  await shot(page, 'experiment-random-pruning');
  // A run opens in the lab with its spec.
  await page.locator('#experiment-runs tbody tr[data-run="10"] button').click();
  const lab = await until(page, (r) => ['ready', 'paused', 'playing'].includes(r.status), { what: 'the run in the lab' });
  const spec = await page.evaluate(() => window.nnlab.state.value.spec);
  record('"Open in the lab" opens that run\'s spec (random sparse, width 8) in the lab',
    spec?.layers?.[1]?.out === 8 && spec?.training?.prune?.kind === 'random_erk' && /^#s=/.test(await page.evaluate(() => location.hash)), `${lab.status}, ${JSON.stringify(spec?.training)}`);
  await page.context().close();
}

// Relative difference of two per-layer readings (variances span 1e-20 to 1).
const layerGap = (got = [], want = []) => (got.length !== want.length ? Infinity
  : Math.max(0, ...got.map((l, k) => Math.abs(l.value - want[k].value) / Math.max(Math.abs(want[k].value), 1e-30))));

// A card trained in the page (CPU) ends each run at the final metric the
// native CLI measures, and decides its checks the same way. Runs in a chaotic
// regime (`exact: false`) amplify the last-bit differences between the
// WebAssembly and the native build, so there only the checks must agree.
export async function experimentMatchesNative(browser, card, { exact = true } = {}) {
  const page = await open(browser, `#experiment=${card}`);
  const s = await finished(page, card, 400_000);
  const want = native(card);
  const diffs = s.progress.map((p, i) => Math.abs((p.metric ?? NaN) - want.runs[i].metric));
  // Cards with a metric per layer draw it; cards that evaluate two ways time both.
  if (want.runs.some((r) => r.layers?.length)) {
    const gap = Math.max(...s.progress.map((p, i) => layerGap(p.layers, want.runs[i].layers)));
    const chart = await page.locator('#experiment-layers .u-title').textContent().catch(() => '');
    record(`${card}: the metric of every layer ${exact ? 'matches the native one and ' : ''}is drawn layer by layer`, (!exact || gap < 1e-3) && /by layer/.test(chart), `largest relative difference ${gap.toExponential(2)}; chart "${chart}"`);
  }
  const variants = JSON.parse(readFileSync(`models/experiments/${card}.json`, 'utf8')).variants;
  if (variants.some((v) => v.evaluate && v.evaluate !== 'standard')) {
    const cells = await page.locator('#experiment-runs td.eval-time').allTextContents();
    record(`${card}: each run's final evaluation is timed in the page`, cells.length === want.runs.length && cells.every((c) => /^\d+(\.\d)? ms$/.test(c)), cells.join(', '));
  }
  const worst = diffs.indexOf(Math.max(...diffs));
  const checks = s.report.checks.map((c) => c.passed);
  const same = exact ? diffs[worst] < 1e-4 && JSON.stringify(s.report.checks.map((c) => c.measured)) === JSON.stringify(want.checks.map((c) => c.measured)) : true;
  record(`${card}: its ${want.runs.length} runs train in the page (CPU) ${exact ? 'to the native final metrics' : 'and decide the native checks the same way'}, all holding`,
    s.progress.length === want.runs.length && same && JSON.stringify(checks) === JSON.stringify(want.checks.map((c) => c.passed)) && checks.every(Boolean),
    `max difference ${diffs[worst].toExponential(2)} (${s.progress.length ? `run ${worst}` : 'no runs'}); ${checks.map((p) => (p ? 'pass' : 'FAIL')).join(', ')}`);
  await shot(page, `experiment-${card}`);
  await page.context().close();
}

export async function experimentPhone(browser) {
  const page = await open(browser, '#experiment=gradient-noise', { width: 375 });
  await finished(page, 'gradient-noise at 375 px');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  const s = await status(page);
  const diverged = s.progress.filter((p) => p.diverged).length;
  record('a card fits a 375 px wide phone, and a diverged run is shown as diverged (gradient noise at eta = 1)', overflow <= 0 && diverged >= 1 && s.report.checks.every((c) => c.passed), `${overflow} px too wide, ${diverged} diverged`);
  await shot(page, 'experiment-phone');
  await page.context().close();
}

export async function experimentLeaveAndBadLink(browser) {
  const page = await open(browser, '#experiment=batchnorm-only');
  await page.waitForFunction(() => window.nnlab?.experiments?.progress.value.some((p) => p.step > 0), null, { timeout: 120_000 });
  await page.evaluate(() => { location.hash = '#experiments'; });
  await sleep(1500);
  const before = await page.evaluate(() => window.nnlab.experiments.progress.value.map((p) => p.step).join(','));
  await sleep(1500);
  const after = await page.evaluate(() => window.nnlab.experiments.progress.value.map((p) => p.step).join(','));
  const gallery = await page.locator('#experiment-gallery').isVisible();
  record('leaving a card for the gallery stops its training', before === after && gallery);
  await page.evaluate(() => { location.hash = '#experiment=no-such-card'; });
  await page.waitForSelector('#experiment-message', { timeout: 10_000 });
  const message = await page.locator('#experiment-message').textContent();
  record('a link to a card that does not exist says so, with the gallery still there', /no experiment card called "no-such-card"/.test(message) && await page.locator('#experiment-gallery').isVisible(), message);
  await page.context().close();
}

export async function experimentWebGpu(browser) {
  const page = await open(browser, '#experiment=random-pruning&backend=webgpu');
  const s = await finished(page, 'random-pruning on WebGPU', 400_000);
  const want = native('random-pruning');
  const diff = Math.max(...s.progress.map((p, i) => Math.abs(p.metric - want.runs[i].metric)));
  record('the card trains on WebGPU too (Chromium, SwiftShader): the same final accuracies as natively on the CPU, and the claim holds',
    diff < 2e-3 && s.report.checks.every((c) => c.passed), `max difference ${diff.toExponential(2)}`);
  await page.context().close();
}

export async function experimentFirefox(firefox) {
  const page = await open(firefox, '#experiment=random-pruning');
  const s = await finished(page, 'random-pruning in Firefox ESR');
  const want = native('random-pruning');
  const diff = Math.max(...s.progress.map((p, i) => Math.abs(p.metric - want.runs[i].metric)));
  record('the card trains in Firefox ESR (CPU, no WebGPU) to the native final accuracies, and the claim holds', diff < 1e-4 && s.report.checks.every((c) => c.passed), `max difference ${diff.toExponential(2)}`);
  await page.context().close();
}
