// Hidden states over time for one test sequence: the units of a recurrent
// layer's last layer (RNN, GRU, LSTM; forward then backward for
// bidirectional ones) or an S4D layer's output channels, a row per unit and
// a column per time step, under the input sequence itself.
import { colour, css, element, absMax, drawCells } from './canvas.js';
import { pickerRow, exampleProbes } from './pickers.js';

const KINDS = new Set(['rnn', 'gru', 'lstm', 's4d']);

export default {
  id: 'hidden',
  title: 'Hidden states',
  applies: ({ report }) => report.layers.some((l) => KINDS.has(l.kind)),
  needs: exampleProbes,
  mount(el) {
    let current = null;
    const { example, layer, el: pickers } = pickerRow(() => current);
    const input = element('canvas', { className: 'sequence-input' });
    const states = element('canvas', { className: 'states' });
    const caption = element('p', { className: 'caption' });
    el.append(pickers, input, states, caption);
    return {
      update(data) {
        current = data;
        const index = example.update(data);
        const probes = (data.inspection?.example?.probes ?? []).filter((p) => p.kind === 'hidden');
        if (!probes.length) return;
        const path = layer.update(data, probes.map((p) => p.path));
        const probe = probes.find((p) => p.path === path);
        const [steps, units] = probe.shape;
        const [t, f] = data.dataset.xShape;
        const x = data.dataset.test.x.subarray(index * t * f, (index + 1) * t * f);
        const xMax = absMax(x);
        input.style.height = `${Math.min(60, Math.max(12, f * 10))}px`;
        drawCells(input, f, t, (r, c) => css(colour(x[c * f + r] / xMax)));
        const shown = Math.min(units, 64);
        const max = absMax(probe.values);
        states.dataset.scale = String(max);
        states.dataset.path = path;
        states.style.height = `${Math.min(320, Math.max(60, shown * 5))}px`;
        drawCells(states, shown, steps, (u, s) => css(colour(probe.values[s * units + u] / max)));
        caption.textContent = `Test example ${index}: the input (top; a row per feature) and ${path}'s ${shown === units ? units : `first ${shown} of ${units}`} ${data.report.layers.find((l) => l.path === path)?.kind === 's4d' ? 'output channels' : 'hidden units'} over ${steps} steps (a row each; orange negative, blue positive, scaled to ±${max.toPrecision(3)}).`;
      },
    };
  },
};
