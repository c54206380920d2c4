// The learned convolution filters: every conv layer's weights, one small
// heatmap per (output, input) channel pair (2D kernels) or per output
// channel (1D kernels: input channels by taps), on one colour scale per layer.
import { colour, css, element, absMax, drawTiles } from './canvas.js';
import { CONV_KINDS } from './features.js';

const MAX_OUT = 16;
const MAX_IN = 8;

function tilesOf(f) {
  const v = f.values;
  const max = absMax(v);
  const at = (offset, cols) => (r, c) => css(colour(v[offset + r * cols + c] / max));
  if (f.shape.length === 4) {
    const [o, i, kh, kw] = f.shape;
    const tiles = [];
    for (let a = 0; a < Math.min(o, MAX_OUT); a++) {
      for (let b = 0; b < Math.min(i, MAX_IN); b++) tiles.push({ rows: kh, cols: kw, at: at((a * i + b) * kh * kw, kw) });
    }
    return { max, tiles, perRow: i === 1 ? 8 : Math.min(i, MAX_IN) };
  }
  const [o, i, k] = f.shape;
  return { max, tiles: Array.from({ length: Math.min(o, MAX_OUT) }, (_, a) => ({ rows: i, cols: k, at: at(a * i * k, k) })), perRow: 8 };
}

export default {
  id: 'filters',
  title: 'Convolution filters',
  applies: ({ report }) => report.layers.some((l) => CONV_KINDS.has(l.kind)),
  needs: () => ({ filters: true }),
  mount(el) {
    const list = element('div', { className: 'filter-list' });
    el.append(list, element('p', { className: 'caption', textContent: 'Each square is one kernel (a row per output channel, a column per input channel; at most 16 × 8 shown). Orange negative, blue positive.' }));
    let rows = [];
    return {
      update({ inspection }) {
        const filters = inspection?.filters;
        if (!filters) return;
        if (rows.length !== filters.length) {
          rows = filters.map(() => ({ label: element('p', { className: 'filter-label' }), canvas: element('canvas', { className: 'tiles' }) }));
          list.replaceChildren(...rows.flatMap((r) => [r.label, r.canvas]));
        }
        filters.forEach((f, k) => {
          const { max, tiles, perRow } = tilesOf(f);
          rows[k].label.textContent = `${f.name} [${f.shape.join('×')}], scaled to ±${max.toPrecision(3)}`;
          rows[k].canvas.dataset.scale = String(max);
          rows[k].canvas.dataset.path = f.path;
          drawTiles(rows[k].canvas, tiles, { perRow, maxCell: 8 });
        });
      },
    };
  },
};
