// Keeping and sharing work: a reload restores the run bit-exactly (Chromium
// and Firefox), a bad session file changes nothing and says why, a copied
// link reproduces model, data, seed and loss in a fresh profile, and an
// embedded page hides exactly what its link says and pauses out of view.
import { readFileSync } from 'node:fs';
import { unzipSync } from 'fflate';
import { open, until, ready, pauseNow, record, shot, runState, url, longSpiral, readClipboard } from './harness.mjs';

const SPIRAL = '#preset=playground-spiral&backend=cpu';
const LONG_SPIRAL = longSpiral('cpu');

// Steps the run `n` times through the worker (Step's path, 1,000 at a time)
// and resolves to the metrics after the last step.
function stepTo(page, target) {
  return page.evaluate(async (target) => {
    const { lab, run } = window.nnlab;
    for (let left = target - run.metrics.value.step; left > 0; left -= 1000) await lab.step(Math.min(1000, left));
    await new Promise((resolve) => { const check = () => (run.metrics.value.step === target ? resolve() : setTimeout(check, 50)); check(); });
    const m = run.metrics.value;
    return { step: m.step, trainLoss: m.trainLoss, testLoss: m.testLoss };
  }, target);
}

// Waits for the autosave of the current step once training is paused.
function savedNow(page) {
  return page.evaluate(() => new Promise((resolve, reject) => {
    const { run, kept } = window.nnlab;
    const start = Date.now();
    const check = () => {
      if (kept.problem.value) reject(new Error(kept.problem.value));
      else if (run.status.value === 'ready' && kept.savedStep.value === run.metrics.value.step) resolve(kept.savedStep.value);
      else if (Date.now() - start > 30_000) reject(new Error(`no autosave (saved ${kept.savedStep.value}, step ${run.metrics.value.step})`));
      else setTimeout(check, 100);
    };
    check();
  }));
}

// Train, pause, reload: the run is back at the saved step with its curves,
// and the next step's loss is bit-for-bit the one of an uninterrupted run.
export async function reloadRestores(browser, label) {
  const page = await open(browser, SPIRAL);
  await ready(page, 'spiral');
  await page.click('#play');
  await until(page, (r) => r.metrics?.step >= 300, { what: 'training before the reload' });
  await pauseNow(page, 'pausing before the reload');
  const saved = await savedNow(page);
  await page.reload();
  const back = await until(page, (r) => r.status === 'ready' && r.metrics?.step > 0, { what: 'the restored run' });
  const curves = await page.evaluate(() => window.nnlab.run.history.value.length);
  await shot(page, `restored-${browser.firefox ? 'firefox' : 'chromium'}`);
  const after = await stepTo(page, saved + 1);
  await page.context().close();
  const fresh = await open(browser, SPIRAL);
  await ready(fresh, 'a fresh profile');
  const reference = await stepTo(fresh, saved + 1);
  await fresh.context().close();
  record(label, back.metrics.step === saved && /Restored/.test(back.note) && curves > 1
      && after.trainLoss === reference.trainLoss && after.testLoss === reference.testLoss,
    `saved at ${saved}, restored at ${back.metrics.step} with ${curves} curve points; step ${saved + 1}: train loss ${after.trainLoss} vs ${reference.trainLoss} uninterrupted`);
}

// The safetensors header of `bytes` and where its data starts.
function header(bytes) {
  const n = Number(Buffer.from(bytes.slice(0, 8)).readBigUInt64LE());
  return { json: JSON.parse(Buffer.from(bytes.slice(8, 8 + n)).toString()), data: 8 + n };
}

function withHeader(bytes, json) {
  const text = Buffer.from(JSON.stringify(json));
  const size = Buffer.alloc(8);
  size.writeBigUInt64LE(BigInt(text.length));
  return Buffer.concat([size, text, Buffer.from(bytes.slice(header(bytes).data))]);
}

// A digest of everything the run holds (weights, moments, step).
const digest = (page) => page.evaluate(async () => {
  const s = await window.nnlab.lab.exportState();
  let h = s.step;
  for (const t of s.tensors) for (let i = 0; i < t.values.length; i++) h = (h * 31 + t.values[i] * 1e6) % 1e12;
  return h;
});

