// The PFN's posterior over a 1D function beside the exact GP's: the PFN's
// density as a heatmap, its mean and 50% / 90% intervals, the GP's mean and
// intervals as dashed lines, the context points (dots) and the held-out
// points (rings). Click to add a point, drag one to move it, double-click
// (or right-click) one to remove it; arrows move a focused point too.
import { prepare, element } from './canvas.js';

const PFN = [8, 119, 189];
const GP = [230, 110, 20];
const PAD = { left: 34, right: 8, top: 8, bottom: 22 };
const HIT = 10;

const rgba = ([r, g, b], a) => `rgba(${r},${g},${b},${a})`;

function frame(w, h, domain, yRange) {
  const pw = w - PAD.left - PAD.right;
  const ph = h - PAD.top - PAD.bottom;
  return {
    px: (x) => PAD.left + ((x - domain[0]) / (domain[1] - domain[0])) * pw,
    py: (y) => PAD.top + ((yRange[1] - y) / (yRange[1] - yRange[0])) * ph,
    x: (px) => domain[0] + ((px - PAD.left) / pw) * (domain[1] - domain[0]),
    y: (py) => yRange[1] - ((py - PAD.top) / ph) * (yRange[1] - yRange[0]),
    pw, ph,
  };
}

function heatmap(ctx, f, curve, grid) {
  const queries = curve.pfn.mean.length;
  const image = new ImageData(queries, grid);
  let max = 0;
  for (const v of curve.density) max = Math.max(max, v);
  for (let q = 0; q < queries; q++) {
    for (let g = 0; g < grid; g++) {
      // sqrt keeps the tails of wide posteriors visible beside sharp ones.
      const t = Math.sqrt(curve.density[q * grid + g] / (max || 1));
      const row = grid - 1 - g;
      image.data.set([255 - 247 * t, 255 - 136 * t, 255 - 66 * t, 255], (row * queries + q) * 4);
    }
  }
  const off = new OffscreenCanvas(queries, grid);
  off.getContext('2d').putImageData(image, 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(off, PAD.left, PAD.top, f.pw, f.ph);
}

function line(ctx, f, xs, ys, style, width, dash = []) {
  ctx.beginPath();
  xs.forEach((x, i) => (i ? ctx.lineTo(f.px(x), f.py(ys[i])) : ctx.moveTo(f.px(x), f.py(ys[i]))));
  ctx.strokeStyle = style;
  ctx.lineWidth = width;
  ctx.setLineDash(dash);
  ctx.stroke();
  ctx.setLineDash([]);
}

function band(ctx, f, xs, lo, hi, fill) {
  ctx.beginPath();
  xs.forEach((x, i) => (i ? ctx.lineTo(f.px(x), f.py(hi[i])) : ctx.moveTo(f.px(x), f.py(hi[i]))));
  for (let i = xs.length - 1; i >= 0; i--) ctx.lineTo(f.px(xs[i]), f.py(lo[i]));
  ctx.closePath();
  ctx.fillStyle = fill;
  ctx.fill();
}

function axes(ctx, f, w, h, domain, yRange) {
  ctx.strokeStyle = '#9aa';
  ctx.lineWidth = 1;
  ctx.strokeRect(PAD.left, PAD.top, f.pw, f.ph);
  ctx.fillStyle = '#555';
  ctx.font = '11px system-ui, sans-serif';
  ctx.textAlign = 'right';
  for (let y = Math.ceil(yRange[0]); y <= yRange[1]; y++) ctx.fillText(String(y), PAD.left - 4, f.py(y) + 4);
  ctx.textAlign = 'center';
  for (let i = 0; i <= 4; i++) {
    const x = domain[0] + (i / 4) * (domain[1] - domain[0]);
    ctx.fillText(String(x), f.px(x), h - 6);
  }
}

export function drawRegression(canvas, { curve, points, heldOut, domain, yRange, queries, grid, focus }) {
  const { ctx, w, h } = prepare(canvas);
  const f = frame(w, h, domain, yRange);
  if (curve) {
    heatmap(ctx, f, curve, grid);
    const p = curve.pfn;
    band(ctx, f, queries, p.q05, p.q95, rgba(PFN, 0.10));
    band(ctx, f, queries, p.q25, p.q75, rgba(PFN, 0.18));
    line(ctx, f, queries, p.mean, rgba(PFN, 1), 2.2);
    if (curve.exact) {
      const e = curve.exact;
      line(ctx, f, queries, e.mean, rgba(GP, 1), 2, [7, 4]);
      for (const [lo, hi, dash] of [[e.q25, e.q75, [4, 3]], [e.q05, e.q95, [1.5, 3]]]) {
        line(ctx, f, queries, lo, rgba(GP, 0.9), 1.4, dash);
        line(ctx, f, queries, hi, rgba(GP, 0.9), 1.4, dash);
      }
    }
  }
  axes(ctx, f, w, h, domain, yRange);
  ctx.save();
  ctx.beginPath();
  ctx.rect(PAD.left, PAD.top, f.pw, f.ph);
  ctx.clip();
  for (const [x, y] of heldOut) {
    ctx.beginPath();
    ctx.arc(f.px(x), f.py(y), 3, 0, 2 * Math.PI);
    ctx.strokeStyle = 'rgba(60,60,60,0.55)';
    ctx.lineWidth = 1;
    ctx.stroke();
  }
  points.forEach(([x, y], i) => {
    ctx.beginPath();
    ctx.arc(f.px(x), f.py(y), i === focus ? 6 : 4.5, 0, 2 * Math.PI);
    ctx.fillStyle = '#111';
    ctx.fill();
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = 1.5;
    ctx.stroke();
  });
  ctx.restore();
  return f;
}

// The interactive canvas: `get()` returns what to draw, `actions` change it.
export function mountRegression(el, get, actions) {
  const canvas = element('canvas', { className: 'pfn-canvas editable', tabIndex: 0 });
  canvas.setAttribute('aria-label', 'The PFN and the exact GP posterior over the function; click to add a point, drag to move one, double-click to remove one');
  el.append(canvas);
  let f = null;
  let dragging = null;
  let focus = null;
  const draw = () => { f = drawRegression(canvas, { ...get(), focus }); };
  const at = (e) => {
    const box = canvas.getBoundingClientRect();
    return [e.clientX - box.left, e.clientY - box.top];
  };
  const nearest = ([mx, my]) => {
    let best = null;
    let bestD = HIT;
    get().points.forEach(([x, y], i) => {
      const d = Math.hypot(f.px(x) - mx, f.py(y) - my);
      if (d <= bestD) { best = i; bestD = d; }
    });
    return best;
  };
  canvas.addEventListener('pointerdown', (e) => {
    if (!f || e.button !== 0) return;
    const m = at(e);
    const hit = nearest(m);
    if (hit === null) {
      const [x, y] = [f.x(m[0]), f.y(m[1])];
      const [lo, hi] = get().domain;
      focus = get().points.length;
      actions.add([Math.min(hi, Math.max(lo, x)), y]);
    } else {
      dragging = hit;
      focus = hit;
      canvas.setPointerCapture(e.pointerId);
    }
    draw();
  });
  canvas.addEventListener('pointermove', (e) => {
    if (dragging === null || !f) return;
    const [mx, my] = at(e);
    actions.move(dragging, [f.x(mx), f.y(my)]);
  });
  const stop = () => { dragging = null; };
  canvas.addEventListener('pointerup', stop);
  canvas.addEventListener('pointercancel', stop);
  const remove = (e) => {
    if (!f) return;
    const hit = nearest(at(e));
    if (hit === null) return;
    e.preventDefault();
    focus = null;
    actions.remove(hit);
  };
  canvas.addEventListener('dblclick', remove);
  canvas.addEventListener('contextmenu', remove);
  canvas.addEventListener('keydown', (e) => {
    const pts = get().points;
    if (focus === null || focus >= pts.length) return;
    const [x, y] = pts[focus];
    const moves = { ArrowLeft: [-0.01, 0], ArrowRight: [0.01, 0], ArrowUp: [0, 0.05], ArrowDown: [0, -0.05] };
    if (moves[e.key]) {
      e.preventDefault();
      actions.move(focus, [x + moves[e.key][0], y + moves[e.key][1]]);
    } else if (e.key === 'Delete' || e.key === 'Backspace') {
      e.preventDefault();
      actions.remove(focus);
      focus = null;
    }
  });
  return { canvas, draw };
}
