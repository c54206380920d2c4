// Attention maps of one test sequence: for every attention layer (self-
// attention, transformer encoder layers) one map per head, a row per query
// position and a column per key position, each row summing to 1; for Aaren,
// the weights its learned query gives the prefix x_1..x_t at every step t.
import { element, heat, drawTiles } from './canvas.js';
import { pickerRow, exampleProbes } from './pickers.js';

const KINDS = new Set(['attention', 'transformer_encoder', 'aaren']);

export default {
  id: 'attention',
  title: 'Attention maps',
  applies: ({ report }) => report.layers.some((l) => KINDS.has(l.kind)),
  needs: exampleProbes,
  mount(el) {
    let current = null;
    const { example, layer, el: pickers } = pickerRow(() => current);
    const maps = element('canvas', { className: 'tiles' });
    const caption = element('p', { className: 'caption' });
    el.append(pickers, maps, caption);
    return {
      update(data) {
        current = data;
        const index = example.update(data);
        const probes = (data.inspection?.example?.probes ?? []).filter((p) => p.kind === 'attention');
        if (!probes.length) return;
        const path = layer.update(data, probes.map((p) => p.path));
        const probe = probes.find((p) => p.path === path);
        const [heads, queries, keys] = probe.shape;
        const v = probe.values;
        let max = 0;
        for (const x of v) max = Math.max(max, x);
        maps.dataset.scale = String(max);
        // The last query's largest weight (first head): a number the tests compare.
        maps.dataset.lastRowMax = String(Math.max(...v.slice((queries - 1) * keys, queries * keys)));
        maps.dataset.path = path;
        const tiles = Array.from({ length: heads }, (_, h) => ({ rows: queries, cols: keys, at: (r, c) => heat(v[(h * queries + r) * keys + c] / max) }));
        drawTiles(maps, tiles, { perRow: Math.min(heads, 4), gap: 6, maxCell: 20 });
        const kind = data.report.layers.find((l) => l.path === path)?.kind;
        caption.textContent = kind === 'aaren'
          ? `Test example ${index}, ${path} (Aaren): row t is how the output at step t weighs steps 1..t (each row sums to 1; white 0, blue ${max.toFixed(3)}).`
          : `Test example ${index}, ${path}: ${heads} head${heads > 1 ? 's' : ''}, left to right; row = query position, column = key position (each row sums to 1; white 0, blue ${max.toFixed(3)}).`;
      },
    };
  },
};