// Bad session files are refused with what is wrong; the model is untouched.
export async function badImports(browser) {
  const page = await open(browser, SPIRAL);
  await ready(page, 'spiral');
  await page.click('#step');
  await until(page, (r) => r.metrics.step === 1, { what: 'a step' });
  const good = Buffer.from(await page.evaluate(async () => Array.from((await window.nnlab.lab.saveFile(null)).bytes)));
  const { json, data } = header(good);
  const swapped = structuredClone(json);
  swapped['model.0.weight'].shape.reverse();
  const huge = Buffer.from(good);
  huge.writeBigUInt64LE(1n << 40n, 0);
  const nan = Buffer.from(good);
  nan.writeFloatLE(NaN, data);
  const plain = structuredClone(json);
  delete plain.__metadata__.format;
  const cases = [
    ['truncated', good.subarray(0, good.length - 100), /truncated|not a readable safetensors/],
    ['wrong shapes', withHeader(good, swapped), /model\.0\.weight.*shape/],
    ['oversized header', huge, /header claims 1099511627776 bytes/],
    ['non-finite values', nan, /NaN or infinite/],
    ['not safetensors', Buffer.from('{"this is": "JSON, not a session"}\n'.repeat(20)), /header|not a safetensors/],
    ['weights only', withHeader(good, plain), /not an nnlab session/],
  ];
  const before = await digest(page);
  const seen = [];
  let untouched = true;
  for (const [name, buffer, expected] of cases) {
    await page.setInputFiles('#session-file', { name: `${name}.safetensors`, mimeType: 'application/octet-stream', buffer });
    await page.waitForFunction((n) => document.querySelector('#file-problem')?.textContent.includes(n), `${name}.safetensors`, { timeout: 30_000 });
    const text = await page.locator('#file-problem').innerText();
    const s = await runState(page);
    const now = await digest(page);
    if (s.metrics.step !== 1 || s.status !== 'ready' || now !== before) {
      untouched = false;
      console.log(name, s.metrics.step, s.status, now, before);
    }
    seen.push([name, expected.test(text) && /unchanged/.test(text), text]);
  }
  await shot(page, 'bad-import');
  const wrong = seen.filter(([, ok]) => !ok);
  record('a truncated, mis-shaped, oversized, non-finite or foreign file is refused with why, and the model is untouched',
    wrong.length === 0 && untouched, wrong.length ? wrong.map(([n, , t]) => `${n}: "${t}"`).join(' | ') : `untouched: ${untouched}; e.g. "${seen[1][2]}"`);
  // A good one opens, continues at its step, and joins the saved sessions.
  await page.setInputFiles('#session-file', { name: 'mine.nnlab.safetensors', mimeType: 'application/octet-stream', buffer: good });
  const opened = await until(page, (r) => r.status === 'ready' && r.metrics.step === 1 && !r.note.includes('Restored'), { what: 'opening a good file' });
  await page.waitForFunction(() => window.nnlab.kept.list.value.some((m) => m.name === 'mine'), null, { timeout: 30_000 });
  record('a downloaded session file opens again at its step and is kept in the list', opened.metrics.step === 1, `step ${opened.metrics.step}`);
  await page.context().close();
}

// A link copied with the button opens, in a fresh profile, the same model,
// data and seed; trained the same steps on the CPU, to the same loss.
export async function sharedLink(browser) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, permissions: ['clipboard-read', 'clipboard-write'] });
  const page = await open(browser, SPIRAL, { context: ctx });
  await ready(page, 'spiral');
  // Edits asked for before the previous one is applied build on it.
  const both = await page.evaluate(async () => {
    const { editAt } = window.nnlab.testing;
    await Promise.all([editAt(['seed'], 3), editAt(['data', 'noise'], 0.3)]);
    const { seed, data } = window.nnlab.state.value.spec;
    return { seed, noise: data.noise };
  });
  record('two edits asked for at once both land', both.seed === 3 && both.noise === 0.3, JSON.stringify(both));
  const seed = page.locator('[aria-label="Data"] label:has(> span:text-is("Seed")) input');
  await seed.fill('7');
  await seed.press('Enter');
  const noise = page.locator('[aria-label="Data"] label:has(> span:text-is("Noise")) input');
  await noise.fill('0.2');
  await noise.press('Enter');
  await until(page, (r) => r.status === 'ready', { what: 'the edited model' });
  await page.waitForFunction(() => new URLSearchParams(location.hash.slice(1)).has('s'), null, { timeout: 10_000 });
  await page.click('#copy-link');
  const link = await readClipboard(page);
  const here = await stepTo(page, 300);
  const canonical = (p) => p.evaluate(() => window.nnlab.testing.canonical(window.nnlab.state.value.spec));
  const spec = await page.evaluate(() => window.nnlab.state.value.spec);
  const mine = await canonical(page);
  await ctx.close();
  const other = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const there = await other.newPage();
  await there.goto(link);
  await until(there, (r) => r.status === 'ready', { what: 'the shared link' });
  const theirSpec = await there.evaluate(() => window.nnlab.state.value.spec);
  const same = (await canonical(there)) === mine;
  const theirs = await stepTo(there, 300);
  await shot(there, 'shared-link');
  await other.close();
  const setup = `seed ${spec.seed} here, ${theirSpec.seed} there; noise ${spec.data.noise} here, ${theirSpec.data.noise} there; ${same ? 'same' : 'different'} spec`;
  record('a copied link reproduces model, data and seed in a fresh profile, and the same loss after 300 CPU steps',
    spec.seed === 7 && spec.data.noise === 0.2 && same && theirs.trainLoss === here.trainLoss,
    `link ${link.length} characters; ${setup}; train loss ${here.trainLoss} here, ${theirs.trainLoss} there`);

  // A damaged link says so and opens a working default page.
  const tampered = link.replace(/s=([\w-]{20})[\w-]{10}/, 's=$1!!');
  const broken = await open(browser, tampered.slice(tampered.indexOf('#')));
  const s = await ready(broken, 'a damaged link');
  await broken.click('#step');
  const stepped = await until(broken, (r) => r.metrics.step === 1, { what: 'a step after a damaged link' });
  record('a damaged link says so and opens a working default page', /could not be followed/.test(s.note) && /damaged/.test(s.note) && stepped.metrics.step === 1, `"${s.note}"`);
  await broken.context().close();
}

