// A preview of the dataset: images for [C, H, W] inputs (the digits),
// signals for [C, L] inputs (MNIST-1D), and sequences as a heatmap of
// features over time for [T, F] inputs, each with its target.
import { colour, css, prepare, element } from './canvas.js';

const SHOW = 12;

function label(dataset, y, i) {
  const per = dataset.yShape.reduce((a, b) => a * b, 1);
  const t = Array.from(y.subarray(i * per, (i + 1) * per));
  return t.map((v) => (dataset.classes ? String(v) : v.toFixed(2))).join(' ');
}

function drawImage(canvas, x, shape) {
  const [, hgt, wid] = shape;
  const { ctx, w, h } = prepare(canvas);
  let max = 0;
  for (const v of x) max = Math.max(max, Math.abs(v));
  const cw = w / wid;
  const ch = h / hgt;
  for (let r = 0; r < hgt; r++) {
    for (let c = 0; c < wid; c++) {
      const v = x[r * wid + c] / (max || 1);
      ctx.fillStyle = `rgb(${255 - 255 * v}, ${255 - 255 * v}, ${255 - 255 * v})`;
      ctx.fillRect(c * cw, r * ch, cw + 0.5, ch + 0.5);
    }
  }
}

function drawSignal(canvas, x, channels, length) {
  const { ctx, w, h } = prepare(canvas);
  let max = 0;
  for (const v of x) max = Math.max(max, Math.abs(v));
  ctx.strokeStyle = '#0877bd';
  for (let c = 0; c < channels; c++) {
    ctx.beginPath();
    for (let t = 0; t < length; t++) {
      const v = x[c * length + t] / (max || 1);
      const px = (t / (length - 1)) * w;
      const py = h / 2 - v * (h / 2 - 2);
      if (t) ctx.lineTo(px, py); else ctx.moveTo(px, py);
    }
    ctx.stroke();
  }
}

// Time runs left to right, features top to bottom.
function drawSequence(canvas, x, steps, features) {
  const { ctx, w, h } = prepare(canvas);
  let max = 0;
  for (const v of x) max = Math.max(max, Math.abs(v));
  const cw = w / steps;
  const ch = h / features;
  for (let t = 0; t < steps; t++) {
    for (let f = 0; f < features; f++) {
      ctx.fillStyle = css(colour(x[t * features + f] / (max || 1)));
      ctx.fillRect(t * cw, f * ch, cw + 0.5, ch + 0.5);
    }
  }
}

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
          const image = s.length === 3;
          const canvas = element('canvas', { width: image ? 64 : 120, height: image ? 64 : 48 });
          const tile = element('figure', { className: 'sample' }, canvas, element('figcaption', { textContent: `→ ${label(dataset, y, i)}` }));
          tiles.push([tile, canvas, xi]);
        }
        grid.replaceChildren(...tiles.map(([t]) => t));
        for (const [, canvas, xi] of tiles) {
          if (s.length === 3) drawImage(canvas, xi, s);
          else if (s.length === 2 && s[0] <= 4 && s[1] > 8) drawSignal(canvas, xi, s[0], s[1]);
          else if (s.length === 2) drawSequence(canvas, xi, s[0], s[1]);
          else drawSignal(canvas, xi, 1, per);
        }
        const kind = s.length === 3 ? 'images' : s.length === 2 && s[0] <= 4 && s[1] > 8 ? 'signals' : 'sequences (time left to right, features top to bottom)';
        caption.textContent = `The first ${tiles.length} training examples: ${kind} of shape [${s.join(', ')}], each with its target (${dataset.classes ? `one of ${dataset.classes} classes` : 'a value to predict'}). ${dataset.train.n} training and ${dataset.test.n} test examples shown here.`;
      },
    };
  },
};
