// All UI settings live in one plain object, mirrored to the URL hash so that a
// setup can be shared as a link. Parsing never throws: anything unknown or
// garbled falls back to the default for that field.

export const DATASETS = {
  circle: 'Circle',
  xor: 'Exclusive or',
  gauss: 'Two Gaussians',
  spiral: 'Spiral',
  'reg-plane': 'Plane (regression)',
  'reg-gauss': 'Multi-Gaussian (regression)',
};
export const ACTIVATIONS = { tanh: 'Tanh', relu: 'ReLU', sigmoid: 'Sigmoid', linear: 'Linear' };
export const OPTIMIZERS = { adam: 'Adam', sgd: 'SGD (momentum 0.9)' };
export const BACKENDS = { webgpu: 'WebGPU', cpu: 'CPU' };
export const MAX_LAYERS = 6;

export const DEFAULTS = Object.freeze({
  dataset: 'spiral', noise: 10, trainRatio: 50, batchSize: 32, learningRate: 0.03,
  activation: 'tanh', optimizer: 'adam', hidden: Object.freeze([8, 8]), backend: 'webgpu', seed: 1,
});

const oneOf = (labels) => (text) => (Object.hasOwn(labels, text) ? text : undefined);

// Sliders are clamped to their range; free-form fields keep any finite number
// so that the model's own validation can explain what is wrong with it.
const number = ({ min = -Infinity, max = Infinity, int = false } = {}) => (text) => {
  const n = text.trim() === '' ? NaN : Number(text);
  if (!Number.isFinite(n) || (int && !Number.isInteger(n))) return undefined;
  return Math.min(max, Math.max(min, n));
};

const layers = (text) => {
  if (text.trim() === '') return [];
  const counts = text.split(',').map(number({ int: true }));
  return counts.length <= MAX_LAYERS && counts.every((n) => n !== undefined) ? counts : undefined;
};

// Order here is the order of keys in the hash.
const PARSERS = {
  dataset: oneOf(DATASETS),
  noise: number({ min: 0, max: 50 }),
  trainRatio: number({ min: 10, max: 90 }),
  batchSize: number({ int: true }),
  learningRate: number(),
  activation: oneOf(ACTIVATIONS),
  optimizer: oneOf(OPTIMIZERS),
  hidden: layers,
  backend: oneOf(BACKENDS),
  seed: number({ int: true }),
};

export function defaults() {
  return { ...DEFAULTS, hidden: [...DEFAULTS.hidden] };
}

export function fromHash(hash) {
  const state = defaults();
  const params = new URLSearchParams(String(hash).replace(/^#/, ''));
  for (const [key, parse] of Object.entries(PARSERS)) {
    const text = params.get(key);
    const value = text === null ? undefined : parse(text);
    if (value !== undefined) state[key] = value;
  }
  return state;
}

export function toHash(state) {
  // Commas stay literal so that "hidden=8,8" reads as written.
  const enc = (v) => encodeURIComponent(String(v)).replace(/%2C/gi, ',');
  return '#' + Object.keys(PARSERS).map((k) => `${k}=${enc(state[k])}`).join('&');
}

// The worker's config: sliders are percentages in the UI, fractions in the model.
export function toConfig(state) {
  return {
    dataset: state.dataset,
    noise: state.noise / 100,
    trainRatio: state.trainRatio / 100,
    numSamples: 500,
    seed: state.seed,
    hidden: [...state.hidden],
    activation: state.activation,
    learningRate: state.learningRate,
    batchSize: state.batchSize,
    optimizer: state.optimizer,
    momentum: 0.9,
  };
}

// Only catches values the config cannot even represent (blank fields, fractions,
// negative counts); range checks such as "batch size 0" are left to the model,
// which reports them in its own words.
export function inputProblem(state) {
  const count = (n) => Number.isInteger(n) && n >= 0;
  if (!count(state.batchSize)) return 'Batch size must be a whole number of 1 or more.';
  if (!Number.isFinite(state.learningRate)) return 'Learning rate must be a number, e.g. 0.03.';
  if (!state.hidden.every(count)) return 'Each hidden layer needs a whole number of neurons (1 to 16).';
  if (!count(state.seed) || state.seed > 0xffffffff) return 'Seed must be a whole number from 0 to 4294967295.';
  return null;
}