// Which parts are on screen in `frame`.
const PART_SELECTORS = {
  header: 'header.top:not([hidden])', text: 'footer:not([hidden])', presets: '[aria-label="Preset"]', data: '[aria-label="Data"]',
  model: '[aria-label="Model"]', training: '[aria-label="Training settings"]', controls: '#play', stats: '.stats',
  keep: '[aria-label="Keep and share"]', 'view-options': '.view-options', boundary: '[data-view="boundary"]', curves: '[data-view="curves"]',
};

async function shown(frame) {
  const out = {};
  for (const [part, selector] of Object.entries(PART_SELECTORS)) out[part] = (await frame.locator(selector).count()) > 0;
  return out;
}

// A page of an article with the lab in an iframe at `hash`, listening to it.
const host = (src) => `<body style="margin:0;font:16px sans-serif"><p>An article about spirals.</p>
<iframe src="${src}" width="650" height="700" style="border:0"></iframe><div style="height:3000px"></div>
<script>window.heard = []; addEventListener('message', (e) => { if (e.data?.source === 'nnlab') heard.push(e.data); });</script></body>`;

// Autoplay trains; scrolled out of view the frame pauses, back in view it
// resumes; the parent hears the metrics.
async function pausesOutOfView(page) {
  const inner = page.frames().find((f) => f !== page.mainFrame());
  // Polled on a timer: an offscreen frame gets no animation frames.
  const status = (want) => inner.waitForFunction((w) => window.nnlab.run.status.value === w, want, { timeout: 30_000, polling: 200 }).then(() => want, () => 'not ' + want);
  await inner.waitForFunction(() => window.nnlab?.run.status.value === 'playing', null, { timeout: 60_000 });
  await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
  const away = await status('ready');
  await page.evaluate(() => window.scrollTo(0, 0));
  const back = await status('playing');
  const heard = await page.evaluate(() => window.heard.filter((m) => m.event === 'metrics').length);
  record('an embedded page autoplays, pauses scrolled out of view, resumes in view, and tells its parent',
    away === 'ready' && back === 'playing' && heard > 0, `out of view: ${away}, back: ${back}, metrics heard by the parent: ${heard}`);

  // Back in view while the pause is still on its way (held here for a
  // second): the frame pauses, then trains again.
  await inner.evaluate(() => {
    const { lab, run } = window.nnlab;
    const pauseAsItWas = lab.pause.bind(lab);
    lab.pause = async () => {
      window.pauseAsked = true;
      await new Promise((r) => setTimeout(r, 1000));
      return pauseAsItWas();
    };
    window.statuses = [];
    run.status.subscribe((v) => window.statuses.push(v));
  });
  await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
  const asked = await inner.waitForFunction(() => window.pauseAsked, null, { timeout: 30_000, polling: 50 }).then(() => true, () => false);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.waitForTimeout(3000);
  const statuses = await inner.evaluate(() => window.statuses.join(' → '));
  record('scrolled away and back before the pause has gone through, the frame pauses and then trains again',
    asked && statuses === 'playing → ready → playing', `pause asked: ${asked}; status ${statuses}`);
}

