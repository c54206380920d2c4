// The page as a person uses it: building a model by clicking, typing then
// clicking at once, switching backend mid-run, losing the GPU, following
// links (good, tampered and old ones), a phone-sized screen, and a browser
// without WebGPU.
import { launch, open, until, ready, record, shot, sleep, runState, longSpiral, url, plainUrl } from './harness.mjs';

const layer = (page, i) => page.locator(`li[data-path="layers[${i}]"]`);
const fieldIn = (scope, label) => scope.locator(`label:has(> span:text-is("${label}")) input`).first();

// The spec the page's link holds now (decoded by the page's own decoder).
export async function linkSpec(page) {
  await page.waitForFunction(() => new URLSearchParams(location.hash.slice(1)).has('s'), null, { timeout: 10_000 });
  return page.evaluate(async () => (await window.nnlab.lab.decodeSetup(new URLSearchParams(location.hash.slice(1)).get('s'))).spec);
}

async function typeInto(input, text) {
  await input.fill(text);
  await input.press('Enter');
}

export async function builder(browser) {
  const page = await open(browser, '#preset=digits-cnn&backend=cpu');
  await ready(page, 'digits-cnn');
  const before = (await runState(page)).report;
  // A conv layer after the first ReLU: 16 channels, kernel 3, no padding.
  await page.selectOption('select[data-list="layers"]', 'conv2d');
  await page.click('button[aria-label="Insert conv2d after layers[2]"]');
  let s = await until(page, (r) => r.status === 'ready' && r.report.layers.length === before.layers.length + 1, { what: 'adding a conv layer' });
  const added = s.report.layers.find((l) => l.path === 'layers[3]');
  const shownAdded = await layer(page, 3).locator('.shape').innerText();
  // Its kernel to 5: the shape shown follows.
  await typeInto(fieldIn(layer(page, 3), 'Kernel'), '5');
  s = await until(page, (r) => r.status === 'ready' && r.report.layers.find((l) => l.path === 'layers[3]')?.output.join() === '16,4,4', { what: 'kernel 5' });
  const shownFive = await layer(page, 3).locator('.shape').innerText();
  const params = s.report.params;
  // A kernel that cannot fit: explained at the layer, the model unchanged.
  await typeInto(fieldIn(layer(page, 3), 'Kernel'), '9');
  await layer(page, 3).locator('.problem').first().waitFor({ timeout: 30_000 });
  const problem = await layer(page, 3).locator('.problem').first().innerText();
  await sleep(500);
  const after = await runState(page);
  const kept = after.report.params === params && after.status === 'ready';
  // Text that is no number at all is refused before it reaches the model.
  await typeInto(fieldIn(layer(page, 3), 'Out'), 'abc');
  const notNumber = await layer(page, 3).locator('.problem', { hasText: 'not a number' }).count();
  await shot(page, 'builder');
  record('a conv layer added by clicking shows its shape, follows its kernel, and an invalid kernel is explained while the model is kept',
    added?.output.join() === '16,6,6' && shownAdded === '[16, 6, 6]' && shownFive === '[16, 4, 4]' && /does not fit/.test(problem) && kept && notNumber === 1,
    `added ${shownAdded}, kernel 5 -> ${shownFive}, kernel 9 -> "${problem}", model kept: ${kept}, "abc" refused: ${notNumber === 1}`);
  // The model built by clicking trains.
  await page.click('#play');
  s = await until(page, (r) => r.metrics?.step >= 120, { what: 'training the built model' });
  await page.click('#play');
  s = await until(page, (r) => r.status === 'ready', { what: 'pausing' });
  record('the model built by clicking trains', s.metrics.testAccuracy >= 0.5, `test accuracy ${(s.metrics.testAccuracy * 100).toFixed(1)}% after ${s.metrics.step} steps`);
  // The JSON view refuses a broken spec with its path and keeps the model.
  await page.click('button:text-is("JSON")');
  const area = page.locator('textarea[aria-label="Model spec as JSON"]');
  const json = JSON.parse(await area.inputValue());
  json.layers[0].out = 0;
  await area.fill(JSON.stringify(json));
  await page.click('button:text-is("Apply JSON")');
  const jsonProblem = await page.locator('.json-view .problem').innerText({ timeout: 30_000 });
  const same = (await runState(page)).report.params === s.report.params;
  record('the JSON view names the path of an invalid value and keeps the model', /layers\[0\]\.out/.test(jsonProblem) && same, `"${jsonProblem}"`);
  await page.context().close();
}

