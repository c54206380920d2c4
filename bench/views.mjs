// What the inspection views cost the training: steps per second of presets
// in the lab page with every view open against every view folded (a folded
// view asks for nothing), on the CPU and WebGPU backends, alternating the two
// so drift hits both alike.
//   VIEWS_URL=http://127.0.0.1:PORT/ node bench/views.mjs   (cargo xtask bench --views serves the site)
// Env: VIEWS_URL (required), VIEWS_SECONDS (measured seconds per run, default 20),
//      VIEWS_WARMUP (seconds of training before measuring, default 10: the first
//      inspections compile their kernels), VIEWS_ONLY (e.g. digits-cnn/webgpu),
//      VIEWS_JSON (output path), CHROMIUM (browser binary).
import { chromium } from 'playwright-core';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const url = process.env.VIEWS_URL;
if (!url) {
  console.error('Set VIEWS_URL to the address serving www-dist');
  process.exit(2);
}
const SECONDS = Number(process.env.VIEWS_SECONDS || 20);
const WARMUP = Number(process.env.VIEWS_WARMUP || 10);
const CASES = [['digits-cnn', 'cpu'], ['digits-cnn', 'webgpu'], ['copy-transformer', 'cpu'], ['adding-lstm', 'cpu'], ['playground-spiral', 'cpu']]
  .filter(([p, b]) => !process.env.VIEWS_ONLY || process.env.VIEWS_ONLY.split(',').includes(`${p}/${b}`));
const registry = readFileSync(new URL('../www/viz/registry.js', import.meta.url), 'utf8');
const ALL_VIEWS = registry.match(/export const VIEWS = \[([^\]]+)\]/)[1].split(',').map((s) => s.trim());

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader', '--disable-vulkan-surface'],
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Steps per second of `preset` with the views open or folded.
async function rate(preset, backend, folded) {
  const spec = JSON.parse(readFileSync(new URL(`../models/${preset}.json`, import.meta.url), 'utf8'));
  spec.training = { ...spec.training, steps: 10_000_000 };
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${url}#spec=${encodeURIComponent(JSON.stringify(spec))}&backend=${backend}${folded ? `&closed=${ALL_VIEWS.join(',')}` : ''}`);
  await page.waitForFunction(() => window.nnlab?.run.status.value === 'ready', null, { timeout: 120_000 });
  const open = await page.evaluate(() => document.querySelectorAll('.view:not(.folded)').length);
  // The step shown between metrics events is stale (they come rarer when
  // the inspection costs more): count exact steps between two pauses.
  const pause = () => page.evaluate(async () => {
    const { lab, run } = window.nnlab;
    const time = performance.now();
    await lab.pause();
    await new Promise((resolve) => { const check = () => (run.status.value === 'ready' && !run.metrics.value.sampled ? resolve() : setTimeout(check, 20)); check(); });
    return { time, step: run.metrics.value.step };
  });
  const play = () => page.evaluate(async () => { await window.nnlab.lab.play(); return performance.now(); });
  await play();
  await sleep(WARMUP * 1000);
  const a = await pause();
  const start = await play();
  await sleep(SECONDS * 1000);
  const b = await pause();
  await page.close();
  return { stepsPerSec: ((b.step - a.step) * 1000) / (b.time - start), open };
}

const rows = [];
for (const [preset, backend] of CASES) {
  const runs = { open: [], folded: [] };
  let views = 0;
  for (const folded of [false, true, true, false]) {
    const r = await rate(preset, backend, folded);
    runs[folded ? 'folded' : 'open'].push(r.stepsPerSec);
    if (!folded) views = r.open;
  }
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const row = { preset, backend, views, open: mean(runs.open), folded: mean(runs.folded) };
  row.ratio = row.open / row.folded;
  rows.push(row);
  console.log(`${preset.padEnd(18)} ${backend.padEnd(7)} ${String(views).padStart(2)} views open: ${row.open.toFixed(1).padStart(8)} steps/s; all folded: ${row.folded.toFixed(1).padStart(8)} steps/s; ${(100 * row.ratio).toFixed(1)}%`);
}
await browser.close();
const out = process.env.VIEWS_JSON || 'target/bench/views.json';
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({ browser: browser.version(), seconds: SECONDS, rows }, null, 2));