// An iframe embedding hides exactly the parts its link names.
export async function embedded(browser) {
  const ctx = await browser.newContext({ viewport: { width: 700, height: 800 } });
  const page = await ctx.newPage();
  const sets = [
    ['header', 'text', 'presets', 'data', 'model', 'training', 'keep'],
    ['controls', 'stats', 'curves', 'view-options'],
  ];
  let exact = true;
  const details = [];
  for (const [i, hide] of sets.entries()) {
    await page.setContent(host(`${url}${LONG_SPIRAL}&hide=${hide.join(',')}${i === 0 ? '&autoplay=1' : ''}`));
    const frame = page.frameLocator('iframe');
    await frame.locator('[data-view="boundary"]').waitFor({ timeout: 60_000 });
    const on = await shown(frame);
    const wrong = Object.keys(PART_SELECTORS).filter((p) => on[p] === hide.includes(p));
    exact &&= wrong.length === 0;
    details.push(wrong.length ? `hide=${hide}: wrong ${wrong}` : `hide=${hide}: exact`);
    if (i === 0) {
      await shot(page, 'embedded');
      await pausesOutOfView(page);
    }
  }
  record('the embed parameters hide exactly the parts they name', exact, details.join('; '));
  await ctx.close();
}

// The Embed dialog writes a snippet with the chosen parts hidden.
export async function embedDialog(browser) {
  const page = await open(browser, SPIRAL, { width: 1100 });
  await ready(page, 'spiral');
  await page.click('#embed');
  await page.locator('#embed-dialog').waitFor();
  await page.locator('#embed-dialog input[value="stats"]').check();
  const snippet = await page.locator('#embed-snippet').inputValue();
  await page.screenshot({ path: `${process.env.SCREENSHOT_DIR || 'target/e2e'}/embed-dialog.png` });
  const src = /src="([^"]+)"/.exec(snippet)?.[1].replaceAll('&amp;', '&') ?? '';
  const hide = new URLSearchParams(new URL(src).hash.slice(1)).get('hide')?.split(',') ?? [];
  record('the Embed dialog writes an iframe snippet for this setup with the chosen parts hidden',
    snippet.startsWith('<iframe') && hide.includes('stats') && hide.includes('model') && src.includes('preset=playground-spiral'), snippet.slice(0, 160));
  await page.context().close();
}

// The PyTorch button gives a zip of the folder train.py needs, holding the
// run's weights as they are in the page.
export async function pytorchExport(browser) {
  const page = await open(browser, '#preset=digits-cnn&backend=cpu');
  await ready(page, 'digits-cnn');
  await page.evaluate(() => window.nnlab.lab.step(5));
  await until(page, (r) => r.metrics.step === 5, { what: 'five steps' });
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#pytorch')]);
  const zip = unzipSync(new Uint8Array(readFileSync(await download.path())));
  const names = Object.keys(zip).map((n) => n.split('/').pop()).sort();
  const training = JSON.parse(Buffer.from(Object.entries(zip).find(([n]) => n.endsWith('training.json'))[1]).toString());
  const weights = Object.entries(zip).find(([n]) => n.endsWith('weights.safetensors'))[1];
  const { json, data } = header(weights);
  const first = Object.keys(json).find((k) => k !== '__metadata__');
  const [from] = json[first].data_offsets;
  const value = Buffer.from(weights).readFloatLE(data + from);
  const state = await page.evaluate((name) => window.nnlab.lab.exportState().then((s) => s.tensors.find((t) => t.name === `model.${name}`).values[0]), first);
  record('the PyTorch button downloads model.py, weights, data and a train.py at the current step',
    names.join() === 'README.md,data.safetensors,model.py,spec.json,train.py,training.json,weights.safetensors' && training.step === 5 && value === state,
    `${download.suggestedFilename()}: ${names.join(', ')}; step ${training.step}; ${first}[0] ${value} (page ${state})`);
  await page.context().close();
}