// Typing a value and clicking Play at once: the click must train the model
// the typing made, not get lost while the model is rebuilt.
export async function typeThenClick(browser) {
  const page = await open(browser, '#preset=playground-spiral&backend=cpu');
  await ready(page, 'spiral');
  await page.getByLabel('Lr', { exact: true }).fill('0.01');
  await page.click('#play');
  const s = await until(page, (r) => r.status === 'playing' && r.metrics?.step > 0, { what: 'play after typing', timeout: 30_000 });
  const lr = (await linkSpec(page)).optimizer.lr;
  await page.click('#play');
  record('typing a value and clicking Play at once trains with that value', lr === 0.01 && s.status === 'playing', `lr in the link ${lr}, status ${s.status}`);
  await page.context().close();
}

// Switching backend mid-run continues from the same weights and step.
export async function backendSwitch(browser) {
  const page = await open(browser, longSpiral('cpu'));
  const opened = await ready(page, 'spiral');
  await page.click('#play');
  const before = await until(page, (r) => r.metrics?.step >= 1500, { what: 'training on the CPU' });
  await page.selectOption('#backend', 'webgpu');
  const moved = await until(page, (r) => r.backend === 'webgpu' && r.metrics.step > before.metrics.step, { what: 'switching to WebGPU', timeout: 60_000 });
  const later = await until(page, (r) => r.metrics.step > moved.metrics.step + 100, { what: 'training on WebGPU', timeout: 120_000 });
  await shot(page, 'backend-switch');
  await page.click('#play');
  const initial = opened.metrics.testLoss;
  const ok = later.status === 'playing' && moved.metrics.testLoss < initial * 0.8 && later.metrics.testLoss < initial * 0.8;
  record('switching backend while training keeps the step count and the loss level', ok,
    `CPU step ${before.metrics.step} (test loss ${before.metrics.testLoss.toFixed(3)}, initial ${initial.toFixed(3)}) -> WebGPU step ${moved.metrics.step} ` +
    `(test loss ${moved.metrics.testLoss.toFixed(3)}) -> step ${later.metrics.step} (${later.metrics.testLoss.toFixed(3)})`);
  await page.context().close();
}

// The GPU disappears mid-training (as after a driver reset): the page says
// so and carries on on the CPU from its last snapshot, not from scratch.
export async function lostDevice(browser) {
  const page = await open(browser, longSpiral('webgpu'));
  const opened = await ready(page, 'spiral on WebGPU');
  if (opened.backend !== 'webgpu') throw new Error(`WebGPU is not in use: ${opened.note}`);
  await page.click('#play');
  await until(page, (r) => r.metrics?.step >= 600, { what: 'training on WebGPU' });
  await sleep(1500);   // past the next snapshot (every second)
  const lost = await runState(page);
  await page.evaluate(() => window.nnlab.testing.loseGpuDevice());
  const fell = await until(page, (r) => r.backend === 'cpu' && /GPU was lost/.test(r.note), { what: 'the fall-back', timeout: 60_000 });
  const resumedAt = Number((/from step (\d+)/.exec(fell.note) || [])[1] || 0);
  const after = await until(page, (r) => r.status === 'playing' && r.metrics.step > resumedAt + 200, { what: 'training on after the fall-back', timeout: 60_000 });
  await shot(page, 'lost-device');
  await page.click('#play');
  const initial = opened.metrics.testLoss;
  record('a lost GPU falls back to the CPU and keeps the trained weights',
    resumedAt >= 600 && after.metrics.testLoss < initial * 0.8,
    `lost at step ~${lost.metrics.step}, resumed at ${resumedAt}, test loss ${initial.toFixed(3)} -> ${after.metrics.testLoss.toFixed(3)} at step ${after.metrics.step}; "${fell.note}"`);
  await page.context().close();
}

