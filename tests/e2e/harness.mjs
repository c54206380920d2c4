// What every end-to-end scenario needs: a browser with or without WebGPU, a
// page opened at a hash with its console watched, waits on the page's own
// state (window.nnlab.run, the signals the page renders from), and a record
// of passes and failures with a screenshot each.
import { chromium } from 'playwright-core';
import puppeteer from 'puppeteer-core';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';

export const url = process.env.NNLAB_URL;
// The same files served without the cross-origin isolation headers (a host
// that does not send them): the page runs the single-threaded build there.
export const plainUrl = process.env.NNLAB_PLAIN_URL;
if (!url) {
  console.error('Set NNLAB_URL to the address serving www-dist, e.g. http://127.0.0.1:8123/');
  process.exit(2);
}
export const dir = process.env.SCREENSHOT_DIR || 'target/e2e';
mkdirSync(dir, { recursive: true });

// The native CLI with `args`: the binary named by NNLAB_CLI (`cargo xtask
// test` passes the one its Rust tests just built), else through `cargo run`,
// which builds it first when the suite runs on its own.
export function nnlab(args, options = {}) {
  const cli = process.env.NNLAB_CLI;
  return cli ? execFileSync(cli, args, options) : execFileSync('cargo', ['run', '-q', '-p', 'nnlab-cli', '--', ...args], options);
}

const PANIC = /panicked at|RuntimeError: unreachable/;
export const results = [];
export const problems = { panics: [], pageErrors: [] };

export function record(name, ok, detail = '') {
  results.push({ name, ok });
  console.log(`${ok ? 'PASS' : 'FAIL'} ${name}${detail ? ` - ${detail}` : ''}`);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The spiral preset with a step budget no test reaches, so Play trains until
// paused (the preset's own 8,000 steps take under a second on a fast CPU).
const spiral = JSON.parse(readFileSync(new URL('../../models/playground-spiral.json', import.meta.url)));
export const longSpiral = (backend) => `#spec=${encodeURIComponent(JSON.stringify({ ...spiral, training: { ...spiral.training, steps: 10_000_000 } }))}&backend=${backend}`;

const BASE_FLAGS = ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];
const WEBGPU_FLAGS = ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader', '--disable-vulkan-surface'];

export function launch({ webgpu = true } = {}) {
  return chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
    args: webgpu ? [...BASE_FLAGS, ...WEBGPU_FLAGS] : BASE_FLAGS });
}

// Firefox ESR (no WebGPU: the browser the CPU fall-back is for), driven over
// WebDriver BiDi by Puppeteer; pages get the few Playwright methods the
// preset checks use.
export async function launchFirefox() {
  const raw = await puppeteer.launch({ browser: 'firefox', executablePath: process.env.FIREFOX || '/usr/bin/firefox-esr', headless: true });
  return { firefox: true, raw, close: () => raw.close() };
}

async function openFirefox(browser, hash, width, base) {
  const ctx = await browser.raw.createBrowserContext();
  const page = await ctx.newPage();
  await page.setViewport({ width, height: 900 });
  page.on('pageerror', (err) => problems.pageErrors.push(`firefox: ${err}`));
  page.on('console', (msg) => { if (PANIC.test(msg.text())) problems.panics.push(msg.text()); });
  await page.evaluateOnNewDocument(watchLongTasks);
  await page.goto(`${base}${hash}`);
  return {
    click: (selector) => page.click(selector),
    reload: () => page.reload(),
    evaluate: (fn, arg) => page.evaluate(fn, arg),
    screenshot: (options) => page.screenshot(options),
    context: () => ({ close: () => ctx.close() }),
    mouse: page.mouse,
    box: async (selector) => {
      const el = await page.$(selector);
      await el.scrollIntoView();
      return el.boundingBox();
    },
    firefox: true,
  };
}

function watchLongTasks() {
  window.__longTasks = [];
  try {
    new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__longTasks.push(e.duration); })
      .observe({ type: 'longtask', buffered: true });
  } catch {
    // Not every browser reports long tasks.
  }
}

// A fresh page (and, unless given one, a fresh profile) at `hash`.
export async function open(browser, hash, { width = 1280, context = null, base = url } = {}) {
  if (browser.firefox) return openFirefox(browser, hash, width, base);
  const ctx = context ?? await browser.newContext({ viewport: { width, height: 900 } });
  const page = await ctx.newPage();
  page.on('console', (msg) => { if (PANIC.test(msg.text())) problems.panics.push(msg.text()); });
  page.on('pageerror', (err) => {
    problems.pageErrors.push(String(err));
    if (PANIC.test(String(err))) problems.panics.push(String(err));
  });
  // Long tasks on the main thread (the page must stay responsive while training).
  await page.addInitScript(watchLongTasks);
  await page.goto(`${base}${hash}`);
  return page;
}

