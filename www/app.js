// Page controller: keeps the settings object, the URL hash and the controls in
// sync, talks to the training worker and draws what it reports.
import {
  DATASETS, ACTIVATIONS, OPTIMIZERS, BACKENDS, MAX_LAYERS, fromHash, toHash, toConfig, inputProblem,
} from './state.js';
import { drawBoundary, drawLossChart } from './charts.js';

const $ = (id) => document.getElementById(id);

// Control id -> settings key.
const FIELDS = {
  dataset: 'dataset', noise: 'noise', 'train-ratio': 'trainRatio', 'batch-size': 'batchSize',
  'learning-rate': 'learningRate', activation: 'activation', optimizer: 'optimizer', backend: 'backend', seed: 'seed',
};
const NUMERIC = new Set(['noise', 'trainRatio', 'batchSize', 'learningRate', 'seed']);
// A blank or unparsable number input reads as NaN so inputProblem() can name it.
const readNumber = (text) => (text.trim() === '' ? NaN : Number(text));

let state = fromHash(location.hash);
let gen = 0;            // id of the newest reset; worker messages about older sessions are ignored
let hasModel = false;   // the worker holds a session built from the current settings
let notice = '';        // non-error note from the worker (e.g. the CPU fallback), kept while training
let view = { grid: null, res: 0, data: null };
let losses = [];       // [{step, train, test}] for the loss chart
let rate = null;        // {step, time} sample for steps per second

const worker = new Worker('./worker.js', { type: 'module' });

function status() {
  return document.body.dataset.status;
}

function setStatus(s) {
  document.body.dataset.status = s;
  $('play').textContent = s === 'playing' ? 'Pause' : 'Play';
  $('play').disabled = $('step').disabled = !hasModel || s === 'loading';
  if (s !== 'playing') {
    rate = null;
    $('steps-per-sec').textContent = '–';
  }
}

function showMessage(text, kind = 'notice') {
  $('message').textContent = text || '';
  $('message').className = text ? kind : '';
}

// "invalid learningRate: the learning rate must be ..." names the settings field
// for programs; people read the reason.
function readable(message) {
  const m = /^invalid [\w.\[\]]+: (.*)$/s.exec(message);
  return m ? `Please check the settings: ${m[1]}.` : message;
}

function setStat(id, text, value) {
  $(id).textContent = text;
  $(id).dataset.value = value;
}

function showStats(m) {
  const loss = (x) => (Number.isFinite(x) ? x.toFixed(3) : '–');
  const acc = m?.testAccuracy;
  setStat('step-count', m ? m.step.toLocaleString('en') : '0', m ? m.step : 0);
  setStat('train-loss', loss(m?.trainLoss), m?.trainLoss ?? '');
  setStat('test-loss', loss(m?.testLoss), m?.testLoss ?? '');
  setStat('test-accuracy', acc == null ? '–' : `${(acc * 100).toFixed(1)}%`, acc ?? '');
}

// Drawing is coalesced to one per animation frame however fast metrics arrive.
let frame = 0;
function draw() {
  frame ||= requestAnimationFrame(() => {
    frame = 0;
    drawBoundary($('boundary'), view);
    drawLossChart($('loss-chart'), losses);
  });
}

function fillSelect(id, labels) {
  $(id).replaceChildren(...Object.entries(labels).map(([value, label]) => new Option(label, value)));
}

function renderLayers() {
  const rows = state.hidden.map((n, i) => {
    const label = document.createElement('label');
    const input = Object.assign(document.createElement('input'), { type: 'number', min: 0, max: 16, step: 1 });
    input.value = Number.isFinite(n) ? n : '';
    input.dataset.index = i;
    label.append(`Layer ${i + 1} neurons`, input);
    return label;
  });
  $('hidden-layers').replaceChildren(...rows);
  $('layer-count').textContent = state.hidden.length;
  $('add-layer').disabled = state.hidden.length >= MAX_LAYERS;
  $('remove-layer').disabled = state.hidden.length === 0;
}

function syncControls() {
  for (const [id, key] of Object.entries(FIELDS)) $(id).value = Number.isNaN(state[key]) ? '' : state[key];
  $('noise-value').textContent = state.noise;
  $('train-ratio-value').textContent = `${state.trainRatio}%`;
  renderLayers();
}

// Like TF Playground, any change of settings starts over with a fresh, paused model.
function reset() {
  gen += 1;
  hasModel = false;
  losses = [];
  view = { grid: null, res: 0, data: null };
  showStats(null);
  draw();
  worker.postMessage({ type: 'pause' });
  const problem = inputProblem(state);
  if (problem) {
    showMessage(problem, 'error');
    setStatus('error');
    return;
  }
  setStatus('loading');
  worker.postMessage({ type: 'reset', gen, config: toConfig(state), backend: state.backend });
}

