// Drives the benchmark page (bench/page, served with nnlab's wasm and the
// TF.js bundles) in headless Chromium: every workload for every contender in
// one browser run, then a table, the nnlab / TF.js ratios and a JSON file.
//   BENCH_URL=http://127.0.0.1:PORT/ node bench/run.mjs
// Env: BENCH_URL (required), BENCH_JSON (output path), BENCH_ONLY (groups, e.g. W1,W5),
//      BENCH_CONTENDERS (e.g. nnlab-webgpu,tfjs-webgpu), CHROMIUM (browser binary),
//      BENCH_PROFILE=1 (instead: nnlab's GPU time per kernel for each training workload).
import { chromium } from 'playwright-core';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const url = process.env.BENCH_URL;
// The same page without the cross-origin isolation headers: what runs there
// is single-threaded (TF.js's wasm backend included).
const plainUrl = process.env.BENCH_PLAIN_URL || url;
if (!url) {
  console.error('Set BENCH_URL to the address serving the benchmark page');
  process.exit(2);
}
const only = process.env.BENCH_ONLY ? process.env.BENCH_ONLY.split(',') : null;
const WORKLOADS = [['mlp-spiral', 'W1'], ['cnn-28', 'W2'], ['lstm-seq', 'W3'], ['transformer-block', 'W4'],
  ['matmul-256', 'W5'], ['matmul-512', 'W5'], ['matmul-1024', 'W5']].filter(([, g]) => !only || only.includes(g));
const picked = process.env.BENCH_CONTENDERS ? process.env.BENCH_CONTENDERS.split(',') : null;
// [contender, backend, isolated page?, name]. nnlab-cpu runs the single-threaded
// build the page loads un-isolated (relaxed SIMD where the browser has it),
// nnlab-cpu-simd128 the plain one, nnlab-cpu-threads the threaded build;
// tfjs-wasm runs un-isolated (one thread), tfjs-wasm-threads isolated (its pool).
const CONTENDERS = [['nnlab', 'webgpu'], ['tfjs', 'webgpu'], ['nnlab', 'cpu'], ['nnlab', 'cpu-simd128'], ['tfjs', 'wasm'], ['tfjs', 'cpu'],
  ['nnlab', 'cpu-threads', true], ['tfjs', 'wasm', true]]
  .map(([c, b, isolated = false]) => [c, b, isolated, `${c}-${b}${isolated && c === 'tfjs' ? '-threads' : ''}`])
  .filter(([, , , name]) => !picked || picked.includes(name));

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader', '--disable-vulkan-surface'],
});
const version = browser.version();
if (process.env.BENCH_PROFILE) {
  for (const [workload, group] of WORKLOADS.filter(([, g]) => g !== 'W5')) {
    const page = await browser.newPage();
    page.setDefaultTimeout(300_000);
    await page.goto(url);
    await page.waitForFunction(() => document.body.dataset.ready === 'yes');
    const rows = await page.evaluate((w) => window.profileBench({ workload: w }), workload);
    const total = rows.reduce((s, r) => s + r[2], 0);
    console.log(`\n${group} ${workload} on WebGPU (${version}), each dispatch timed alone: ${total.toFixed(1)} ms`);
    for (const [name, count, ms] of rows) console.log(`  ${name.padEnd(24)} ${String(count).padStart(5)} x  ${ms.toFixed(1).padStart(8)} ms`);
    await page.close();
  }
  await browser.close();
  process.exit(0);
}
const rows = [];
for (const [workload, group] of WORKLOADS) {
  for (const [contender, backend, isolated, label] of CONTENDERS) {
    const name = `${label} ${group} ${workload}`;
    // A fresh page per run: no state (or GPU memory) carries over between contenders.
    const page = await browser.newPage();
    page.setDefaultTimeout(300_000);
    try {
      await page.goto(isolated ? url : plainUrl);
      await page.waitForFunction(() => document.body.dataset.ready === 'yes');
      const row = { label, ...(await page.evaluate((job) => window.runBench(job), { contender, backend, workload })) };
      rows.push(row);
      const gf = row.gflops ? `, ${row.gflops.sync.toFixed(2)} / ${row.gflops.async.toFixed(2)} GFLOPS` : '';
      console.log(`${name}: ${row.sync.median.toFixed(3)} / ${row.async.median.toFixed(3)} ms/step (sync / async), N=${row.steps}${gf}`);
    } catch (e) {
      const error = String(e.message || e).split('\n')[0];
      rows.push({ label, contender, backend, workload, group, error });
      console.log(`${name}: not run: ${error}`);
    } finally {
      await page.close();
    }
  }
}
await browser.close();

const fmt = (ms) => `${ms.toFixed(3)} (${(1000 / ms).toFixed(ms < 10 ? 0 : 2)})`;
console.log(`\nHeadless ${version}, median ms/step (steps/s) over 3 repeats\n`);
console.log('| contender | threads | workload | N | first step ms | sync | async | GFLOPS sync / async |');
console.log('| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) {
  if (r.error) {
    console.log(`| ${r.label} | | ${r.group} ${r.workload} | | | ${r.error} | | |`);
    continue;
  }
  const gf = r.gflops ? `${r.gflops.sync.toFixed(2)} / ${r.gflops.async.toFixed(2)}` : '';
  console.log(`| ${r.label} | ${r.threads} | ${r.group} ${r.workload} | ${r.steps} | ${r.firstStepMs.toFixed(1)} | ${fmt(r.sync.median)} | ${fmt(r.async.median)} | ${gf} |`);
}

// Speed-ups: nnlab's WebGPU path against TF.js's; nnlab's CPU path against
// TF.js's best CPU-side backend, one thread against one thread (un-isolated)
// and the pools against each other (isolated, the same thread count).
const find = (label, w) => rows.find((r) => r.label === label && r.workload === w && !r.error);
const ratio = (theirs, ours, mode) => (ours && theirs ? (theirs[mode].median / ours[mode].median).toFixed(1) + 'x' : 'n/a');
const both = ([theirs, ours]) => `${ratio(theirs, ours, 'sync')} / ${ratio(theirs, ours, 'async')}`;
const fastest = (w, ...labels) => labels.map((l) => find(l, w)).filter(Boolean).sort((a, b) => a.sync.median - b.sync.median)[0];
console.log('\n| workload | nnlab-webgpu vs tfjs-webgpu | nnlab-cpu vs best of tfjs-wasm, tfjs-cpu (1 thread) | nnlab-cpu-simd128 vs the same | nnlab-cpu-threads vs best of tfjs-wasm-threads, tfjs-cpu |');
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const [w, group] of WORKLOADS) {
  const single = fastest(w, 'tfjs-wasm', 'tfjs-cpu');
  const pooled = fastest(w, 'tfjs-wasm-threads', 'tfjs-cpu');
  console.log(`| ${group} ${w} | ${both([find('tfjs-webgpu', w), find('nnlab-webgpu', w)])} | ${both([single, find('nnlab-cpu', w)])}${single ? ` (${single.label})` : ''} | ${both([single, find('nnlab-cpu-simd128', w)])} | ${both([pooled, find('nnlab-cpu-threads', w)])}${pooled ? ` (${pooled.label})` : ''} |`);
}
console.log('\n(sync / async in every cell)');

const out = process.env.BENCH_JSON;
if (out) {
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify({ browser: version, rows }, null, 2));
  console.log(`\nwrote ${out}`);
}
