// The benchmark page: runs one (contender, backend, workload) per call of
// window.runBench, under the protocol in protocol.js. bench/run.mjs drives it.
/* global tf */
import init, { BenchRunner } from './pkg/nnlab_web.js';
import { chooseBuild, initArgs } from './wasm.js';
import { WORKLOADS, measure, workloadData } from './protocol.js';
import { tfjsContender } from './tfjs.js';

// 'cpu' loads the build the page would (relaxed SIMD where the browser has it), 'cpu-simd128' the plain one.
async function nnlabContender(id, backend) {
  await init(initArgs(chooseBuild(backend === 'cpu-simd128' ? 'simd128' : null), new URL('./pkg/', location.href)));
  const r = await BenchRunner.create(id, backend === 'cpu-simd128' ? 'cpu' : backend);
  return { contender: { step: () => r.step(), read: () => r.read() }, checksum: r.checksum() };
}

// 'cpu-threads': the threaded build on a pool of navigator.hardwareConcurrency
// workers, measured inside a worker (bench/page/threads.js).
function nnlabThreaded(workload) {
  if (!self.crossOriginIsolated) return Promise.reject(new Error('the threaded build needs a cross-origin isolated page'));
  const worker = new Worker(new URL('./threads.js', location.href), { type: 'module' });
  return new Promise((resolve, reject) => {
    worker.onmessage = ({ data }) => (data.error ? reject(new Error(data.error)) : resolve(data));
    worker.onerror = (e) => reject(new Error(e.message));
    worker.postMessage({ workload, threads: navigator.hardwareConcurrency });
  }).finally(() => worker.terminate());
}

// 'wasm' is TF.js's wasm backend: threaded (its pool, one thread per core)
// where the page is cross-origin isolated, one thread elsewhere.
async function tfjsSetup(backend) {
  if (backend === 'wasm') {
    tf.wasm.setWasmPaths(new URL('./tfjs/', location.href).href);
    tf.wasm.setThreadsCount(navigator.hardwareConcurrency);
  }
  if (!(await tf.setBackend(backend))) throw new Error(`TF.js backend ${backend} is unavailable`);
  await tf.ready();
}

window.runBench = async ({ contender, backend, workload }) => {
  const spec = WORKLOADS[workload];
  if (!spec) throw new Error(`unknown workload ${workload}`);
  const data = workloadData(workload);
  let c, checksum = data.checksum, result;
  if (contender === 'nnlab' && backend === 'cpu-threads') {
    ({ checksum, result } = await nnlabThreaded(workload));
  } else if (contender === 'nnlab') {
    ({ contender: c, checksum } = await nnlabContender(workload, backend));
  } else {
    await tfjsSetup(backend);
    c = tfjsContender(workload, spec, data);
  }
  // Both contenders must train on the same inputs.
  if (Math.abs(checksum - data.checksum) > 1e-6 * Math.max(1, Math.abs(data.checksum))) {
    throw new Error(`data differ: nnlab's checksum ${checksum}, the page's ${data.checksum}`);
  }
  result ??= await measure(c);
  const gflops = spec.n ? (ms) => (2 * spec.n ** 3) / (ms / 1e3) / 1e9 : null;
  // TF.js sizes its pool when the module loads (half the logical cores, at
  // most 4), whatever setThreadsCount asks: report what it runs.
  const threads = backend === 'cpu-threads' ? navigator.hardwareConcurrency
    : backend === 'wasm' ? tf.wasm.getThreadsCount() : 1;
  return { contender, backend, workload, group: spec.group, threads, ...result,
    gflops: gflops && { sync: gflops(result.sync.median), async: gflops(result.async.median) } };
};
// Per-kernel GPU time of one recorded nnlab step on WebGPU: [[kernel, dispatches, ms], ...].
window.profileBench = async ({ workload }) => {
  await init();
  const r = await BenchRunner.create(workload, 'webgpu');
  for (let i = 0; i < 3; i++) { r.step(); await r.read(); }
  return r.profile();
};
document.body.dataset.ready = 'yes';
