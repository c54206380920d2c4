// The decision boundary of a 2D model: its output over the plane (the class-1
// probability mapped to [-1, 1], or the regression value) with the training
// points as dots and the test points as rings. Clicking the plane adds a
// training point (of the chosen class or value) or takes the nearest one out;
// the model keeps training on the changed data.
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
    const canvas = element('canvas', { width: 360, height: 360, className: 'square editable' });
    canvas.setAttribute('aria-label', 'The model output over the plane, with the data points; click to add or take out points');
    const mode = element('select', { id: 'click-mode' });
    const modeLabel = element('label', { className: 'field inline' }, element('span', { textContent: 'A click on the plane' }), mode);
    el.append(modeLabel, canvas, element('p', { className: 'caption', textContent: 'Orange: class 0 / negative, blue: class 1 / positive. Dots: training data, rings: test data.' }));
    let last = null;
    let current = null;
    let kind = '';
    canvas.addEventListener('click', (e) => {
      const d = current?.dataset;
      if (!d || current.spec?.data?.name !== 'plane') return;
      const box = canvas.getBoundingClientRect();
      const x = ((e.clientX - box.left) / box.width) * 2 - 1;
      const y = 1 - ((e.clientY - box.top) / box.height) * 2;
      const clamp = (v) => Math.max(-1, Math.min(1, Number(v.toFixed(3))));
      if (mode.value === 'remove') {
        // The nearest training point within 10 px.
        const { x: xs, n } = d.train;
        let best = -1;
        let bestDist = ((10 / box.width) * 2) ** 2;
        for (let i = 0; i < n; i++) {
          const dist = (xs[2 * i] - x) ** 2 + (xs[2 * i + 1] - y) ** 2;
          if (dist < bestDist) [best, bestDist] = [i, dist];
        }
        if (best >= 0) current.actions.editPoints({ remove: best });
      } else {
        current.actions.editPoints({ add: [clamp(x), clamp(y), Number(mode.value)] });
      }
    });
    return {
      update(data) {
        current = data;
        // Points can be drawn on the playground's sets, not on an uploaded table.
        modeLabel.hidden = data.spec?.data?.name !== 'plane';
        const k = data.dataset?.classes ? 'classes' : 'values';
        if (k !== kind) {
          kind = k;
          const options = k === 'classes' ? [['0', 'adds class 0 (orange)'], ['1', 'adds class 1 (blue)']] : [['-1', 'adds the value -1 (orange)'], ['1', 'adds the value +1 (blue)']];
          mode.replaceChildren(...[...options, ['remove', 'takes out the nearest point']].map(([v, t]) => new Option(t, v)));
        }
        const m = data.metrics;
        if (m?.grid) last = { grid: m.grid, res: m.gridRes };
        draw(canvas, last?.grid, last?.res, data.dataset);
      },
    };
  },
};
