// The choices shared by the views that show one example or one layer: the
// test example (`view.example`) and the layer (`view.layer`, which clicking
// a box of the model graph sets too), both kept in the link.
import { element } from './canvas.js';

// The test example the views show, within the test set.
export const chosenExample = ({ view, dataset }) => Math.max(0, Math.min((dataset?.test.n ?? 1) - 1, view.example ?? 0));

// What a view of the chosen example needs: its probes.
export const exampleProbes = (data) => ({ example: { split: 'test', index: chosenExample(data) } });

// The chosen layer when it is one of `paths`, else the first of them.
export const chosenLayer = ({ view }, paths) => (paths.includes(view.layer) ? view.layer : paths[0]);

// A layer as a person reads it: its path, kind and output shape.
export function layerName(report, path) {
  const l = report?.layers.find((x) => x.path === path);
  return l ? `${path} · ${l.kind} [${l.output.join('×')}]` : path;
}

export function examplePicker(setView) {
  const input = element('input', { type: 'number', min: 0, step: 1, className: 'example-index' });
  input.setAttribute('aria-label', 'Test example number');
  const step = (d) => () => setView({ example: Math.max(0, Number(input.value) + d) });
  const prev = element('button', { type: 'button', textContent: '‹', className: 'nudge', onclick: step(-1) });
  const next = element('button', { type: 'button', textContent: '›', className: 'nudge', onclick: step(1) });
  prev.setAttribute('aria-label', 'Previous test example');
  next.setAttribute('aria-label', 'Next test example');
  input.addEventListener('change', () => setView({ example: Math.max(0, Math.floor(Number(input.value) || 0)) }));
  const el = element('div', { className: 'picker' }, element('span', { textContent: 'Test example' }), prev, input, next);
  return {
    el,
    update(data) {
      const k = chosenExample(data);
      input.max = String((data.dataset?.test.n ?? 1) - 1);
      if (document.activeElement !== input) input.value = String(k);
      return k;
    },
  };
}

export function layerPicker(setView) {
  const select = element('select', { className: 'layer-choice' });
  select.setAttribute('aria-label', 'Layer');
  select.addEventListener('change', () => setView({ layer: select.value }));
  const el = element('label', { className: 'picker' }, element('span', { textContent: 'Layer' }), select);
  let shown = '';
  return {
    el,
    // -> the layer to show
    update(data, paths) {
      const key = paths.join();
      if (key !== shown) {
        shown = key;
        select.replaceChildren(...paths.map((p) => new Option(layerName(data.report, p), p)));
      }
      const layer = chosenLayer(data, paths);
      select.value = layer;
      el.hidden = paths.length < 2;
      return layer;
    },
  };
}

// Both pickers in a row, for a view that shows one example at one layer;
// `data()` is the view's latest data.
export function pickerRow(data) {
  const setView = (patch) => data().actions.setView(patch);
  const example = examplePicker(setView);
  const layer = layerPicker(setView);
  return { example, layer, el: element('div', { className: 'pickers' }, example.el, layer.el) };
}
