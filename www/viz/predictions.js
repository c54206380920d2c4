// Predictions against targets on the test set, for models that are not a 2D
// plane's: a scatter of predicted against true values (one value per
// example, like the adding problem's sum), the forecast beside the signal
// it continues (several values, like the sine), or the predicted tokens
// under the target tokens (a class per position, like copy/recall).
import { element, prepare } from './canvas.js';
import { examplePicker, chosenExample } from './pickers.js';

const ROWS = 8;
const planar = (d) => d.xShape.length === 1 && d.xShape[0] === 2;
const per = (shape) => shape.reduce((a, b) => a * b, 1);

function scatter(canvas, outputs, targets, count, chosen) {
  const { ctx, w, h } = prepare(canvas);
  let lo = Infinity;
  let hi = -Infinity;
  for (let k = 0; k < count; k++) for (const v of [outputs[k], targets[k]]) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  const span = hi - lo || 1;
  const px = (v) => 8 + ((v - lo) / span) * (w - 16);
  const py = (v) => h - 8 - ((v - lo) / span) * (h - 16);
  ctx.strokeStyle = '#c9ccd0';
  ctx.beginPath();
  ctx.moveTo(px(lo), py(lo));
  ctx.lineTo(px(hi), py(hi));
  ctx.stroke();
  // The chosen example last, on top.
  for (const k of [...Array(count).keys()].filter((k) => k !== chosen).concat(chosen < count ? [chosen] : [])) {
    ctx.fillStyle = k === chosen ? '#f59322' : 'rgba(8,119,189,0.55)';
    ctx.beginPath();
    ctx.arc(px(targets[k]), py(outputs[k]), k === chosen ? 5 : 2.5, 0, 2 * Math.PI);
    ctx.fill();
  }
}

function forecast(canvas, input, target, predicted) {
  const { ctx, w, h } = prepare(canvas);
  const all = [...input, ...target, ...predicted];
  const lo = Math.min(...all);
  const span = Math.max(...all) - lo || 1;
  const n = input.length + target.length;
  const px = (t) => 6 + (t / (n - 1)) * (w - 12);
  const py = (v) => h - 6 - ((v - lo) / span) * (h - 12);
  const line = (values, from, colour, dash = []) => {
    ctx.strokeStyle = colour;
    ctx.setLineDash(dash);
    ctx.lineWidth = 2;
    ctx.beginPath();
    values.forEach((v, k) => (k ? ctx.lineTo(px(from + k), py(v)) : ctx.moveTo(px(from + k), py(v))));
    ctx.stroke();
  };
  line(input, 0, '#9aa0a6');
  line([input[input.length - 1], ...target], input.length - 1, '#111');
  line([input[input.length - 1], ...predicted], input.length - 1, '#f59322', [5, 3]);
  ctx.setLineDash([]);
}

function tokens(box, outputs, targets, count, classes, positions) {
  const t = element('table', { className: 'tokens' });
  t.append(element('tr', {}, element('th', { textContent: 'example' }), element('th', { textContent: 'target' }), element('th', { textContent: 'predicted' })));
  for (let k = 0; k < Math.min(count, ROWS); k++) {
    const want = [];
    const got = [];
    for (let p = 0; p < positions; p++) {
      const row = outputs.slice((k * positions + p) * classes, (k * positions + p + 1) * classes);
      want.push(targets[k * positions + p]);
      got.push(row.indexOf(Math.max(...row)));
    }
    const cells = got.map((g, p) => element('span', { className: g === want[p] ? 'right' : 'wrong', textContent: String(g) }));
    t.append(element('tr', {}, element('td', { textContent: `#${k}` }), element('td', { textContent: want.join(' ') }), element('td', {}, ...cells)));
  }
  box.replaceChildren(t);
}

export default {
  id: 'predictions',
  title: 'Predictions vs targets',
  applies: ({ dataset }) => !planar(dataset) && (dataset.classes == null || dataset.yShape.length > 0),
  needs: () => ({ predictions: true }),
  mount(el) {
    let current = null;
    const example = examplePicker((patch) => current.actions.setView(patch));
    const canvas = element('canvas', { className: 'plot' });
    const box = element('div', { className: 'table-scroll' });
    const caption = element('p', { className: 'caption' });
    el.append(example.el, canvas, box, caption);
    return {
      update(data) {
        current = data;
        const p = data.inspection?.predictions;
        if (!p) return;
        const d = data.dataset;
        const targets = d.test.y;
        const values = per(d.yShape);
        if (d.classes != null) {
          example.el.hidden = true;
          canvas.hidden = true;
          tokens(box, p.outputs, targets, p.count, d.classes, values);
          caption.textContent = `The first ${Math.min(p.count, ROWS)} test sequences: the tokens to recall and the model's (wrong ones in red).`;
          return;
        }
        const k = Math.min(example.update(data), p.count - 1);
        const got = p.outputs.slice(k * values, (k + 1) * values);
        const want = Array.from(targets.subarray(k * values, (k + 1) * values));
        caption.dataset.predicted = String(got[0]);
        caption.dataset.target = String(want[0]);
        const fmt = (xs) => xs.slice(0, 4).map((v) => v.toFixed(3)).join(', ') + (xs.length > 4 ? ', …' : '');
        if (values === 1) {
          scatter(canvas, p.outputs, targets, p.count, k);
          caption.textContent = `Predicted (up) against true (across) for the first ${p.count} test examples; the line is a perfect prediction. Test example ${k} (orange): predicted ${fmt(got)}, target ${fmt(want)}.`;
        } else {
          const steps = per(d.xShape);
          const x = Array.from(d.test.x.subarray(k * steps, (k + 1) * steps));
          forecast(canvas, x, want, got);
          caption.textContent = `Test example ${k}: the input (grey), what follows (black) and the model's forecast (orange, dashed): predicted ${fmt(got)}, target ${fmt(want)}.`;
        }
      },
    };
  },
};
