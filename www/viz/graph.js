// The model as a graph: a box per layer with its output shape and parameter
// count, blocks (residual bodies and shortcuts) nested in their box. A click
// on a box chooses that layer for the views that show one layer at a time
// (feature maps, attention maps, hidden states); each box names those views.
import { element } from './canvas.js';

const VIEWS_OF = {
  conv1d: 'filters, feature maps', conv2d: 'filters, feature maps', conv_bn: 'filters, feature maps', inverted_residual: 'filters, feature maps',
  attention: 'attention maps', transformer_encoder: 'attention maps', aaren: 'attention maps',
  rnn: 'hidden states', gru: 'hidden states', lstm: 'hidden states', s4d: 'hidden states',
};

const count = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(0)}k` : n.toLocaleString('en'));

function children(report, path, list) {
  const prefix = `${path}.${list}[`;
  return report.layers.filter((l) => l.path.startsWith(prefix) && /^\d+\]$/.test(l.path.slice(prefix.length)));
}

function box(report, layer, selected, choose) {
  const b = element('button', { type: 'button', className: `node${layer.path === selected ? ' selected' : ''}` },
    element('b', { textContent: layer.kind.replaceAll('_', ' ') }),
    element('span', { className: 'shape', textContent: `[${layer.output.join('×')}]` }),
    element('span', { className: 'params', textContent: layer.params ? `${count(layer.params)} params` : '' }));
  b.dataset.path = layer.path;
  b.title = `${layer.path}${VIEWS_OF[layer.kind] ? `: shown in ${VIEWS_OF[layer.kind]}` : ''}`;
  b.setAttribute('aria-pressed', String(layer.path === selected));
  b.addEventListener('click', () => choose(layer.path));
  if (VIEWS_OF[layer.kind]) b.append(element('span', { className: 'links', textContent: VIEWS_OF[layer.kind] }));
  const item = element('li', {}, b);
  const lists = ['body', 'shortcut'].map((name) => [name, children(report, layer.path, name)]).filter(([name, c]) => c.length || (name === 'shortcut' && layer.kind === 'residual'));
  if (lists.length) {
    item.append(element('div', { className: 'branches' }, ...lists.map(([name, c]) => element('div', { className: 'branch' },
      element('span', { className: 'branch-name', textContent: c.length ? name : `${name}: identity` }),
      element('ol', {}, ...c.map((l) => box(report, l, selected, choose)))))));
  }
  return item;
}

export default {
  id: 'graph',
  title: 'Model graph',
  applies: () => true,
  mount(el) {
    const list = element('ol', { className: 'graph' });
    const caption = element('p', { className: 'caption', textContent: 'Click a layer to show it in the views that show one layer at a time.' });
    el.append(list, caption);
    let key = '';
    return {
      update({ report, view, actions }) {
        const k = `${JSON.stringify(report)}|${view.layer}`;
        if (k === key) return;
        key = k;
        const top = report.layers.filter((l) => /^layers\[\d+\]$/.test(l.path));
        const input = element('li', {}, element('div', { className: 'node io' }, element('b', { textContent: 'input' }), element('span', { className: 'shape', textContent: `[${report.input.join('×')}]` })));
        const total = element('li', {}, element('div', { className: 'node io' }, element('b', { textContent: 'output' }), element('span', { className: 'shape', textContent: `[${report.output.join('×')}]` }), element('span', { className: 'params', textContent: `${count(report.params)} params in all` })));
        list.replaceChildren(input, ...top.map((l) => box(report, l, view.layer, (path) => actions.setView({ layer: path }))), total);
      },
    };
  },
};
