// Shared canvas helpers for the views: a crisp backing store on HiDPI
// screens, and the playground's diverging colour scale.

// TF Playground's scale: orange (-1 / class 0) through grey to blue (+1 / class 1).
const ORANGE = [245, 147, 34];
const GREY = [232, 234, 235];
const BLUE = [8, 119, 189];

export function colour(v) {
  const t = Math.min(1, Math.abs(v)) || 0;
  const end = v < 0 ? ORANGE : BLUE;
  return GREY.map((c, i) => Math.round(c + (end[i] - c) * t));
}

export const css = ([r, g, b], a = 1) => `rgba(${r},${g},${b},${a})`;

// Sizes the backing store to the displayed size; returns the 2D context and size.
export function prepare(canvas) {
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

// The largest magnitude in `values` (1 when all are zero), to scale them to [-1, 1].
export function absMax(values) {
  let max = 0;
  for (const v of values) max = Math.max(max, Math.abs(v));
  return max || 1;
}

// A heatmap: `rows` x `cols` cells filling the canvas, each coloured by `fill(r, c)`.
export function drawCells(canvas, rows, cols, fill) {
  const { ctx, w, h } = prepare(canvas);
  const cw = w / cols;
  const ch = h / rows;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      ctx.fillStyle = fill(r, c);
      ctx.fillRect(c * cw, r * ch, cw + 0.5, ch + 0.5);
    }
  }
}

export function element(tag, props = {}, ...children) {
  const el = Object.assign(document.createElement(tag), props);
  el.append(...children);
  return el;
}

// White (0) to blue (1): for values that are shares, like attention weights.
export function heat(v) {
  const t = Math.min(1, Math.max(0, v)) || 0;
  return `rgb(${Math.round(255 - 247 * t)},${Math.round(255 - 136 * t)},${Math.round(255 - 66 * t)})`;
}

// Small heatmaps side by side on one canvas, `perRow` to a row: each tile is
// {rows, cols, at(r, c) -> colour}. The canvas takes the width it is given
// (CSS) and the height the tiles need.
export function drawTiles(canvas, tiles, { perRow, gap = 2, maxCell = 24 }) {
  if (!tiles.length) return;
  const width = canvas.getBoundingClientRect().width || canvas.width;
  const across = Math.min(perRow, tiles.length);
  const { rows, cols } = tiles[0];
  const cell = Math.max(1, Math.min(maxCell, (width - gap * (across - 1)) / (across * cols)));
  const tileW = cell * cols;
  const tileH = cell * rows;
  const height = Math.ceil(tiles.length / across) * (tileH + gap) - gap;
  canvas.style.height = `${Math.round(height)}px`;
  const { ctx } = prepare(canvas);
  tiles.forEach((tile, k) => {
    const x0 = (k % across) * (tileW + gap);
    const y0 = Math.floor(k / across) * (tileH + gap);
    for (let r = 0; r < tile.rows; r++) {
      for (let c = 0; c < tile.cols; c++) {
        ctx.fillStyle = tile.at(r, c);
        ctx.fillRect(x0 + c * cell, y0 + r * cell, cell + 0.3, cell + 0.3);
      }
    }
  });
}
