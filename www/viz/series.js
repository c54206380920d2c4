// A uPlot chart of several named series over training steps, rebuilt when
// the set of series changes (uPlot fixes its series at creation).
import uPlot from 'uplot';

export const PALETTE = ['#0877bd', '#f59322', '#2e7d32', '#8e24aa', '#c62828', '#00838f', '#6d4c41', '#455a64', '#d81b60', '#9e9d24', '#3949ab', '#000000'];

// A log axis spans many decades: small and large ticks in exponent form.
const logTick = (t) => (t == null ? '' : Math.abs(t) < 1e-3 || Math.abs(t) >= 1e4 ? t.toExponential(0) : String(+t.toPrecision(3)));

export function seriesChart(box, { title, log = false, percent = false, xLabel = 'step', xValues = null }) {
  let chart = null;
  let key = '';
  const width = () => Math.max(240, box.clientWidth || 420);
  const observer = new ResizeObserver(() => chart?.setSize({ width: width(), height: 200 }));
  observer.observe(box);
  return {
    // names: the series' labels; steps: x values; columns: one array of y values per name.
    set(names, steps, columns) {
      const k = names.join('|');
      if (k !== key) {
        chart?.destroy();
        key = k;
        chart = new uPlot({
          title, width: width(), height: 200,
          scales: { x: { time: false }, y: log ? { distr: 3 } : { range: percent ? [0, 1] : undefined } },
          axes: [{ label: xLabel, ...(xValues ? { values: (u, ticks) => ticks.map(xValues) } : {}) }, { size: 56, values: percent ? (u, ticks) => ticks.map((t) => `${Math.round(t * 100)}%`) : log ? (u, ticks) => ticks.map(logTick) : undefined }],
          series: [{ label: xLabel }, ...names.map((label, i) => ({ label, stroke: PALETTE[i % PALETTE.length], width: 1.5 }))],
          legend: { live: false },
        }, [steps, ...columns], box);
      } else chart.setData([steps, ...columns]);
    },
    destroy() {
      observer.disconnect();
      chart?.destroy();
    },
  };
}
