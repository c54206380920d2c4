// Weights and gradients per layer over training: for each layer with
// parameters, a heatmap of the distribution of its weights (and of its
// gradients) at each inspected step (time left to right, value bottom to
// top, darker = more of them), and the gradient norm of every layer over
// training. Gradients are those of the loss on the first 256 training
// examples, in evaluation mode, so looking never changes the run.
import { element, heat, drawCells } from './canvas.js';
import { seriesChart } from './series.js';

const ROWS = 24;
const COLUMNS = 80;

// Rows of value bins spanning every entry's range; each column one step's histogram.
function drawHistory(canvas, entries) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const e of entries) { lo = Math.min(lo, e.min); hi = Math.max(hi, e.max); }
  const span = hi - lo || 1;
  const grid = entries.map((e) => {
    const col = new Array(ROWS).fill(0);
    const width = (e.max - e.min) / e.counts.length;
    e.counts.forEach((n, b) => {
      const v = e.min + (b + 0.5) * width;
      col[Math.min(ROWS - 1, Math.floor(((v - lo) / span) * ROWS))] += n;
    });
    const top = Math.max(...col) || 1;
    return col.map((n) => Math.sqrt(n / top));
  });
  drawCells(canvas, ROWS, grid.length, (r, c) => heat(grid[c][ROWS - 1 - r]));
  return [lo, hi];
}

const sci = (v) => (v === 0 ? '0' : Math.abs(v) >= 0.01 && Math.abs(v) < 1000 ? v.toFixed(3) : v.toExponential(2));

export default {
  id: 'histograms',
  title: 'Weights and gradients',
  applies: ({ report }) => report.params > 0,
  needs: () => ({ parameters: true }),
  mount(el) {
    const table = element('table', { className: 'layer-stats' });
    const grid = element('div', { className: 'histograms' });
    const normsBox = element('div', { className: 'chart' });
    el.append(grid, normsBox, element('div', { className: 'table-scroll' }, table),
      element('p', { className: 'caption', textContent: 'Per layer, left weights and right gradients: a column per inspected step (time →), values bottom to top, darker = more of them. Gradients of the loss on the first 256 training examples.' }));
    const norms = seriesChart(normsBox, { title: 'Gradient norm per layer', log: true });
    let rows = [];
    return {
      update({ inspections }) {
        const list = inspections.filter((i) => i.parameters);
        if (!list.length) return;
        const recent = list.slice(-COLUMNS);
        const layers = list[list.length - 1].parameters;
        if (rows.length !== layers.length || rows.some((r, k) => r.path !== layers[k].path)) {
          rows = layers.map((l) => ({ path: l.path, label: element('span', { className: 'hist-label' }), w: element('canvas', { className: 'hist' }), g: element('canvas', { className: 'hist' }) }));
          grid.replaceChildren(...rows.flatMap((r) => [r.label, r.w, r.g]));
        }
        rows.forEach((r, k) => {
          const [wl, wh] = drawHistory(r.w, recent.map((i) => i.parameters[k]?.weights).filter(Boolean));
          const [gl, gh] = drawHistory(r.g, recent.map((i) => i.parameters[k]?.gradients).filter(Boolean));
          r.label.textContent = r.path;
          r.w.title = `${r.path} weights from ${sci(wl)} to ${sci(wh)}`;
          r.g.title = `${r.path} gradients from ${sci(gl)} to ${sci(gh)}`;
        });
        const head = element('tr', {}, ...['layer', 'parameters', '‖weights‖', '‖gradient‖'].map((t) => element('th', { textContent: t })));
        table.replaceChildren(head, ...layers.map((l) => {
          const tr = element('tr', {}, element('td', { textContent: l.path }), element('td', { textContent: l.count.toLocaleString('en') }),
            element('td', { textContent: sci(l.weightNorm) }), element('td', { textContent: sci(l.gradientNorm) }));
          tr.dataset.path = l.path;
          tr.dataset.gradientNorm = String(l.gradientNorm);
          tr.dataset.weightNorm = String(l.weightNorm);
          return tr;
        }));
        norms.set(layers.map((l) => l.path), list.map((i) => i.step), layers.map((_, k) => list.map((i) => (i.parameters[k]?.gradientNorm > 0 ? i.parameters[k].gradientNorm : null))));
      },
      destroy() {
        norms.destroy();
      },
    };
  },
};
