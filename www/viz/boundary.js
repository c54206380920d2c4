// The decision boundary of a 2D model: its output over the plane (the class-1
// probability mapped to [-1, 1], or the regression value) with the training
// points as dots and the test points as rings.
import { colour, css, prepare, element } from './canvas.js';

function draw(canvas, grid, res, dataset) {
  const { ctx, w, h } = prepare(canvas);
  if (grid) {
    const image = new ImageData(res, res);
    for (let i = 0; i < res * res; i++) {
      const v = dataset?.classes ? grid[i] * 2 - 1 : grid[i];
      const [r, g, b] = colour(v);
      image.data.set([r, g, b, 160], i * 4);
    }
    const off = new OffscreenCanvas(res, res);
    off.getContext('2d').putImageData(image, 0, 0);
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(off, 0, 0, w, h);
  }
  if (!dataset) return;
  const px = (x) => ((x + 1) / 2) * w;
  const py = (y) => ((1 - y) / 2) * h;
  for (const [split, ring] of [['train', false], ['test', true]]) {
    const { x, y, n } = dataset[split];
    for (let i = 0; i < n; i++) {
      const v = dataset.classes ? y[i] * 2 - 1 : y[i];
      ctx.beginPath();
      ctx.arc(px(x[2 * i]), py(x[2 * i + 1]), 3.2, 0, 2 * Math.PI);
      if (ring) {
        ctx.strokeStyle = css(colour(v));
        ctx.lineWidth = 1.5;
        ctx.stroke();
      } else {
        ctx.fillStyle = css(colour(v));
        ctx.fill();
        ctx.strokeStyle = 'rgba(255,255,255,0.9)';
        ctx.lineWidth = 0.8;
        ctx.stroke();
      }
    }
  }
}

export default {
  id: 'boundary',
  title: 'Decision boundary',
  applies: ({ report }) => report?.input.length === 1 && report.input[0] === 2,
  mount(el) {
    const canvas = element('canvas', { width: 360, height: 360, className: 'square' });
    canvas.setAttribute('aria-label', 'The model output over the plane, with the data points');
    el.append(canvas, element('p', { className: 'caption', textContent: 'Orange: class 0 / negative, blue: class 1 / positive. Dots: training data, rings: test data.' }));
    let last = null;
    return {
      update(data) {
        const m = data.metrics;
        if (m?.grid) last = { grid: m.grid, res: m.gridRes };
        draw(canvas, last?.grid, last?.res, data.dataset);
      },
    };
  },
};
