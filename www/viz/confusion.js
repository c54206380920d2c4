// The confusion matrix on the test set (a fixed sample while training, the
// whole set when paused): a row per true class, a column per predicted one,
// and the misclassified examples, each a click away from the feature maps.
import { element } from './canvas.js';
import { drawInput, inputCanvas } from './samples.js';

const SHOW_WRONG = 12;
const planar = (d) => d.xShape.length === 1 && d.xShape[0] === 2;

function table(c) {
  const t = element('table', { className: 'confusion' });
  const head = element('tr', {}, element('th', { textContent: 'true \\ predicted' }), ...Array.from({ length: c.classes }, (_, k) => element('th', { textContent: String(k) })));
  t.append(head);
  for (let r = 0; r < c.classes; r++) {
    const row = c.counts.slice(r * c.classes, (r + 1) * c.classes);
    const total = row.reduce((a, b) => a + b, 0) || 1;
    const tr = element('tr', {}, element('th', { textContent: String(r) }));
    row.forEach((n, k) => {
      const share = n / total;
      const td = element('td', { textContent: n ? String(n) : '' });
      td.style.background = k === r ? `rgba(8,119,189,${0.15 + 0.6 * share})` : n ? `rgba(245,147,34,${0.15 + 0.85 * share})` : '';
      td.title = `${n} of the ${total} examples of class ${r} predicted as ${k}`;
      tr.append(td);
    });
    t.append(tr);
  }
  return t;
}

export default {
  id: 'confusion',
  title: 'Confusion matrix',
  applies: ({ dataset }) => dataset.classes != null && !planar(dataset),
  needs: () => ({ confusion: true }),
  mount(el) {
    const box = element('div', { className: 'table-scroll' });
    const summary = element('p', { className: 'caption' });
    const wrongBox = element('div', { className: 'samples wrong' });
    const wrongCaption = element('p', { className: 'caption' });
    el.append(box, summary, wrongBox, wrongCaption);
    let current = null;
    let shown = '';
    return {
      update(data) {
        current = data;
        const c = data.inspection?.confusion;
        if (!c) return;
        const key = `${c.counts}|${c.wrong.map((w) => w.index)}`;
        if (key === shown) return;
        shown = key;
        box.replaceChildren(table(c));
        const right = Array.from({ length: c.classes }, (_, k) => c.counts[k * c.classes + k]).reduce((a, b) => a + b, 0);
        const total = c.counts.reduce((a, b) => a + b, 0);
        summary.textContent = `${right} of ${total} test ${total === c.examples ? 'examples' : 'targets'} right (${((right / total) * 100).toFixed(1)}%)${data.metrics?.sampled ? ', on the first 512 while training' : ''}.`;
        const d = data.dataset;
        const s = d.xShape;
        const per = s.reduce((a, b) => a * b, 1);
        const tiles = c.wrong.filter((w) => w.index < d.test.n).slice(0, SHOW_WRONG).map((w) => {
          const canvas = inputCanvas(s);
          const tile = element('figure', { className: 'sample clickable', title: `Show test example ${w.index} in the other views` },
            canvas, element('figcaption', { textContent: `#${w.index}: ${w.label} → ${w.predicted}` }));
          tile.addEventListener('click', () => current.actions.setView({ example: w.index }));
          return [tile, canvas, d.test.x.subarray(w.index * per, (w.index + 1) * per)];
        });
        wrongBox.replaceChildren(...tiles.map(([t]) => t));
        for (const [, canvas, x] of tiles) drawInput(canvas, x, s);
        wrongCaption.textContent = tiles.length ? 'Misclassified test examples (true → predicted); click one to see it in the other views.' : 'No misclassified examples.';
      },
    };
  },
};
