// Hosts the registered views that apply to the current model, each in its own
// panel, and feeds them the run's data (at most once per animation frame)
// and the actions a view may offer (editing the 2D data by clicking).
import { useEffect, useRef } from 'preact/hooks';
import { html } from './html.js';
import { state, run, hidden, setView, editPoints } from '../app/store.js';
import { VIEWS } from '../viz/registry.js';

function ViewHost({ view, data }) {
  const box = useRef(null);
  const instance = useRef(null);
  const frame = useRef(0);
  const latest = useRef(data);
  latest.current = data;
  useEffect(() => {
    instance.current = view.mount(box.current);
    instance.current.update(latest.current);
    return () => {
      cancelAnimationFrame(frame.current);
      instance.current?.destroy?.();
    };
  }, [view]);
  useEffect(() => {
    frame.current ||= requestAnimationFrame(() => {
      frame.current = 0;
      instance.current?.update(latest.current);
    });
  });
  return html`<section class="panel view" aria-label=${view.title} data-view=${view.id}>
    <header class="panel-head"><h2>${view.title}</h2></header>
    <div ref=${box}></div>
  </section>`;
}

export function Views() {
  const s = state.value;
  const data = {
    spec: s?.spec, view: s?.view ?? {}, report: run.report.value, dataset: run.dataset.value,
    metrics: run.metrics.value, history: run.history.value, actions: { editPoints },
  };
  const h = hidden.value;
  const shown = VIEWS.filter((v) => data.report && !h.has(v.id) && v.applies(data));
  return html`<div class="views">
    ${!h.has('view-options') && html`<div class="view-options">
      <label class="field check"><input type="checkbox" checked=${data.view.log} onChange=${(e) => setView({ log: e.currentTarget.checked })} /><span>Log scale</span></label>
      <label class="field check"><input type="checkbox" checked=${data.view.smooth > 0} onChange=${(e) => setView({ smooth: e.currentTarget.checked ? 0.6 : 0 })} /><span>Smoothing</span></label>
    </div>`}
    ${shown.map((v) => html`<${ViewHost} key=${v.id} view=${v} data=${data} />`)}
  </div>`;
}