function changed() {
  history.replaceState(null, '', toHash(state));
  reset();
}

function onMetrics(m) {
  if (status() === 'playing') {
    const now = performance.now();
    if (!rate) rate = { step: m.step, time: now };
    else if (now - rate.time >= 500) {
      $('steps-per-sec').textContent = Math.round(((m.step - rate.step) * 1000) / (now - rate.time)).toLocaleString('en');
      rate = { step: m.step, time: now };
    }
  }
  if (losses.length && losses[losses.length - 1].step === m.step) losses.pop();
  losses.push({ step: m.step, train: m.trainLoss, test: m.testLoss });
  // Halve the resolution of long runs so drawing stays cheap.
  if (losses.length > 1000) losses = losses.filter((_, i) => i % 2 === 0 || i === losses.length - 1);
  if (m.grid) view = { ...view, grid: m.grid, res: m.gridRes };
  showStats(m);
  draw();
}

worker.onmessage = ({ data: m }) => {
  if (m.gen !== gen) return;
  if (m.type === 'ready') {
    hasModel = true;
    notice = m.notice || '';
    view = { ...view, data: m.dataset };
    $('backend-used').textContent = m.backend;
    $('backend-used').title = m.adapter || '';
    showMessage(notice);
    setStatus('ready');
    draw();
  } else if (m.type === 'fallback') {
    // The GPU was lost; the worker carries on with the same model on the CPU.
    notice = m.notice;
    // Steps after the last snapshot are lost with the GPU: the curve resumes from there.
    losses = losses.filter((p) => p.step <= m.step);
    $('backend-used').textContent = m.backend;
    $('backend-used').title = '';
    showMessage(notice);
  } else if (m.type === 'metrics') {
    onMetrics(m);
  } else if (m.type === 'error') {
    console.error('nnlab:', m.message);
    showMessage(readable(m.message), 'error');
    setStatus('error');
  }
};

// For tests and for trying the fallback by hand: destroys the GPU device, as a
// driver reset would. Training continues on the CPU from the last snapshot.
window.nnlabTesting = { loseGpuDevice: () => worker.postMessage({ type: 'lose-device' }) };

worker.onerror = (e) => {
  const detail = e.message ? ` (${e.message})` : '';
  showMessage(`The training worker could not be started${detail}. Is pkg/nnlab_web.js being served?`, 'error');
  hasModel = false;
  setStatus('error');
};

fillSelect('dataset', DATASETS);
fillSelect('activation', ACTIVATIONS);
fillSelect('optimizer', OPTIMIZERS);
fillSelect('backend', BACKENDS);

for (const [id, key] of Object.entries(FIELDS)) {
  $(id).addEventListener('change', (e) => {
    state[key] = NUMERIC.has(key) ? readNumber(e.target.value) : e.target.value;
    changed();
  });
}
// Sliders show their value while dragging but only rebuild the model on release.
$('noise').addEventListener('input', (e) => { $('noise-value').textContent = e.target.value; });
$('train-ratio').addEventListener('input', (e) => { $('train-ratio-value').textContent = `${e.target.value}%`; });

$('hidden-layers').addEventListener('change', (e) => {
  const i = Number(e.target.dataset.index);
  if (!Number.isInteger(i)) return;
  state.hidden[i] = readNumber(e.target.value);
  changed();
});
$('add-layer').addEventListener('click', () => {
  if (state.hidden.length >= MAX_LAYERS) return;
  state.hidden.push(state.hidden.length ? state.hidden[state.hidden.length - 1] : 4);
  renderLayers();
  changed();
});
$('remove-layer').addEventListener('click', () => {
  state.hidden.pop();
  renderLayers();
  changed();
});

$('play').addEventListener('click', () => {
  if (status() === 'playing') {
    worker.postMessage({ type: 'pause' });
    setStatus('paused');
  } else {
    showMessage(notice);
    worker.postMessage({ type: 'play' });
    setStatus('playing');
  }
});
$('step').addEventListener('click', () => {
  worker.postMessage({ type: 'step' });
  if (status() === 'playing' || status() === 'error') setStatus('paused');
});
$('reset').addEventListener('click', reset);

// Editing the hash by hand (or following another tutorial link) loads that setup.
window.addEventListener('hashchange', () => {
  state = fromHash(location.hash);
  syncControls();
  changed();
});
window.addEventListener('resize', draw);

syncControls();
changed();
