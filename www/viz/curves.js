// Loss curves (training and test) and, for classifiers, accuracy curves,
// drawn with uPlot; a log scale and exponential smoothing can be toggled.
import uPlot from 'uplot';
import { element } from './canvas.js';

// Exponential moving average for display (TensorBoard's smoothing slider).
function smooth(values, factor) {
  if (!factor) return values;
  let avg = null;
  return values.map((v) => {
    if (v == null || !Number.isFinite(v)) return v;
    avg = avg == null ? v : avg * factor + v * (1 - factor);
    return avg;
  });
}

function chart(el, title, log, percent) {
  const width = Math.max(240, el.clientWidth || 480);
  const opts = {
    title, width, height: 200,
    scales: { x: { time: false }, y: log ? { distr: 3 } : { range: percent ? [0, 1] : undefined } },
    axes: [{ label: 'step' }, { values: percent ? (u, ticks) => ticks.map((t) => `${Math.round(t * 100)}%`) : undefined, size: 56 }],
    series: [{ label: 'step' }, { label: 'train', stroke: '#9aa0a6', width: 1.5 }, { label: 'test', stroke: '#111', width: 1.5 }],
    legend: { live: false },
  };
  return new uPlot(opts, [[], [], []], el);
}

export default {
  id: 'curves',
  title: 'Training curves',
  applies: () => true,
  mount(el) {
    const lossBox = element('div', { className: 'chart' });
    const accBox = element('div', { className: 'chart' });
    el.append(lossBox, accBox);
    let loss = null;
    let acc = null;
    let key = '';
    const resize = () => {
      for (const [c, box] of [[loss, lossBox], [acc, accBox]]) if (c) c.setSize({ width: Math.max(240, box.clientWidth), height: 200 });
    };
    const observer = new ResizeObserver(resize);
    observer.observe(el);
    return {
      update({ history, dataset, view }) {
        const classes = dataset?.classes != null;
        const k = `${view.log}|${classes}`;
        if (k !== key) {
          loss?.destroy();
          acc?.destroy();
          loss = chart(lossBox, 'Loss', view.log, false);
          acc = classes ? chart(accBox, 'Accuracy', false, true) : null;
          accBox.hidden = !classes;
          key = k;
        }
        const steps = history.map((p) => p.step);
        const pos = (v) => (view.log && !(v > 0) ? null : v);
        loss.setData([steps, smooth(history.map((p) => pos(p.trainLoss)), view.smooth), smooth(history.map((p) => pos(p.testLoss)), view.smooth)]);
        acc?.setData([steps, smooth(history.map((p) => p.trainAccuracy), view.smooth), smooth(history.map((p) => p.testAccuracy), view.smooth)]);
      },
      destroy() {
        observer.disconnect();
        loss?.destroy();
        acc?.destroy();
      },
    };
  },
};
