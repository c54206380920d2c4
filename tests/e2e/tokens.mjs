// The token-by-token view: a sequence model fed one token per click, its
// layers' states carried by the worker from one call to the next. The last
// output equals the whole sequence's (in the page and natively), typed
// tokens are the ones fed, training and a backend switch run the tokens
// again on the new weights, and models that need the whole sequence don't
// offer the view.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open, until, ready, record, sleep, dir, nnlab } from './harness.mjs';

const VIEW = '[data-view="tokens"]';
const status = (page) => page.evaluate((v) => {
  const s = document.querySelector(`${v} .token-status`);
  return s && { text: s.textContent, position: Number(s.dataset.position), step: s.dataset.step, difference: s.dataset.difference, output: s.dataset.output ? s.dataset.output.split(',').map(Number) : [] };
}, VIEW);

// Waits until the view's status satisfies `test`.
async function statusUntil(page, test, what, timeout = 60_000) {
  const start = Date.now();
  let s = null;
  while (Date.now() - start < timeout) {
    s = await status(page);
    if (s && test(s)) return s;
    await sleep(100);
  }
  throw new Error(`${what}: timed out (status ${JSON.stringify(s)})`);
}

// The native prediction for test example `index` of the page's current run.
function nativePrediction(bytes, index) {
  const file = join(mkdtempSync(join(tmpdir(), 'nnlab-tokens-')), 'run.safetensors');
  writeFileSync(file, Buffer.from(bytes));
  const out = JSON.parse(nnlab(['inspect', file, JSON.stringify({ predictions: true })], { encoding: 'utf8', maxBuffer: 1 << 28 }));
  const per = out.predictions.outputs.length / out.predictions.count;
  return out.predictions.outputs.slice(index * per, (index + 1) * per);
}

const near = (a, b, tol = 1e-4) => a.length === b.length && a.every((v, i) => Math.abs(v - b[i]) <= tol * Math.max(1, Math.abs(b[i])));

