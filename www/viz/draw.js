// Draw a digit and ask the model: strokes on a 32x32 bitmap become the 8x8
// counts of ink in 4x4 blocks (0..16, divided by 16), exactly how
// scikit-learn's digits were made from their scans. The model's class
// probabilities and the feature maps of the drawing follow the pen, and keep
// following while the model trains.
import { element, prepare } from './canvas.js';
import { channelProbes, drawChannels } from './features.js';
import { chosenLayer } from './pickers.js';

const BITMAP = 32;
const SIDE = 8;
const PEN = 4;         // stroke width in bitmap pixels, about the scans' pen
const LIVE_MS = 120;   // at most one request per this while the pen moves

const isDigits = (d) => d.classes === 10 && d.xShape.join() === '1,8,8';

function sample(bitmap) {
  const px = bitmap.getContext('2d').getImageData(0, 0, BITMAP, BITMAP).data;
  const block = BITMAP / SIDE;
  const out = new Array(SIDE * SIDE).fill(0);
  for (let y = 0; y < BITMAP; y++) {
    for (let x = 0; x < BITMAP; x++) if (px[(y * BITMAP + x) * 4 + 3] > 127) out[Math.floor(y / block) * SIDE + Math.floor(x / block)] += 1;
  }
  return out.map((n) => n / (block * block));
}

function paint(canvas, bitmap, values) {
  const { ctx, w, h } = prepare(canvas);
  const cell = w / SIDE;
  for (let k = 0; k < SIDE * SIDE; k++) {
    const level = Math.round(255 - 255 * values[k]);
    ctx.fillStyle = `rgb(${level},${level},${level})`;
    ctx.fillRect((k % SIDE) * cell, Math.floor(k / SIDE) * cell, cell + 0.5, cell + 0.5);
  }
  ctx.globalAlpha = 0.25;
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(bitmap, 0, 0, w, h);
  ctx.globalAlpha = 1;
}

export default {
  id: 'draw',
  title: 'Draw a digit',
  applies: ({ dataset }) => isDigits(dataset),
  needs: ({ drawing }) => (drawing ? { input: drawing } : {}),
  mount(el) {
    const bitmap = new OffscreenCanvas(BITMAP, BITMAP);
    const pen = bitmap.getContext('2d');
    const pad = element('canvas', { width: 240, height: 240, className: 'square drawing' });
    pad.setAttribute('aria-label', 'Draw a digit here');
    const clear = element('button', { type: 'button', textContent: 'Clear' });
    const verdict = element('p', { className: 'verdict', textContent: 'Draw a digit, large, filling the box.' });
    const bars = element('ol', { className: 'probabilities' });
    const maps = element('canvas', { className: 'tiles', hidden: true });
    const caption = element('p', { className: 'caption' });
    el.append(element('div', { className: 'draw-layout' }, pad, element('div', { className: 'answer' }, verdict, bars, clear)), maps, caption);
    let current = null;
    let values = new Array(SIDE * SIDE).fill(0);
    let restored = false;           // a drawing kept from before this view was mounted
    let result = null;              // {probed, stamp}
    let seen = null;                // the last inspection object read
    let stamp = 0;
    let lastAsk = 0;
    let asking = false;
    let last = null;

    const show = () => {
      if (!result) return;
      const { output, probes } = result.probed;
      let best = 0;
      for (let k = 1; k < output.length; k++) if (output[k] > output[best]) best = k;
      verdict.textContent = `The model says ${best} (${(output[best] * 100).toFixed(1)}%)`;
      verdict.dataset.predicted = String(best);
      bars.replaceChildren(...output.map((p, k) => {
        const li = element('li', { title: `${k}: ${(p * 100).toFixed(2)}%` }, element('span', { textContent: String(k) }), element('i'), element('b', { textContent: `${(p * 100).toFixed(0)}%` }));
        li.dataset.p = String(p);
        li.querySelector('i').style.width = `${(p * 100).toFixed(1)}%`;
        return li;
      }));
      const channels = channelProbes({ probes }, current.report);
      if (channels.length) {
        const path = chosenLayer(current, channels.map((c) => c.path));
        const probe = channels.find((c) => c.path === path);
        maps.hidden = false;
        drawChannels(maps, probe);
        caption.textContent = `The drawing as the model sees it (8×8, left), and the channels of ${path} for it (choose the layer in the feature maps or the model graph).`;
      }
    };
    const ask = async () => {
      if (asking || !current) return;
      asking = true;
      lastAsk = performance.now();
      const mine = ++stamp;
      const input = values.slice();
      try {
        const r = await current.actions.inspect({ input });
        if (mine === stamp) { result = { probed: r.drawing }; show(); }
      } catch {
        // The run was replaced mid-request; the next stroke asks again.
      } finally {
        asking = false;
      }
    };
    const redraw = () => {
      values = sample(bitmap);
      paint(pad, bitmap, values);
      if (performance.now() - lastAsk > LIVE_MS) ask();
    };
    const at = (e) => {
      const box = pad.getBoundingClientRect();
      return [((e.clientX - box.left) / box.width) * BITMAP, ((e.clientY - box.top) / box.height) * BITMAP];
    };
    pad.addEventListener('pointerdown', (e) => {
      pad.setPointerCapture(e.pointerId);
      last = at(e);
      pen.fillStyle = '#000';
      pen.beginPath();
      pen.arc(last[0], last[1], PEN / 2, 0, 2 * Math.PI);
      pen.fill();
      redraw();
    });
    pad.addEventListener('pointermove', (e) => {
      if (!last) return;
      const p = at(e);
      pen.strokeStyle = '#000';
      pen.lineWidth = PEN;
      pen.lineCap = 'round';
      pen.beginPath();
      pen.moveTo(...last);
      pen.lineTo(...p);
      pen.stroke();
      last = p;
      redraw();
    });
    const end = () => {
      if (!last) return;
      last = null;
      redraw();
      ask();
      current.actions.setDrawing(values.slice());
    };
    pad.addEventListener('pointerup', end);
    pad.addEventListener('pointercancel', end);
    clear.addEventListener('click', () => {
      pen.clearRect(0, 0, BITMAP, BITMAP);
      values = new Array(SIDE * SIDE).fill(0);
      result = null;
      stamp += 1;
      paint(pad, bitmap, values);
      bars.replaceChildren();
      maps.hidden = true;
      caption.textContent = '';
      verdict.textContent = 'Draw a digit, large, filling the box.';
      delete verdict.dataset.predicted;
      current.actions.setDrawing(null);
    });
    return {
      update(data) {
        current = data;
        if (!restored && data.drawing) values = data.drawing.slice();
        restored = true;
        if (data.inspection !== seen) {
          seen = data.inspection;
          // While training, the watched drawing comes back with every metrics event.
          if (seen?.drawing && data.drawing) { result = { probed: seen.drawing }; stamp += 1; }
        }
        paint(pad, bitmap, values);
        show();
      },
    };
  },
};
