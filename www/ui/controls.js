// Play/pause/step/reset, the backend choice, the run's numbers (always
// visible) and its messages.
import { html } from './html.js';
import { state, run, hidden, play, pause, step, reset, setBackend } from '../app/store.js';

const fixed = (x, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : '–');
const pct = (x) => (x == null ? '–' : `${(x * 100).toFixed(1)}%`);
const rate = (x) => (x == null ? '–' : x >= 100 ? Math.round(x).toLocaleString('en') : x.toFixed(1));

function Stat({ id, label, text, value }) {
  return html`<div><dt>${label}</dt><dd id=${id} data-value=${value ?? ''}>${text}</dd></div>`;
}

export function Controls() {
  const status = run.status.value;
  const playing = status === 'playing';
  const m = run.metrics.value;
  const batchSize = state.value?.spec?.training?.batchSize ?? 32;
  const h = hidden.value;
  return html`<section class="controls" aria-label="Training controls">
    ${!h.has('controls') && html`<div class="buttons">
      <button id="play" class="primary" onClick=${() => (playing ? pause() : play())}>${playing ? 'Pause' : 'Play'}</button>
      <button id="step" onClick=${step}>Step</button>
      <button id="reset" onClick=${reset}>Reset</button>
      <label class="field inline"><span>Backend</span>
        <select id="backend" value=${state.value?.backend ?? 'auto'} onChange=${(e) => setBackend(e.currentTarget.value)}>
          <option value="auto">auto (faster)</option><option value="webgpu">WebGPU</option><option value="cpu">CPU</option>
        </select></label>
      <span class="status" id="status" data-status=${status}>${{ loading: 'loading…', opening: 'building…', ready: 'ready', playing: 'training', error: 'stopped' }[status]}</span>
    </div>`}
    ${!h.has('stats') && html`<dl class="stats">
      <${Stat} id="step-count" label="Step" text=${m ? m.step.toLocaleString('en') : '0'} value=${m?.step ?? 0} />
      <${Stat} id="epoch" label="Epoch" text=${m ? m.epoch.toFixed(2) : '0'} value=${m?.epoch} />
      <${Stat} id="train-loss" label="Train loss" text=${fixed(m?.trainLoss)} value=${m?.trainLoss} />
      <${Stat} id="test-loss" label="Test loss" text=${fixed(m?.testLoss)} value=${m?.testLoss} />
      <${Stat} id="test-accuracy" label="Test accuracy" text=${pct(m?.testAccuracy)} value=${m?.testAccuracy} />
      <${Stat} id="steps-per-sec" label="Steps/s" text=${playing ? rate(m?.stepsPerSec) : '–'} value=${m?.stepsPerSec} />
      <${Stat} id="samples-per-sec" label="Samples/s" text=${playing && m?.stepsPerSec ? rate(m.stepsPerSec * batchSize) : '–'} value=${m?.stepsPerSec ? m.stepsPerSec * batchSize : ''} />
      <${Stat} id="ms-per-step" label="ms/step" text=${m?.msPerStep == null ? '–' : fixed(m.msPerStep, 2)} value=${m?.msPerStep} />
      <div><dt>Backend</dt><dd id="backend-used" title=${run.adapter.value ?? ''}>${run.backend.value ?? '–'}</dd></div>
    </dl>`}
    <${Message} />
  </section>`;
}

function Message() {
  const error = run.error.value;
  if (error) {
    const where = error.path ? `${error.path}: ` : '';
    return html`<div id="message" role="status" aria-live="polite" class="error">${where}${error.message}</div>`;
  }
  return html`<div id="message" role="status" aria-live="polite" class=${run.note.value ? 'notice' : ''}>${run.note.value}</div>`;
}