export async function tokenByToken(browser) {
  // adding-lstm on the CPU: three clicks at once, then the rest.
  const page = await open(browser, '#preset=adding-lstm&backend=cpu&example=2');
  await ready(page, 'adding-lstm');
  await page.evaluate(() => window.nnlab.lab.step(40));
  await until(page, (s) => s.metrics?.step === 40, { what: 'training 40 steps' });
  const next = page.locator(`${VIEW} button.next-token`);
  await next.scrollIntoViewIfNeeded();
  // Clicks faster than the worker answers queue up: every one is one token,
  // the next of the example (the first click's call is still on its way when
  // the other three come: all four in one task).
  await next.evaluate((button) => { for (let k = 0; k < 4; k++) button.click(); });
  let s = await statusUntil(page, (x) => x.position >= 4, 'four tokens');
  await sleep(300);
  s = await status(page);
  const label = await page.locator(`${VIEW} .state-label`).first().textContent();
  record('adding-lstm: four quick clicks feed four tokens; the LSTM carries h and c (64 numbers) between calls', s.position === 4 && /layers\[0\] · lstm: 64 numbers/.test(label), `${s.position} tokens after 4 clicks; ${label}`);
  await page.locator(`${VIEW} button.feed-rest`).click();
  s = await statusUntil(page, (x) => x.position === 20 && x.difference !== undefined, 'the whole example');
  const bytes = await page.evaluate(async () => Array.from((await window.nnlab.lab.saveFile(null)).bytes));
  const native = nativePrediction(bytes, 2);
  record('adding-lstm: after all 20 tokens the output is the whole sequence\'s, in the page and natively',
    Number(s.difference) < 1e-5 && near(s.output, native), `difference ${s.difference}; page ${s.output}, native ${native}`);
  await page.locator(VIEW).screenshot({ path: `${dir}/view-tokens-adding-lstm.png` }).catch(() => {});

  // Training moves the weights: the tokens fed run again on them.
  const before = s.output;
  await page.evaluate(() => window.nnlab.lab.step(30));
  s = await statusUntil(page, (x) => x.step === '70' && x.position === 20, 'the tokens again after training');
  const again = await page.evaluate(async () => Array.from(await window.nnlab.lab.predict(new Float32Array(window.nnlab.run.dataset.value.test.x.subarray(2 * 40, 3 * 40)), 1)));
  record('adding-lstm: after 30 more steps the 20 tokens run again on the new weights (and still end where the whole sequence does)',
    !near(s.output, before, 1e-7) && near(s.output, again), `step ${s.step}: ${before} → ${s.output}; whole ${again}`);
  await page.context().close();

  // parity-gru: bits typed in are the bits fed.
  const gru = await open(browser, '#preset=parity-gru&backend=cpu');
  await ready(gru, 'parity-gru');
  const bits = [1, 0, 1, 1, 1];
  const box = gru.locator(`${VIEW} input.token-value`);
  await box.scrollIntoViewIfNeeded();
  for (const b of bits) {
    const position = (await status(gru)).position;
    await box.fill(String(b));
    await gru.locator(`${VIEW} button.next-token`).click();
    await statusUntil(gru, (x) => x.position === position + 1, `typed bit ${b}`);
  }
  s = await status(gru);
  const typed = await gru.evaluate(async (bits) => Array.from(await window.nnlab.lab.predict(new Float32Array(bits), 1)), bits);
  record('parity-gru: five bits typed in, one per click: the output is the model\'s for the string 10111', near(s.output, typed, 1e-4), `token by token ${s.output}, whole ${typed}`);
  await gru.context().close();

  // adding-aaren on WebGPU, then on the CPU: the carried states follow the run.
  const aaren = await open(browser, '#preset=adding-aaren&backend=webgpu&example=1');
  await ready(aaren, 'adding-aaren');
  const aNext = aaren.locator(`${VIEW} button.next-token`);
  await aNext.scrollIntoViewIfNeeded();
  for (let k = 1; k <= 5; k++) {
    await aNext.click();
    await statusUntil(aaren, (x) => x.position === k, `token ${k} on WebGPU`);
  }
  const labels = await aaren.locator(`${VIEW} .state-label`).allTextContents();
  await aaren.selectOption('#backend', 'cpu');
  await until(aaren, (x) => x.backend === 'cpu', { what: 'the switch to the CPU' });
  await aNext.click();
  await statusUntil(aaren, (x) => x.position === 6, 'token 6 on the CPU');
  await aaren.locator(`${VIEW} button.feed-rest`).click();
  s = await statusUntil(aaren, (x) => x.position === 20 && x.difference !== undefined, 'the rest on the CPU');
  record('adding-aaren: 5 tokens on WebGPU, the backend switched to the CPU, the rest there: the whole sequence\'s output',
    Number(s.difference) < 1e-4 && labels.length === 2 && labels.every((l) => /aaren: 34 numbers/.test(l)), `difference ${s.difference}; ${labels.join(' | ')}`);
  await aaren.context().close();

  // A narrow screen, and a model that needs the whole sequence.
  const phone = await open(browser, '#preset=sine-s4d&backend=cpu', { width: 375 });
  await ready(phone, 'sine-s4d');
  await phone.locator(`${VIEW} button.feed-rest`).scrollIntoViewIfNeeded();
  await phone.locator(`${VIEW} button.feed-rest`).click();
  s = await statusUntil(phone, (x) => x.position === 32, 'sine-s4d at 375 px');
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  record('sine-s4d at 375 px: the view fits the screen and ends where the whole sequence does', overflow <= 0 && Number(s.difference) < 1e-4, `overflow ${overflow}px, difference ${s.difference}`);
  await phone.locator(VIEW).screenshot({ path: `${dir}/view-tokens-375.png` }).catch(() => {});
  await phone.context().close();

  // Causal attention keeps every token: its state grows by a token's width.
  const causal = {
    name: 'causal-adding', seed: 3, input: [20, 2],
    layers: [{ type: 'linear', out: 16 }, { type: 'positional_encoding', kind: 'sinusoidal', maxLen: 32 }, { type: 'transformer_encoder', heads: 2, ff: 32, causal: true }, { type: 'last_step' }, { type: 'linear', out: 1 }],
    data: { name: 'adding', samples: 200, length: 20 }, loss: { name: 'mse' }, training: { batchSize: 16, steps: 100 },
  };
  const attn = await open(browser, `#spec=${encodeURIComponent(JSON.stringify(causal))}&backend=cpu`);
  await ready(attn, 'a causal transformer');
  const tNext = attn.locator(`${VIEW} button.next-token`);
  await tNext.scrollIntoViewIfNeeded();
  for (let k = 1; k <= 3; k++) {
    await tNext.click();
    await statusUntil(attn, (x) => x.position === k, `token ${k} through causal attention`);
  }
  const grows = await attn.locator(`${VIEW} .state-label`).first().textContent();
  await attn.locator(`${VIEW} button.feed-rest`).click();
  s = await statusUntil(attn, (x) => x.position === 20 && x.difference !== undefined, 'the rest through causal attention');
  record('a causal transformer: its state is every token so far (3 x 16 numbers after 3 tokens, growing), and the last output is the whole sequence\'s',
    /layers\[2\] · transformer_encoder: 48 numbers, growing with every token/.test(grows) && Number(s.difference) < 1e-4, `${grows}; difference ${s.difference}`);
  await attn.context().close();

  const copy = await open(browser, '#preset=copy-transformer&backend=cpu');
  await ready(copy, 'copy-transformer');
  const offered = await copy.evaluate(() => ({ view: !!document.querySelector('[data-view="tokens"]'), why: window.nnlab.run.report.value.tokens.reason }));
  record('copy-transformer (non-causal attention) does not offer the view, and the report says why', !offered.view && /attend to later ones/.test(offered.why), offered.why);
  await copy.context().close();
}

// Firefox ESR (the CPU fallback browser): the whole test example fed at once
// ends where the whole sequence does.
export async function tokensFirefox(firefox) {
  const page = await open(firefox, '#preset=parity-gru&backend=cpu&example=3');
  await until(page, (x) => x.status === 'ready', { what: 'parity-gru in Firefox ESR' });
  await page.box(`${VIEW} button.feed-rest`);
  await page.click(`${VIEW} button.feed-rest`);
  const s = await statusUntil(page, (x) => x.position === 5 && x.difference !== undefined, 'the example in Firefox ESR');
  record('Firefox ESR: parity-gru token by token ends where the whole sequence does', Number(s.difference) < 1e-5, `difference ${s.difference}, output ${s.output}`);
  await page.context().close();
}