// Links: a tampered or outdated one opens what it can and says what it could
// not use; an edited model's link reproduces it in a fresh profile.
export async function links(browser) {
  const cases = [
    ['#preset=no-such-model', /no preset "no-such-model"/],
    ['#spec=%7Bbroken', /not valid JSON/],
    [`#spec=${encodeURIComponent(JSON.stringify({ name: 'x', input: [2], layers: [{ type: 'linear', out: 0 }], data: { name: 'plane', set: 'xor' } }))}`, /layers\[0\]\.out/],
    ['#dataset=moons&hidden=8,8&learningRate=abc&backend=quantum', /dataset "moons".*learningRate "abc"|learningRate "abc".*dataset "moons"/],
  ];
  for (const [hash, expected] of cases) {
    const page = await open(browser, hash);
    const s = await ready(page, hash);
    const kept = (await page.evaluate(() => location.hash)) === hash;
    record(`a link the page cannot follow in full says why (${decodeURIComponent(hash).slice(0, 60)})`, expected.test(s.note) && kept,
      `note "${s.note}", link kept: ${kept}`);
    await page.context().close();
  }
  // An old playground link with 8 GELU layers opens as that model.
  const old = await open(browser, '#dataset=circle&hidden=4,4,4,4,4,4,4,4&activation=gelu&backend=cpu');
  const s = await ready(old, 'an old link');
  const linear = s.report.layers.filter((l) => l.kind === 'linear').length;
  record('an old playground link opens as that model (8 GELU layers)', linear === 9 && !s.note, `${linear} linear layers, note "${s.note}"`);
  // Edit, copy the link, open it in a fresh profile: the same model.
  await old.getByLabel('Out', { exact: true }).first().fill('6');
  await old.getByLabel('Out', { exact: true }).first().press('Enter');
  const edited = await until(old, (r) => r.status === 'ready' && r.report.layers[0].output[0] === 6, { what: 'editing' });
  const link = await old.evaluate(() => location.href);
  const fresh = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const copy = await fresh.newPage();
  await copy.goto(link);
  const reopened = await ready(copy, 'the copied link');
  record('a copied link opens the same model in a fresh profile', reopened.report.params === edited.report.params && reopened.report.layers[0].output[0] === 6,
    `${edited.report.params} parameters here, ${reopened.report.params} there`);
  await fresh.close();
  await old.context().close();
}

// On a phone: nothing runs off the screen.
export async function phone(browser) {
  const page = await open(browser, '#preset=digits-cnn&backend=cpu', { width: 375 });
  await ready(page, 'digits-cnn at 375 px');
  await page.click('#step');
  await until(page, (r) => r.metrics.step >= 1, { what: 'a step' });
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  await shot(page, 'phone-375');
  record('at 375 px the page fits the screen', width <= 375, `${width} px wide`);
  await page.context().close();
}

// A browser without WebGPU: the page says so and trains on the CPU.
async function saysNoWebGpu(browser, hash, name, label) {
  const page = await open(browser, hash);
  const s = await ready(page, name);
  await page.click('#step');
  await until(page, (r) => r.metrics.step >= 1, { what: `a step (${name})` });
  await shot(page, name);
  record(label, s.backend === 'cpu' && /WebGPU is not available/.test(s.note), `backend ${s.backend}, note "${s.note}"`);
  await page.context().close();
}

// Chromium without the WebGPU flags offers navigator.gpu but no adapter; the link asks for WebGPU.
export async function noWebGpu() {
  const plain = await launch({ webgpu: false });
  await saysNoWebGpu(plain, '#preset=playground-spiral&backend=webgpu', 'no-webgpu', 'without a WebGPU adapter the page says so and trains on the CPU');
  await plain.close();
}

// Firefox ESR has no WebGPU: the default (auto) link trains on the CPU.
export const firefoxFallsBack = (firefox) => saysNoWebGpu(firefox, '#preset=playground-spiral', 'firefox', 'Firefox (no WebGPU) opens the default link on the CPU and says why');

// A table of two features and a string class, learnable (wide or tall).
function table(rows = 200) {
  let csv = 'width,height,kind\n';
  for (let i = 0; i < rows; i++) {
    const w = (i * 37) % 100;
    const h = ((i * 61) % 100) * 10;
    csv += `${w},${h},${w * 10 > h ? 'wide' : 'tall'}\n`;
  }
  return csv;
}

