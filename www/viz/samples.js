// A preview of the dataset: images for [C, H, W] inputs (the digits),
// signals for [C, L] inputs (MNIST-1D), and sequences as a heatmap of
// features over time for [T, F] inputs, each with its target.
import { colour, css, prepare, element, absMax, drawCells } from './canvas.js';

const SHOW = 12;

function label(dataset, y, i) {
  const per = dataset.yShape.reduce((a, b) => a * b, 1);
  const t = Array.from(y.subarray(i * per, (i + 1) * per));
  return t.map((v) => (dataset.classes ? String(v) : v.toFixed(2))).join(' ');
}

// Grey levels, ink dark.
function drawImage(canvas, x, shape) {
  const [, rows, cols] = shape;
  const max = absMax(x);
  drawCells(canvas, rows, cols, (r, c) => {
    const level = Math.round(255 - (255 * x[r * cols + c]) / max);
    return `rgb(${level}, ${level}, ${level})`;
  });
}

function drawSignal(canvas, x, channels, length) {
  const { ctx, w, h } = prepare(canvas);
  const max = absMax(x);
  ctx.strokeStyle = '#0877bd';
  for (let c = 0; c < channels; c++) {
    ctx.beginPath();
    for (let t = 0; t < length; t++) {
      const px = (t / (length - 1)) * w;
      const py = h / 2 - (x[c * length + t] / max) * (h / 2 - 2);
      if (t) ctx.lineTo(px, py); else ctx.moveTo(px, py);
    }
    ctx.stroke();
  }
}

// Time runs left to right, features top to bottom.
function drawSequence(canvas, x, steps, features) {
  const max = absMax(x);
  drawCells(canvas, features, steps, (f, t) => css(colour(x[t * features + f] / max)));
}

const isImage = (s) => s.length === 3;
const isSignal = (s) => s.length === 2 && s[0] <= 4 && s[1] > 8;

// One example's input `x` of per-example shape `s`, drawn as its kind is.
export function drawInput(canvas, x, s) {
  if (isImage(s)) drawImage(canvas, x, s);
  else if (isSignal(s)) drawSignal(canvas, x, s[0], s[1]);
  else if (s.length === 2) drawSequence(canvas, x, s[0], s[1]);
  else drawSignal(canvas, x, 1, x.length);
}

// A canvas sized for an input of shape `s`.
export const inputCanvas = (s) => element('canvas', { width: isImage(s) ? 64 : 120, height: isImage(s) ? 64 : 48 });

export default {
  id: 'samples',
  title: 'Data',
  applies: ({ dataset }) => dataset && !(dataset.xShape.length === 1 && dataset.xShape[0] === 2),
  mount(el) {
    const grid = element('div', { className: 'samples' });
    const caption = element('p', { className: 'caption' });
    el.append(grid, caption);
    let shown = null;
    return {
      update({ dataset }) {
        if (!dataset || shown === dataset) return;
        shown = dataset;
        const s = dataset.xShape;
        const per = s.reduce((a, b) => a * b, 1);
        const { x, y, n } = dataset.train;
        const tiles = [];
        for (let i = 0; i < Math.min(SHOW, n); i++) {
          const xi = x.subarray(i * per, (i + 1) * per);
          const canvas = inputCanvas(s);
          const tile = element('figure', { className: 'sample' }, canvas, element('figcaption', { textContent: `→ ${label(dataset, y, i)}` }));
          tiles.push([tile, canvas, xi]);
        }
        grid.replaceChildren(...tiles.map(([t]) => t));
        for (const [, canvas, xi] of tiles) drawInput(canvas, xi, s);
        const kind = isImage(s) ? 'images' : isSignal(s) ? 'signals' : 'sequences (time left to right, features top to bottom)';
        caption.textContent = `The first ${tiles.length} training examples: ${kind} of shape [${s.join(', ')}], each with its target (${dataset.classes ? `one of ${dataset.classes} classes` : 'a value to predict'}). ${dataset.train.n} training and ${dataset.test.n} test examples shown here.`;
      },
    };
  },
};
