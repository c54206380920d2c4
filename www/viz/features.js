// Feature maps: what every convolutional stage makes of one test example,
// channel by channel, from the model's own forward pass (a probe: the layer
// outputs the wasm side records), not re-computed here.
import { colour, css, element, absMax, drawCells, drawTiles } from './canvas.js';
import { drawInput, inputCanvas } from './samples.js';
import { pickerRow, exampleProbes } from './pickers.js';

export const CONV_KINDS = new Set(['conv1d', 'conv2d', 'conv_bn', 'inverted_residual']);

// Probes whose output has channels: [C, H, W], or [C, L] in a model of 1D convolutions.
export function channelProbes(probed, report) {
  const oneD = report.layers.some((l) => l.kind === 'conv1d');
  return (probed?.probes ?? []).filter((p) => p.kind === 'output' && (p.shape.length === 3 || (oneD && p.shape.length === 2)));
}

// The channels of one probe; the canvas records the colour scale (its largest magnitude).
export function drawChannels(canvas, probe) {
  const max = absMax(probe.values);
  canvas.dataset.scale = String(max);
  canvas.dataset.path = probe.path;
  const v = probe.values;
  if (probe.shape.length === 3) {
    const [c, h, w] = probe.shape;
    const tiles = Array.from({ length: c }, (_, k) => ({ rows: h, cols: w, at: (r, q) => css(colour(v[(k * h + r) * w + q] / max)) }));
    drawTiles(canvas, tiles, { perRow: Math.min(c, 8), maxCell: 12 });
  } else {
    const [c, l] = probe.shape;
    canvas.style.height = `${Math.min(240, Math.max(40, c * 8))}px`;
    drawCells(canvas, c, l, (r, q) => css(colour(v[r * l + q] / max)));
  }
  return max;
}

export function outcome(probed, dataset, index) {
  const out = probed.output;
  if (!dataset.classes || out.length !== dataset.classes) return '';
  let best = 0;
  for (let k = 1; k < out.length; k++) if (out[k] > out[best]) best = k;
  const label = dataset.test.y[index];
  return `label ${label}, predicted ${best} (${(out[best] * 100).toFixed(0)}%)`;
}

export default {
  id: 'features',
  title: 'Feature maps',
  applies: ({ report }) => report.layers.some((l) => CONV_KINDS.has(l.kind)),
  needs: exampleProbes,
  mount(el) {
    let current = null;
    const { example, layer, el: pickers } = pickerRow(() => current);
    const input = element('canvas', { className: 'input-preview' });
    const maps = element('canvas', { className: 'tiles' });
    const caption = element('p', { className: 'caption' });
    el.append(pickers, element('div', { className: 'beside' }, input, maps), caption);
    let inputKey = '';
    return {
      update(data) {
        current = data;
        const index = example.update(data);
        const probed = data.inspection?.example;
        const probes = channelProbes(probed, data.report);
        if (!probes.length) return;
        const path = layer.update(data, probes.map((p) => p.path));
        const probe = probes.find((p) => p.path === path);
        const s = data.dataset.xShape;
        const per = s.reduce((a, b) => a * b, 1);
        const key = `${index}|${s}`;
        if (key !== inputKey) {
          inputKey = key;
          const sized = inputCanvas(s);
          input.width = sized.width;
          input.height = sized.height;
          drawInput(input, data.dataset.test.x.subarray(index * per, (index + 1) * per), s);
        }
        const max = drawChannels(maps, probe);
        const what = outcome(probed, data.dataset, index);
        caption.textContent = `Test example ${index}${what ? ` (${what})` : ''}, left; right, the ${probe.shape[0]} channels of ${path} (${data.report.layers.find((l) => l.path === path)?.kind}). Orange negative, blue positive, scaled to ±${max.toPrecision(3)}.`;
      },
    };
  },
};
