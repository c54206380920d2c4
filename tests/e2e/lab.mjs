// End-to-end checks of the lab page in headless Chromium (WebGPU on
// SwiftShader, and the CPU backend) and headless Firefox ESR (no WebGPU):
//   NNLAB_URL=http://127.0.0.1:8123/ node tests/e2e/lab.mjs [--only page,keep,inspect,tokens,pfn,experiments,cpu,webgpu,firefox]
// Env: NNLAB_URL (required), CHROMIUM and FIREFOX (browser binaries),
// SCREENSHOT_DIR (default target/e2e).
import { launch, launchFirefox, summary, scenario } from './harness.mjs';
import { everyPreset } from './presets.mjs';
import { reloadRestores, badImports, sharedLink, embedded, embedDialog, pytorchExport, exampleTutorial, storageFull, savedList } from './keep.mjs';
import { digitsViews, sequenceViews, drawADigit } from './inspect.mjs';
import { tokenByToken, tokensFirefox } from './tokens.mjs';
import { pfnView, pfnBadInput, pfnPhone, pfnFirefox, pfnClassification, pfnTrainOwn, pfnEmbedded } from './pfn.mjs';
import { experimentGallery, experimentCard, experimentMatchesNative, experimentPhone, experimentLeaveAndBadLink, experimentWebGpu, experimentFirefox } from './experiments.mjs';
import { builder, backendSwitch, lostDevice, links, typeThenClick, noWebGpu, phone, firefoxFallsBack, csvUpload, drawPoints, lossOptions, wasmBuilds, firefoxBuilds } from './page.mjs';

const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1].split(',') : null;
const wanted = (name) => !only || only.includes(name);

const browser = await launch();
if (wanted('page')) {
  await scenario('builder', () => builder(browser));
  await scenario('type then click', () => typeThenClick(browser));
  await scenario('backend switch', () => backendSwitch(browser));
  await scenario('lost device', () => lostDevice(browser));
  await scenario('links', () => links(browser));
  await scenario('csv upload', () => csvUpload(browser));
  await scenario('draw points', () => drawPoints(browser));
  await scenario('loss options', () => lossOptions(browser));
  await scenario('loss options on a phone', () => lossOptions(browser, 375));
  await scenario('phone', () => phone(browser));
  await scenario('no webgpu', () => noWebGpu());
  await scenario('wasm builds', () => wasmBuilds(browser));
}
if (wanted('keep')) {
  await scenario('reload restores', () => reloadRestores(browser, 'a reload restores the run: same step, curves back, and the next step\'s loss bit-exact (Chromium, CPU)'));
  await scenario('bad imports', () => badImports(browser));
  await scenario('storage full', () => storageFull(browser));
  await scenario('saved list', () => savedList(browser));
  await scenario('shared link', () => sharedLink(browser));
  await scenario('embedded', () => embedded(browser));
  await scenario('embed dialog', () => embedDialog(browser));
  await scenario('pytorch export', () => pytorchExport(browser));
  await scenario('example tutorial', () => exampleTutorial(browser));
}
if (wanted('inspect')) {
  await scenario('digits views', () => digitsViews(browser));
  await scenario('sequence views', () => sequenceViews(browser));
  await scenario('draw a digit', () => drawADigit(browser, 'drawing a 1 with the mouse: the trained digits CNN says 1, with the native probabilities (Chromium)'));
}
if (wanted('inspect') || wanted('tokens')) await scenario('token by token', () => tokenByToken(browser));
if (wanted('pfn')) {
  await scenario('pfn view', () => pfnView(browser));
  await scenario('pfn bad input', () => pfnBadInput(browser));
  await scenario('pfn phone', () => pfnPhone(browser));
  await scenario('pfn classification', () => pfnClassification(browser));
  await scenario('pfn train your own', () => pfnTrainOwn(browser));
  await scenario('pfn embedded', () => pfnEmbedded(browser));
}
if (wanted('experiments')) {
  await scenario('experiment gallery', () => experimentGallery(browser));
  await scenario('experiment card', () => experimentCard(browser));
  for (const card of ['rs2-subsets', 'gradual-pruning-rnn', 'signal-propagation']) await scenario(`experiment ${card}`, () => experimentMatchesNative(browser, card));
  // Training amplifies the last-bit differences between the WebAssembly and
  // the native build here: the checks must come out the same.
  for (const card of ['criticality', 'efficient-convbn']) await scenario(`experiment ${card}`, () => experimentMatchesNative(browser, card, { exact: false }));
  await scenario('experiment phone', () => experimentPhone(browser));
  await scenario('experiment leave and bad link', () => experimentLeaveAndBadLink(browser));
  await scenario('experiment on webgpu', () => experimentWebGpu(browser));
}
if (wanted('cpu')) await everyPreset(browser, 'cpu');
if (wanted('webgpu')) await everyPreset(browser, 'webgpu');
await browser.close();
if (wanted('firefox')) {
  const firefox = await launchFirefox();
  await scenario('firefox without WebGPU', () => firefoxFallsBack(firefox));
  await scenario('firefox wasm builds', () => firefoxBuilds(firefox));
  await scenario('firefox reload restores', () => reloadRestores(firefox, 'a reload restores the run bit-exactly in Firefox ESR (CPU, IndexedDB)'));
  if (wanted('pfn')) await scenario('firefox pfn view', () => pfnFirefox(firefox));
  if (wanted('experiments')) await scenario('firefox experiment card', () => experimentFirefox(firefox));
  if (wanted('inspect') || wanted('tokens')) await scenario('firefox token by token', () => tokensFirefox(firefox));
  if (wanted('inspect')) await scenario('firefox draw a digit', () => drawADigit(firefox, 'drawing a 1 with the mouse in Firefox ESR (CPU): the trained digits CNN says 1, with the native probabilities'));
  await everyPreset(firefox, 'cpu');
  await firefox.close();
}
process.exit(summary() ? 0 : 1);