// A CSV upload: a good table trains; a malformed or oversized one is refused
// with what is wrong, and the model stays as it was.
export async function csvUpload(browser) {
  const page = await open(browser, '#preset=playground-xor&backend=cpu');
  const before = await ready(page, 'xor');
  await page.click('summary:text("Upload a table")');
  const upload = (name, text) => page.setInputFiles('#csv-file', { name, mimeType: 'text/csv', buffer: Buffer.from(text) });
  // Oversized: refused before it is read.
  await upload('huge.csv', 'a,b\n' + '1,2\n'.repeat(300_000));
  const huge = await page.locator('#csv-problem').innerText({ timeout: 30_000 });
  // Text where a number belongs: previewed, then refused with its row and column.
  await upload('broken.csv', table().replace('\n37,', '\nabc,'));
  await page.selectOption('#csv-label', 'kind');
  await page.click('#csv-use');
  await page.locator('#csv-problem').waitFor({ timeout: 30_000 });
  const broken = await page.locator('#csv-problem').innerText();
  const unchanged = (await runState(page)).report.params === before.report.params;
  record('a malformed or oversized CSV is refused with what is wrong and the model is kept',
    /limit is 1,048,576/.test(huge) && /row 3, column "width": "abc" is not a number/.test(broken) && unchanged, `"${huge}" / "${broken}"`);
  // A good one: previewed, then trained on.
  await upload('shapes.csv', table());
  await page.locator('.csv-preview table').waitFor({ timeout: 30_000 });
  await page.selectOption('#csv-label', 'kind');
  await page.selectOption('#csv-task', 'classification');
  await page.click('#csv-use');
  const opened = await until(page, (r) => r.status === 'ready' && r.report.input.join() === '2' && r.report.output.join() === '2' && r.metrics.step === 0, { what: 'the table model' });
  await shot(page, 'csv-upload');
  await page.click('#play');
  const trained = await until(page, (r) => r.metrics.step >= 300, { what: 'training on the table' });
  await page.click('#play');
  record('an uploaded CSV is previewed and trained on', trained.metrics.testAccuracy >= 0.85,
    `${opened.report.params} parameters, test accuracy ${(trained.metrics.testAccuracy * 100).toFixed(1)}% after ${trained.metrics.step} steps`);
  await page.context().close();
}

// Points clicked onto the plane join the training data, the nearest one can
// be taken out again, and the run keeps its weights and step count.
export async function drawPoints(browser) {
  const page = await open(browser, '#preset=playground-xor&backend=cpu');
  await ready(page, 'xor');
  await page.click('#step');
  const stepped = await until(page, (r) => r.metrics.step === 1, { what: 'a step' });
  const n = () => page.evaluate(() => window.nnlab.run.dataset.value.train.n);
  const before = await n();
  const canvas = page.locator('[data-view="boundary"] canvas');
  const box = await canvas.boundingBox();
  await page.selectOption('#click-mode', '1');
  await canvas.click({ position: { x: box.width * 0.9, y: box.height * 0.1 } });
  await until(page, (r) => r.status === 'ready' && r.metrics.step >= 1, { what: 'adding a point' });
  await page.waitForFunction((b) => window.nnlab.run.dataset.value.train.n === b + 1, before, { timeout: 30_000 });
  const link = (await linkSpec(page)).data.points;
  await page.selectOption('#click-mode', 'remove');
  await canvas.click({ position: { x: box.width * 0.9, y: box.height * 0.1 } });
  await page.waitForFunction((b) => window.nnlab.run.dataset.value.train.n === b, before, { timeout: 30_000 });
  const after = await runState(page);
  await shot(page, 'draw-points');
  record('a click on the plane adds a training point, another takes it out, and the run keeps its step',
    link?.length === 1 && link[0][2] === 1 && link[0][0] > 0.7 && after.metrics.step === stepped.metrics.step,
    `points in the link ${JSON.stringify(link)}, step ${stepped.metrics.step} -> ${after.metrics.step}`);
  await page.context().close();
}

