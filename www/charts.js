// Canvas drawing for the decision boundary and the loss curves (no chart library).

// TF Playground's diverging scale: orange (-1 / class 0) through grey to blue (+1 / class 1).
const ORANGE = [245, 147, 34];
const GREY = [232, 234, 235];
const BLUE = [8, 119, 189];

export function colour(v) {
  const t = Math.min(1, Math.abs(v)) || 0;
  const end = v < 0 ? ORANGE : BLUE;
  return GREY.map((c, i) => Math.round(c + (end[i] - c) * t));
}

const css = ([r, g, b], a = 1) => `rgba(${r},${g},${b},${a})`;

// Sizes the backing store to the displayed size so lines stay crisp on HiDPI screens.
function prepare(canvas) {
  const box = canvas.getBoundingClientRect();
  const w = Math.round(box.width) || canvas.width;
  const h = Math.round(box.height) || canvas.height;
  const dpr = window.devicePixelRatio || 1;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  return { ctx, w, h };
}

const heat = document.createElement('canvas');

// grid: res*res values, row 0 at y = +1 (top), column 0 at x = -1 (left).
// Classification values are probabilities, so they are mapped to [-1, 1] first.
export function drawBoundary(canvas, { grid, res, data }) {
  const { ctx, w, h } = prepare(canvas);
  const classify = data?.task !== 'regression';
  if (grid && res) {
    heat.width = heat.height = res;
    const hctx = heat.getContext('2d');
    const img = hctx.createImageData(res, res);
    for (let i = 0; i < res * res; i++) {
      // Washed out a little so the data points stay visible on top.
      const [r, g, b] = colour(classify ? 2 * grid[i] - 1 : grid[i]).map((c) => c + (255 - c) * 0.25);
      img.data.set([r, g, b, 255], i * 4);
    }
    hctx.putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(heat, 0, 0, w, h);
  } else {
    ctx.fillStyle = css(GREY);
    ctx.fillRect(0, 0, w, h);
  }
  if (!data) return;

  const label = (y) => colour(classify ? 2 * y - 1 : y);
  const dots = (xs, ys, test) => {
    for (let i = 0; i < ys.length; i++) {
      const px = ((xs[2 * i] + 1) / 2) * w;
      const py = ((1 - xs[2 * i + 1]) / 2) * h;
      ctx.beginPath();
      ctx.arc(px, py, test ? 3 : 3.5, 0, 2 * Math.PI);
      ctx.fillStyle = test ? 'rgba(255,255,255,0.7)' : css(label(ys[i]));
      ctx.strokeStyle = test ? css(label(ys[i])) : '#fff';
      ctx.lineWidth = test ? 1.5 : 1;
      ctx.fill();
      ctx.stroke();
    }
  };
  dots(data.testX, data.testY, true);
  dots(data.trainX, data.trainY, false);
}

// history: [{step, train, test}], drawn as two lines against step.
export function drawLossChart(canvas, history) {
  const { ctx, w, h } = prepare(canvas);
  const pad = { left: 48, right: 12, top: 24, bottom: 28 };
  const pw = w - pad.left - pad.right;
  const ph = h - pad.top - pad.bottom;
  const finite = history.flatMap((p) => [p.train, p.test]).filter(Number.isFinite);
  // With nothing to plot yet, an axis from 0 to 1 reads better than five zeros.
  const yMax = finite.length ? Math.max(...finite, 1e-6) * 1.05 : 1;
  const x0 = history.length ? history[0].step : 0;
  const last = history.length ? history[history.length - 1].step : 0;
  const x1 = Math.max(x0 + 1, last);
  const X = (s) => pad.left + ((s - x0) / (x1 - x0)) * pw;
  const Y = (v) => pad.top + ph - (v / yMax) * ph;

  ctx.font = '11px system-ui, sans-serif';
  ctx.fillStyle = '#666';
  ctx.strokeStyle = '#e4e4e4';
  ctx.lineWidth = 1;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    ctx.beginPath();
    ctx.moveTo(pad.left, Y(v));
    ctx.lineTo(pad.left + pw, Y(v));
    ctx.stroke();
    ctx.fillText(v.toFixed(yMax < 0.1 ? 3 : 2), pad.left - 6, Y(v));
  }
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  ctx.fillText(`step ${x0}`, pad.left + 24, pad.top + ph + 8);
  ctx.fillText(`step ${last}`, pad.left + pw - 24, pad.top + ph + 8);

  const line = (key, colourName, width) => {
    ctx.beginPath();
    let pen = false;
    for (const p of history) {
      if (!Number.isFinite(p[key])) { pen = false; continue; }
      ctx[pen ? 'lineTo' : 'moveTo'](X(p.step), Y(p[key]));
      pen = true;
    }
    ctx.strokeStyle = colourName;
    ctx.lineWidth = width;
    ctx.stroke();
  };
  line('train', '#999', 1.5);
  line('test', '#222', 2);

  // Legend, top right.
  ctx.textAlign = 'left';
  ctx.textBaseline = 'middle';
  [['train', '#999'], ['test', '#222']].forEach(([name, c], i) => {
    const lx = pad.left + pw - 110 + i * 58;
    ctx.fillStyle = c;
    ctx.fillRect(lx, 8, 14, 3);
    ctx.fillStyle = '#444';
    ctx.fillText(name, lx + 18, 10);
  });
}