// The example tutorial (examples/tutorial.html): the iframe trains, the
// lab made by embed() trains and the text reacts to its metrics, and the
// Lab-driven figure is drawn by the page's own code.
export async function exampleTutorial(browser) {
  const ctx = await browser.newContext({ viewport: { width: 760, height: 900 } });
  const page = await ctx.newPage();
  await page.goto(`${url}examples/tutorial.html`);
  const frame = page.frames().find((f) => f.url().includes('preset=playground-xor'));
  await frame.waitForFunction(() => window.nnlab?.run.metrics.value?.step >= 600, null, { timeout: 120_000, polling: 200 });
  const xor = await frame.evaluate(() => ({ accuracy: window.nnlab.run.metrics.value.testAccuracy, data: !!document.querySelector('[aria-label="Data"]') }));
  await page.locator('#spiral-figure').scrollIntoViewIfNeeded();
  // On a timeout the record below says where the embedded lab stood.
  await page.waitForFunction(() => document.getElementById('spiral-progress').dataset.learnedAt, null, { timeout: 180_000, polling: 250 }).catch(() => {});
  const sentence = await page.locator('#spiral-progress').innerText();
  await page.locator('#own-figure').scrollIntoViewIfNeeded();
  await page.waitForFunction(() => Number(document.getElementById('own-caption').dataset.step) >= 3000, null, { timeout: 120_000, polling: 250 }).catch(() => {});
  const figure = await page.evaluate(() => {
    const c = document.getElementById('own-figure');
    const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    const reds = new Set();
    for (let i = 0; i < px.length; i += 4) reds.add(px[i]);
    const caption = document.getElementById('own-caption');
    return { caption: caption.textContent, step: Number(caption.dataset.step), shades: reds.size };
  });
  await shot(page, 'tutorial');
  record('the example tutorial trains its iframe, its embed() lab (the text reacts) and its own Lab figure',
    xor.accuracy >= 0.9 && !xor.data && /^By step \d+ the network put 90% of the test points on the right side/.test(sentence) && figure.step >= 3000 && figure.shades > 20,
    `iframe XOR test accuracy ${xor.accuracy}; "${sentence}"; "${figure.caption}" (${figure.shades} shades)`);
  await ctx.close();
}

// Storage that refuses to write (a full disk): autosave says so plainly, the
// run goes on, and Download still keeps the work.
export async function storageFull(browser) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await ctx.addInitScript(() => {
    IDBObjectStore.prototype.put = function put() { throw new DOMException('The quota has been exceeded.', 'QuotaExceededError'); };
  });
  const page = await open(browser, SPIRAL, { context: ctx });
  await ready(page, 'spiral');
  await page.click('#play');
  await until(page, (r) => r.metrics?.step >= 200, { what: 'training with full storage' });
  await pauseNow(page, 'pausing with full storage');
  const problem = await page.locator('#storage-problem').innerText({ timeout: 30_000 });
  const s = await runState(page);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  record('full storage is reported plainly, training goes on, and Download still keeps the run',
    /storage for this site is full/.test(problem) && s.status === 'ready' && !s.error && download.suggestedFilename().endsWith('.nnlab.safetensors'),
    `"${problem}"; ${download.suggestedFilename()}`);
  await ctx.close();
}

// The list of saved sessions: two models trained one after the other are
// both kept; one is renamed, reopened at its step, the other deleted.
export async function savedList(browser) {
  const page = await open(browser, SPIRAL);
  await ready(page, 'spiral');
  await page.evaluate(() => window.nnlab.lab.step(40));
  await until(page, (r) => r.metrics.step === 40, { what: 'spiral steps' });
  await savedNow(page);
  await page.selectOption('#preset', 'playground-xor');
  await until(page, (r) => r.status === 'ready' && r.metrics.step === 0 && r.report.params !== 114, { what: 'the xor preset' });
  await page.click('#step');
  await until(page, (r) => r.metrics.step === 1, { what: 'an xor step' });
  await savedNow(page);
  const rows = page.locator('.saved-list li');
  await page.waitForFunction(() => document.querySelectorAll('.saved-list li').length === 2, null, { timeout: 30_000 });
  const spiralRow = rows.filter({ hasText: 'step 40' });
  await spiralRow.locator('.session-name').fill('my spiral');
  await spiralRow.locator('.session-name').press('Enter');
  await page.waitForFunction(() => window.nnlab.kept.list.value.some((m) => m.name === 'my spiral'), null, { timeout: 30_000 });
  await rows.filter({ hasText: 'step 40' }).locator('.open-saved').click();
  const reopened = await until(page, (r) => r.status === 'ready' && r.metrics.step === 40, { what: 'reopening the spiral' });
  await rows.filter({ hasText: 'step 1 ' }).locator('.delete-saved').click();
  await page.waitForFunction(() => window.nnlab.kept.list.value.length === 1, null, { timeout: 30_000 });
  const left = await page.evaluate(() => window.nnlab.kept.list.value.map((m) => m.name));
  await shot(page, 'saved-list');
  record('saved sessions are listed, renamed, reopened at their step and deleted',
    reopened.report.params === 114 && left.length === 1 && left[0] === 'my spiral', `reopened at step ${reopened.metrics.step}; left: ${JSON.stringify(left)}`);
  await page.context().close();
}