// The loss's PyTorch arguments set from the form: class weights as a list of
// numbers, a reduction, an ignored class. They reach the link and the run
// trains; a weight list of the wrong length is explained at the field and the
// model is kept.
export async function lossOptions(browser, width = 1280) {
  const page = await open(browser, '#preset=digits-cnn&backend=cpu', { width });
  await ready(page, 'digits-cnn');
  const lossField = (label) => page.locator(`label:has(> span:text-is("${label}"))`).filter({ has: page.locator('input, select') });
  await lossField('Loss').locator('select').selectOption('cross_entropy');
  await until(page, (r) => r.status === 'ready', { what: 'choosing the loss' });
  const weights = lossField('Weight').locator('input').first();
  await typeInto(weights, '1, 1, 1, 2, 1, 1, 1, 1, 1, 0.5');
  await lossField('Reduction').locator('select').selectOption('sum');
  await typeInto(lossField('Ignore Index').locator('input').first(), '3');
  // The edits land in order, and the link follows them (it may hold an older setup, or none, meanwhile).
  const linked = () => page.evaluate(async () => {
    const s = new URLSearchParams(location.hash.slice(1)).get('s');
    return s ? (await window.nnlab.lab.decodeSetup(s)).spec.loss : null;
  });
  let loss = null;
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(250)) {
    loss = await linked().catch(() => null);
    if (loss?.reduction === 'sum' && loss?.ignoreIndex === 3 && loss?.weight?.length === 10) break;
  }
  await page.click('#play');
  let s = await until(page, (r) => r.metrics?.step >= 40, { what: 'training with the loss options' });
  await page.click('#play');
  // Paused once the full metrics come: a chunk of steps already queued when
  // Pause arrived still runs before them.
  s = await until(page, (r) => r.status === 'ready' && !r.metrics.sampled, { what: 'pausing' });
  const finite = Number.isFinite(s.metrics.trainLoss) && Number.isFinite(s.metrics.testLoss);
  await shot(page, width < 600 ? 'loss-options-phone' : 'loss-options');
  // A list that does not fit the ten classes.
  await typeInto(weights, '1, 2');
  const problem = await page.locator('.problem', { hasText: 'class weights' }).first().innerText({ timeout: 30_000 });
  const [linkedWeights, stepNow] = [(await linkSpec(page)).loss?.weight?.length, (await runState(page)).metrics.step];
  const kept = linkedWeights === 10 && stepNow === s.metrics.step;
  record(`the loss's class weights, reduction and ignored class set in the form reach the link and train${width < 600 ? ' (375 px)' : ''}; a wrong weight count is explained and the model kept`,
    loss?.weight?.[3] === 2 && loss.reduction === 'sum' && loss.ignoreIndex === 3 && finite && /10 classes/.test(problem) && kept,
    `loss ${JSON.stringify(loss)}, step ${s.metrics.step}, train loss ${s.metrics.trainLoss?.toFixed(3)}, test loss ${s.metrics.testLoss?.toFixed(3)}, "${problem}", kept ${kept} (link's weights ${linkedWeights}, step ${stepNow})`);
  await page.context().close();
}

// The two builds of the wasm module: Chromium loads the relaxed-SIMD one,
// `?wasm=simd128` the plain one; both train the digits CNN (its convolutions
// and dense layers are the GEMM the builds differ in) to the same accuracy.
// digits-cnn on the CPU from `base` + `query`: the build the worker loaded and
// the test loss after `steps` steps.
async function trainOnBuild(browser, base, query, steps) {
  const page = await open(browser, `${query}#preset=digits-cnn&backend=cpu`, { base });
  await ready(page, `digits-cnn at ${base}${query}`);
  const build = await page.evaluate(async () => (await window.nnlab.lab.ready()).build);
  const isolated = await page.evaluate(() => self.crossOriginIsolated);
  await page.evaluate((n) => window.nnlab.lab.step(n), steps);
  const s = await until(page, (x) => x.metrics?.step === steps && !x.metrics.sampled, { what: `digits-cnn trained ${steps} steps (${base}${query})` });
  const adapter = await page.evaluate(() => document.querySelector('#backend-used').title);
  await page.context().close();
  return { isolated, build, adapter, accuracy: s.metrics.testAccuracy, loss: s.metrics.testLoss };
}

// Firefox ESR: the single-threaded build where the page is not isolated, the
// threaded one where it is, the same numbers from both.
export async function firefoxBuilds(firefox) {
  if (!plainUrl) return record('NNLAB_PLAIN_URL serves the site without the isolation headers', false, 'set NNLAB_PLAIN_URL (cargo xtask test does)');
  const plain = await trainOnBuild(firefox, plainUrl, '', 100);
  const isolated = await trainOnBuild(firefox, url, '', 100);
  record('Firefox ESR runs the single-threaded build un-isolated and the threaded one isolated, to the same loss (100 CPU steps)',
    !plain.isolated && plain.build !== 'threads' && isolated.build === 'threads' && plain.accuracy >= 0.7 && plain.loss === isolated.loss,
    JSON.stringify({ plain, isolated }));
}

