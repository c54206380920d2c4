// Activation sparsity: the share of exactly-zero outputs of every ReLU on
// the test set, over training. "The Lazy Neuron Phenomenon" (Li et al.,
// 2023) finds it rises during training, and with depth and width.
import { element } from './canvas.js';
import { seriesChart } from './series.js';

const RELU = new Set(['relu', 'relu6']);

// Layers whose output is a ReLU's, as the Rust side decides (inspect.rs: ends_in_relu).
function endsInRelu(layer) {
  if (layer.type === 'activation') return RELU.has(layer.fn);
  if (layer.type === 'conv_bn' || layer.type === 'residual') return RELU.has(layer.activation);
  return false;
}
const anyRelu = (layers) => layers.some((l) => endsInRelu(l) || (l.type === 'residual' && (anyRelu(l.body ?? []) || anyRelu(l.shortcut ?? []))));

export default {
  id: 'sparsity',
  title: 'Activation sparsity',
  applies: ({ spec }) => anyRelu(spec?.layers ?? []),
  needs: () => ({ sparsity: true }),
  mount(el) {
    const chartBox = element('div', { className: 'chart' });
    const list = element('ul', { className: 'sparsity-now' });
    const caption = element('p', { className: 'caption' });
    el.append(chartBox, list, caption);
    const chart = seriesChart(chartBox, { title: 'Zero activations after each ReLU', percent: true });
    return {
      update({ inspections, metrics }) {
        const entries = inspections.filter((i) => i.sparsity?.length);
        if (!entries.length) return;
        const now = entries[entries.length - 1].sparsity;
        chart.set(now.map((s) => s.path), entries.map((i) => i.step), now.map((_, k) => entries.map((i) => i.sparsity[k]?.zeros ?? null)));
        list.replaceChildren(...now.map((s) => {
          const li = element('li', {}, element('span', { textContent: s.path }), element('i'), element('b', { textContent: `${(s.zeros * 100).toFixed(1)}%` }));
          li.querySelector('i').style.width = `${(s.zeros * 100).toFixed(1)}%`;
          li.dataset.path = s.path;
          li.dataset.zeros = String(s.zeros);
          return li;
        }));
        caption.textContent = `Share of exactly-zero outputs of each ReLU on the test set${metrics?.sampled ? ' (its first 512 examples while training)' : ''}.`;
      },
      destroy() {
        chart.destroy();
      },
    };
  },
};
