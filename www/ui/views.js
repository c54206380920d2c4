// Hosts the registered views that apply to the current model, each in its own
// panel that can be folded up, and feeds them the run's data (at most once per
// animation frame) and the actions a view may offer. What the open views
// need from the model (`needs`) is merged into one request the worker answers
// with every metrics event: a folded view costs the training nothing.
import { useEffect, useRef } from 'preact/hooks';
import { html } from './html.js';
import { state, run, hidden, setView, editPoints, watch, inspect, setDrawing, predict, feedTokens } from '../app/store.js';
import { VIEWS } from '../viz/registry.js';

const actions = { editPoints, setView, inspect, setDrawing, predict, feedTokens };

function ViewHost({ view, data, open }) {
  const box = useRef(null);
  const instance = useRef(null);
  const frame = useRef(0);
  const latest = useRef(data);
  latest.current = data;
  const redraw = () => {
    frame.current ||= requestAnimationFrame(() => {
      frame.current = 0;
      instance.current?.update(latest.current);
    });
  };
  useEffect(() => {
    if (!open) return undefined;
    instance.current = view.mount(box.current);
    instance.current.update(latest.current);
    // Canvases are drawn at their displayed size: draw again when it changes.
    let width = box.current.clientWidth;
    const resized = new ResizeObserver(() => {
      if (box.current && box.current.clientWidth !== width) {
        width = box.current.clientWidth;
        redraw();
      }
    });
    resized.observe(box.current);
    return () => {
      resized.disconnect();
      cancelAnimationFrame(frame.current);
      frame.current = 0;
      instance.current?.destroy?.();
      instance.current = null;
      box.current?.replaceChildren();
    };
  }, [view, open]);
  useEffect(() => {
    if (open) redraw();
  });
  const toggle = () => {
    const closed = new Set(data.view.closed ?? []);
    if (open) closed.add(view.id); else closed.delete(view.id);
    setView({ closed: [...closed] });
  };
  return html`<section class=${`panel view${open ? '' : ' folded'}`} aria-label=${view.title} data-view=${view.id}>
    <header class="panel-head">
      <h2>${view.title}</h2>
      <button class="link fold" aria-expanded=${open} onClick=${toggle}>${open ? 'Hide' : 'Show'}</button>
    </header>
    <div ref=${box} hidden=${!open}></div>
  </section>`;
}

// The union of what the open views need: one inspection request.
function merged(views, data) {
  const request = {};
  for (const v of views) Object.assign(request, v.needs?.(data) ?? {});
  return request;
}

export function Views() {
  const s = state.value;
  const data = {
    spec: s?.spec, view: s?.view ?? {}, report: run.report.value, dataset: run.dataset.value,
    metrics: run.metrics.value, history: run.history.value, inspection: run.inspection.value,
    inspections: run.inspections.value, drawing: run.drawing.value, actions,
  };
  const h = hidden.value;
  const shown = VIEWS.filter((v) => data.report && !h.has(v.id) && v.applies(data));
  const closed = new Set(data.view.closed ?? []);
  const open = shown.filter((v) => !closed.has(v.id));
  useEffect(() => { if (data.report) watch(merged(open, data)); });
  return html`<div class="views">
    ${!h.has('view-options') && html`<div class="view-options">
      <label class="field check"><input type="checkbox" checked=${data.view.log} onChange=${(e) => setView({ log: e.currentTarget.checked })} /><span>Log scale</span></label>
      <label class="field check"><input type="checkbox" checked=${data.view.smooth > 0} onChange=${(e) => setView({ smooth: e.currentTarget.checked ? 0.6 : 0 })} /><span>Smoothing</span></label>
    </div>`}
    ${shown.map((v) => html`<${ViewHost} key=${v.id} view=${v} data=${data} open=${!closed.has(v.id)} />`)}
  </div>`;
}
