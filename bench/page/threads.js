// nnlab's threaded build for the benchmark, in a worker: while a product runs
// on the pool its caller blocks, which a page's main thread may not do (the
// lab runs it in its training worker for the same reason).
import init, { BenchRunner, initThreadPool } from './pkg-threads/nnlab_web.js';
import { measure } from './protocol.js';

onmessage = async ({ data: { workload, threads } }) => {
  try {
    await init();
    await initThreadPool(threads);
    const r = await BenchRunner.create(workload, 'cpu');
    const result = await measure({ step: () => r.step(), read: () => r.read() });
    postMessage({ checksum: r.checksum(), result });
  } catch (e) {
    postMessage({ error: String(e.message || e) });
  }
};