export async function wasmBuilds(browser) {
  if (!plainUrl) return record('NNLAB_PLAIN_URL serves the site without the isolation headers', false, 'set NNLAB_PLAIN_URL (cargo xtask test does)');
  const results = {};
  for (const [name, base, query] of [['isolated', url, ''], ['plain', plainUrl, ''], ['simd128', url, '?wasm=simd128']]) {
    results[name] = await trainOnBuild(browser, base, query, 150);
  }
  const { isolated, plain, simd128 } = results;
  record('served isolated, the page runs the threaded build and says so; without the headers, the single-threaded relaxed-SIMD one; ?wasm=simd128 the plain one',
    isolated.isolated && isolated.build === 'threads' && isolated.adapter === 'WebAssembly, relaxed SIMD, threads'
      && !plain.isolated && plain.build === 'relaxed-simd' && plain.adapter === 'WebAssembly, relaxed SIMD'
      && simd128.build === 'simd128' && simd128.adapter === 'WebAssembly, SIMD', JSON.stringify(results));
  // Split across threads, each product block runs the same kernel over the
  // same K order as on one thread: the numbers are the same, not just close.
  record('digits-cnn trains to the same loss on the threaded and the single-threaded build (150 CPU steps)',
    isolated.accuracy >= 0.8 && isolated.loss === plain.loss, `loss ${isolated.loss} threaded, ${plain.loss} one thread`);
  record('and close to it on the plain simd128 build', simd128.accuracy >= 0.8 && Math.abs(simd128.loss - plain.loss) < 0.05,
    `accuracy ${simd128.accuracy}, loss ${simd128.loss}`);
  await stalledThreads(browser);
  await stalledWorker(browser);
}

// digits-cnn opened on the CPU with the requests matching `held` never
// answered, then 20 steps: the build it ended on, its backend's tooltip,
// the seconds to ready and the metrics after the steps.
async function heldBack(browser, held, what) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.route(held, () => {});
  const start = Date.now();
  const page = await open(browser, '#preset=digits-cnn&backend=cpu', { context });
  await ready(page, `digits-cnn with ${what} held back`);
  const seconds = (Date.now() - start) / 1000;
  const build = await page.evaluate(async () => (await window.nnlab.lab.ready()).build);
  await page.evaluate(() => window.nnlab.lab.step(20));
  const s = await until(page, (x) => x.metrics?.step === 20 && !x.metrics.sampled, { what: `digits-cnn after ${what} was held back` });
  const adapter = await page.evaluate(() => document.querySelector('#backend-used').title);
  await context.close();
  return { build, adapter, seconds, metrics: s.metrics };
}

// A threaded start that never finishes (here its module never arrives) must
// not leave the page loading: the worker runs the single-threaded build.
async function stalledThreads(browser) {
  const { build, adapter, seconds, metrics } = await heldBack(browser, '**/pkg-threads/*.wasm', 'the threaded module');
  record('a threaded start that never finishes gives way to the single-threaded build, which trains',
    build === 'relaxed-simd' && adapter === 'WebAssembly, relaxed SIMD' && Number.isFinite(metrics.testLoss),
    `build ${build} ("${adapter}") ready after ${seconds.toFixed(1)} s, test loss ${metrics.testLoss?.toFixed(3)} after 20 steps`);
}

// A training worker that never loads (here its script never arrives; in a
// browser, one blocked inside the thread pool's start) is replaced by the
// page with a single-threaded one, which answers what the page had asked.
async function stalledWorker(browser) {
  const held = (u) => u.pathname.endsWith('/worker/main.js') && !u.search;
  const { build, adapter, seconds, metrics } = await heldBack(browser, held, 'the first training worker');
  record('a training worker that never loads is replaced by a single-threaded one, which opens the model and trains',
    build === 'relaxed-simd' && adapter === 'WebAssembly, relaxed SIMD' && seconds >= 45 && Number.isFinite(metrics.testLoss),
    `build ${build} ("${adapter}") ready after ${seconds.toFixed(1)} s, test loss ${metrics.testLoss?.toFixed(3)} after 20 steps`);
}
