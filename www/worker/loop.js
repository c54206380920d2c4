// The training loop of one session: chunks of steps sized to about
// CHUNK_MS each, a task boundary between chunks (so pause and other requests
// get in), metrics (with what the open inspection views watch) at most every
// METRICS_MS and never more than a tenth of the time (evaluating a larger
// model on its whole dataset can take longer than many steps), a host snapshot of the state
// every SNAPSHOT_MS on the GPU, and the fall-back to the CPU when the GPU is
// lost. Every wasm call goes through `serial`, the worker's one queue.
import { toFailure } from '../shared/protocol.js';

const CHUNK_MS = 40;
const METRICS_MS = 200;
const SNAPSHOT_MS = 1000;
const GRID_RES = 50;
// While training (and when an untrained model opens), metrics come from a
// fixed sample of each split; on pause, at the end of the budget and after
// Step, from the whole sets.
export const SAMPLE = 512;

// Chained promises only yield to microtasks; a real task boundary lets
// messages in between two training chunks.
const tick = new MessageChannel();
const nextTask = () => new Promise((resolve) => { tick.port1.onmessage = resolve; tick.port2.postMessage(null); });

export class Run {
  constructor({ id, session, serial, post, planar, budget, watch }) {
    this.id = id;
    this.session = session;
    this.serial = serial;
    this.post = (event, data, transfer) => post({ event, session: id, ...data }, transfer);
    this.planar = planar;        // a model of 2D points: send the decision grid with the metrics
    this.watch = watch;          // an inspection request to answer with every metrics event, or null
    // The spec's training.steps: Play stops there once, then goes on.
    this.budget = session.step >= budget ? Infinity : budget;
    this.playing = false;
    this.loop = 0;               // bumped by play/pause so a stale loop stops itself
    this.chunk = 1;
    this.lastMetricsAt = 0;
    this.metricsCost = 0;        // ms the last metrics took
    this.lastSnapshotAt = 0;
    this.rate = null;            // {step, time} at the start of the current rate window
    this.stats = { stepsPerSec: null, msPerStep: null };
    this.closed = false;
  }

  get backend() {
    return this.session.backend;
  }

  play() {
    if (this.playing || this.closed) return;
    this.playing = true;
    this.rate = null;
    const id = ++this.loop;
    this.post('playing', { playing: true });
    this.serial(() => this.trainChunk(id));
  }

  // Stops the loop; unless `quiet`, the numbers on the whole sets follow.
  pause({ quiet = false } = {}) {
    this.loop += 1;
    if (!this.playing) return;
    this.playing = false;
    this.post('playing', { playing: false });
    if (!quiet && !this.closed) this.serial(() => this.sendMetrics()).catch((e) => this.failed(e));
  }

  close() {
    this.pause({ quiet: true });
    this.closed = true;
    this.session.free();
  }

  // `n` steps at once (the Step button), then fresh metrics.
  async step(n) {
    this.pause({ quiet: true });
    this.session.train(n);
    await this.sendMetrics();
  }

  async trainChunk(id) {
    if (!this.playing || id !== this.loop || this.closed) return;
    try {
      const left = this.budget - this.session.step;
      if (left <= 0) {
        this.budget = Infinity;
        this.post('budget', { step: this.session.step });
        this.pause();
        return;
      }
      const steps = Math.min(this.chunk, left);
      const start = performance.now();
      this.session.train(steps);
      // On WebGPU, train() only records work: wait for it so the chunk is timed.
      if (this.backend === 'webgpu') await this.session.sync();
      const took = Math.max(performance.now() - start, 0.05);
      this.stats.msPerStep = took / steps;
      if (steps === this.chunk) this.chunk = Math.round(Math.min(2000, Math.max(1, steps * Math.min(2, Math.max(0.5, CHUNK_MS / took)))));
      if (performance.now() - this.lastMetricsAt >= Math.max(METRICS_MS, 9 * this.metricsCost)) await this.sendMetrics(SAMPLE);
      if (this.backend === 'webgpu' && performance.now() - this.lastSnapshotAt >= SNAPSHOT_MS) {
        await this.session.snapshot();
        this.lastSnapshotAt = performance.now();
      }
    } catch (e) {
      await this.failed(e);
      return;
    }
    await nextTask();
    this.serial(() => this.trainChunk(id));
  }

  async sendMetrics(limit) {
    const { data, transfer } = await this.collectMetrics(limit);
    this.post('metrics', data, transfer);
  }

  // Metrics, throughput and (for 2D models) the decision grid, with the
  // buffers to transfer.
  async collectMetrics(limit) {
    const began = performance.now();
    const m = await this.session.metrics(limit);
    const now = performance.now();
    if (this.playing) {
      if (!this.rate) this.rate = { step: m.step, time: now };
      else if (now - this.rate.time >= 500) {
        this.stats.stepsPerSec = ((m.step - this.rate.step) * 1000) / (now - this.rate.time);
        this.rate = { step: m.step, time: now };
      }
    }
    if (this.stats.stepsPerSec == null && this.stats.msPerStep) this.stats.stepsPerSec = 1000 / this.stats.msPerStep;
    const data = { ...m, ...this.stats, sampled: limit != null, playing: this.playing };
    const transfer = [];
    if (this.planar) {
      // Copied so the transfer never detaches memory owned by wasm.
      data.grid = new Float32Array(await this.session.grid(GRID_RES));
      data.gridRes = GRID_RES;
      transfer.push(data.grid.buffer);
    }
    if (this.watch) {
      // A view that cannot be computed (an example the data no longer has)
      // must not stop training.
      try {
        data.inspection = await this.session.inspect(limit == null ? this.watch : { ...this.watch, limit });
      } catch (e) {
        data.inspectionError = toFailure(e);
      }
    }
    this.lastMetricsAt = performance.now();
    // Only the sampled metrics of training pace the loop: the full ones come
    // on pause, and those of an opening model include its kernels' first
    // compilation.
    if (limit != null && this.playing) this.metricsCost = this.lastMetricsAt - began;
    return { data, transfer };
  }

  // A failure while training: a lost GPU moves the run to the CPU (from the
  // last snapshot); anything else stops training and keeps the model.
  async failed(e) {
    const failure = toFailure(e);
    const wasPlaying = this.playing;
    this.pause({ quiet: true });
    if (failure.kind === 'device_lost' && !this.closed) {
      try {
        const step = await this.session.fallBackToCpu();
        this.post('backend', { backend: 'cpu', note: `The GPU was lost (${failure.message}); training continues on the CPU (WebAssembly) from step ${step}, the last saved copy of the weights.` });
        await this.sendMetrics();
        if (wasPlaying) this.play();
        return;
      } catch (again) {
        this.post('error', { error: toFailure(again) });
        return;
      }
    }
    this.post('error', { error: failure });
  }
}