// Draws a stroke with the mouse through `points` ([x, y] as shares of the
// element's width and height), in Chromium and Firefox alike.
export async function drawStroke(page, selector, points) {
  let box;
  if (page.firefox) box = await page.box(selector);
  else {
    await page.locator(selector).scrollIntoViewIfNeeded();
    box = await page.locator(selector).boundingBox();
  }
  const at = ([x, y]) => [box.x + x * box.width, box.y + y * box.height];
  await page.mouse.move(...at(points[0]));
  await page.mouse.down();
  for (const p of points.slice(1)) await page.mouse.move(...at(p), { steps: 12 });
  await page.mouse.up();
}

// The page's run state: status, metrics, note, error, backend, report.
export function runState(page) {
  return page.evaluate(() => {
    const r = window.nnlab?.run;
    if (!r) return null;
    return { status: r.status.value, metrics: r.metrics.value && { ...r.metrics.value, grid: undefined },
      note: r.note.value, error: r.error.value, backend: r.backend.value, report: r.report.value,
      waiting: [...(window.nnlab.lab?.pending.values() ?? [])].map((p) => p.type) };
  });
}

// Waits until `test(runState)` holds; a run that stops with an error ends the wait.
export async function until(page, test, { timeout = 120_000, what = 'the page' } = {}) {
  const start = Date.now();
  let s = null;
  while (Date.now() - start < timeout) {
    s = await runState(page);
    if (s && test(s)) return s;
    if (s?.status === 'error') throw new Error(`${what}: stopped with ${s.error?.path ? `${s.error.path}: ` : ''}${s.error?.message}`);
    await sleep(200);
  }
  throw new Error(`${what}: timed out after ${timeout / 1000} s (status ${s?.status}, step ${s?.metrics?.step}, note ${JSON.stringify(s?.note)}, waiting on the worker for ${s?.waiting?.join(', ') || 'nothing'})`);
}

export const ready = (page, what) => until(page, (s) => s.status === 'ready', { what });

// Pauses through the API and waits until paused: on a fast machine a small
// preset may already have run all its steps, and the Play button would then
// start it again.
export async function pauseNow(page, what) {
  await page.evaluate(() => window.nnlab.lab.pause());
  return ready(page, what);
}

export function longestTask(page) {
  return page.evaluate(() => Math.max(0, ...window.__longTasks));
}

export async function shot(page, name) {
  await page.screenshot({ path: `${dir}/${name}.png`, fullPage: true }).catch(() => {});
}

// Runs one scenario: a failure is recorded, never thrown.
// A scenario that stops making progress (a promise the page never settles)
// fails after `limit` instead of stalling the whole run.
const SCENARIO_LIMIT = 15 * 60_000;

export async function scenario(name, fn, limit = SCENARIO_LIMIT) {
  let timer;
  const start = Date.now();
  const stalled = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`no result after ${limit / 60_000} minutes`)), limit); });
  try {
    await Promise.race([fn(), stalled]);
  } catch (e) {
    record(name, false, e.message);
  } finally {
    clearTimeout(timer);
    // Where the run's time goes (CI has a time limit).
    console.log(`  (${name}: ${((Date.now() - start) / 1000).toFixed(1)} s)`);
  }
}

// The text on the clipboard. Reading it needs the page focused (headless
// Chromium leaves the promise pending otherwise), so the page is brought to
// the front first, and a read that still does not settle is an error.
export async function readClipboard(page, timeout = 10_000) {
  await page.bringToFront();
  const read = page.evaluate(() => navigator.clipboard.readText());
  return Promise.race([read, sleep(timeout).then(() => { throw new Error(`the clipboard could not be read within ${timeout / 1000} s`); })]);
}

export function summary() {
  record('no wasm panic in any console', problems.panics.length === 0, problems.panics.slice(0, 3).join(' | '));
  record('no uncaught page errors', problems.pageErrors.length === 0, problems.pageErrors.slice(0, 3).join(' | '));
  const failed = results.filter((r) => !r.ok);
  console.log(`\n${results.length - failed.length}/${results.length} passed${failed.length ? `; failed: ${failed.map((r) => r.name).join(', ')}` : ''}`);
  return failed.length === 0;
}
