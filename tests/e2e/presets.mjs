// Every preset trains in the page: opened from a link whose spec sets the
// step budget of the preset's check (models/presets.json), Play trains
// exactly that many steps and stops; then the metric must pass the bound.
import { readFileSync } from 'node:fs';
import { open, until, record, shot, longestTask, scenario } from './harness.mjs';

export const index = JSON.parse(readFileSync(new URL('../../models/presets.json', import.meta.url)));

const passes = (check, m) => (check.atLeast !== undefined ? m[check.metric] >= check.atLeast : m[check.metric] <= check.atMost);
const bound = (check) => `${check.metric} ${check.atLeast !== undefined ? `>= ${check.atLeast}` : `<= ${check.atMost}`}`;

// -> {name, backend, steps, seconds, value, passed, firstStepMs}
export async function trainPreset(browser, preset, backend, { timeout = 300_000 } = {}) {
  const spec = JSON.parse(readFileSync(new URL(`../../models/${preset.file}`, import.meta.url)));
  const check = backend === 'webgpu' && preset.check.webgpu ? { ...preset.check, ...preset.check.webgpu } : preset.check;
  spec.training = { ...spec.training, steps: check.steps };
  const name = spec.name;
  const what = `${name} on ${backend}`;
  const page = await open(browser, `#spec=${encodeURIComponent(JSON.stringify(spec))}&backend=${backend}`);
  try {
    const opened = await until(page, (s) => s.status === 'ready', { what });
    if (opened.backend !== backend) throw new Error(`${what}: the page trains on ${opened.backend} (${opened.note})`);
    const before = opened.metrics[check.metric];
    const start = Date.now();
    await page.evaluate(() => { window.__longTasks.length = 0; });
    await page.click('#play');
    await until(page, (s) => s.metrics?.step >= 1, { what, timeout });
    const firstStepMs = Date.now() - start;
    let rate = 0;
    const done = await until(page, (s) => {
      rate = Math.max(rate, s.metrics?.stepsPerSec ?? 0);
      return s.status === 'ready' && s.metrics.step === check.steps && !s.metrics.sampled;
    }, { what, timeout });
    const seconds = (Date.now() - start) / 1000;
    const m = done.metrics;
    await shot(page, `preset-${name}-${browser.firefox ? 'firefox-' : ''}${backend}`);
    const longest = await longestTask(page);
    record(`${name} trains in the page on ${browser.firefox ? 'Firefox, ' : ''}${backend} (${bound(check)} after ${check.steps} steps)`, passes(check, m),
      `${check.metric} ${before.toFixed(3)} -> ${m[check.metric].toFixed(3)} in ${seconds.toFixed(1)} s ` +
      `(up to ${rate.toFixed(0)} steps/s, first step shown ${firstStepMs} ms after Play, longest main-thread task while training ${longest.toFixed(0)} ms)`);
  } catch (e) {
    await shot(page, `preset-${name}-${browser.firefox ? 'firefox-' : ''}${backend}-failed`);
    record(`${name} trains in the page on ${browser.firefox ? 'Firefox, ' : ''}${backend}`, false, e.message);
  } finally {
    await page.context().close();
  }
}

// NNLAB_PRESETS=name,name limits the run to those presets.
const only = process.env.NNLAB_PRESETS?.split(',');

export async function everyPreset(browser, backend) {
  for (const preset of index.presets.filter((p) => !only || only.includes(p.file.replace('.json', '')))) {
    await scenario(`${preset.file} on ${backend}`, () => trainPreset(browser, preset, backend));
  }
}
