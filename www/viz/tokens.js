// A sequence model run token by token: each click feeds the next token of a
// test sequence (or one typed in) to the model in the worker, whose layers
// carry their states from one call to the next (an RNN's h and c, Aaren's
// running sums, S4D's modes, causal attention's tokens so far). Shows the
// output after each token, what each layer carries now, and, once the whole
// sequence is in, that the last output is the one the model gives the
// sequence at once.
import { colour, css, element, absMax, drawCells } from './canvas.js';
import { examplePicker, chosenExample } from './pickers.js';
import { seriesChart } from './series.js';

const MAX_EDITED = 8;        // features of a token that can be typed in
const COLS = 32;             // a state's numbers per row of cells
const MAX_ROWS = 16;
const REFRESH_MS = 700;      // while training: the tokens run again on the new weights at most this often
const CARRIED = {
  rnn: 'h of every layer', gru: 'h of every layer', lstm: 'h and c of every layer',
  aaren: 'running max, normaliser and weighted sum of values', s4d: 'complex modes per channel (real parts, then imaginary)',
  attention: 'every token so far', transformer_encoder: 'every token so far, as its attention reads them',
};

const sameTokens = (a, b) => a.length === b.length && a.every((t, i) => t.every((v, j) => v === b[i][j]));

export default {
  id: 'tokens',
  title: 'Token by token',
  applies: ({ report }) => (report?.tokens?.layers ?? 0) > 0,
  mount(el) {
    let current = null;
    let fed = [];            // the tokens fed, each an array of numbers
    let outputs = [];        // the output after each token (the first sequence's)
    let states = [];         // what each layer carries after the last token
    let grew = new Set();    // paths whose state grew with the last token
    let whole = null;        // the whole sequence's output, when `fed` is exactly the example
    let busy = false;
    let pending = [];        // tokens clicked in while others were on their way
    let sending = [];        // the tokens of the call on its way now
    let shownStep = null;    // the weights the outputs are of
    let lastRefresh = 0;
    let key = '';            // the run and example the tokens belong to
    let report = null;
    let problem = '';
    let timer = 0;

    const example = examplePicker((patch) => current.actions.setView(patch));
    const next = element('button', { type: 'button', textContent: 'Next token', className: 'next-token' });
    const rest = element('button', { type: 'button', textContent: 'Feed the rest', className: 'feed-rest' });
    const reset = element('button', { type: 'button', textContent: 'Reset', className: 'reset-tokens' });
    const editor = element('span', { className: 'token-editor' });
    const status = element('p', { className: 'token-status' });
    status.setAttribute('role', 'status');
    const input = element('canvas', { className: 'sequence-input' });
    const chartBox = element('div', { className: 'token-outputs' });
    const chart = seriesChart(chartBox, { title: 'Output after each token', xLabel: 'token' });
    const carried = element('div', { className: 'carried' });
    const caption = element('p', { className: 'caption' });
    el.append(
      element('div', { className: 'pickers' }, example.el),
      element('div', { className: 'token-controls' }, editor, next, rest, reset),
      status, input, chartBox, carried, caption,
    );

    const tokenWidth = (data) => data.report.input.slice(1).reduce((a, b) => a * b, 1);
    // The chosen test example as a list of tokens.
    const exampleTokens = (data) => {
      const [t] = data.report.input;
      const f = tokenWidth(data);
      const i = chosenExample(data);
      const x = data.dataset.test.x;
      return Array.from({ length: t }, (_, k) => Array.from(x.subarray((i * t + k) * f, (i * t + k + 1) * f)));
    };
    const inputs = () => [...editor.querySelectorAll('input')];
    // Where the next token clicked in goes: after those fed, on their way and waiting.
    const position = () => fed.length + sending.length + pending.length;
    // The token the editor holds: the example's next one unless typed over.
    let editorFor = '';
    const fillEditor = () => {
      // Refilled only for a new position: what a person typed stays while the views redraw.
      const at = position();
      if (editorFor === `${key}|${at}`) return;
      editorFor = `${key}|${at}`;
      const f = tokenWidth(current);
      const upcoming = exampleTokens(current)[at] ?? new Array(f).fill(0);
      if (inputs().length !== f) {
        editor.replaceChildren(...(f <= MAX_EDITED ? upcoming.map((_, j) => {
          const box = element('input', { type: 'number', step: 'any', className: 'token-value' });
          box.setAttribute('aria-label', `Next token, feature ${j + 1}`);
          return box;
        }) : []));
        if (f <= MAX_EDITED) editor.prepend(element('span', { textContent: 'Next token' }));
      }
      // Shown rounded; a box left as shown feeds the exact value.
      inputs().forEach((box, j) => { box.value = box.dataset.shown = String(+upcoming[j].toPrecision(4)); });
    };
    const typed = () => {
      const upcoming = exampleTokens(current)[position()] ?? new Array(tokenWidth(current)).fill(0);
      const boxes = inputs();
      const edited = (b) => b.value !== b.dataset.shown && b.value !== '' && Number.isFinite(Number(b.value));
      return boxes.length ? boxes.map((b, j) => (edited(b) ? Number(b.value) : upcoming[j])) : upcoming;
    };

    const clear = () => {
      fed = []; pending = []; sending = []; outputs = []; states = []; whole = null; problem = ''; grew = new Set();
    };

    // Clicks queue their tokens; one call at a time takes all that waited.
    const enqueue = (tokens) => {
      pending.push(...tokens);
      fillEditor();
      if (!busy) feed();
    };

    // Feeds `more` tokens after those fed; with `again`, every token from the
    // start (new weights, or the worker started new sequences).
    const feed = async (again = false) => {
      if (busy || !current || !(pending.length || (again && fed.length))) return;
      const more = pending;
      pending = [];
      sending = more;
      busy = true;
      const data = current;
      const mine = key;
      const step = data.metrics?.step ?? 0;
      const expected = fed.length + more.length;
      const send = (tokens, fresh) => data.actions.feedTokens(Float32Array.from(tokens.flat()), 1, tokens.length, { reset: fresh });
      try {
        let fresh = again || shownStep !== step;
        let r = await send(fresh ? [...fed, ...more] : more, fresh);
        if (r.position !== expected) {
          // Training in between started new sequences: run them all again.
          fresh = true;
          r = await send([...fed, ...more], true);
        }
        if (mine !== key) return;
        const per = r.outputShape.reduce((a, b) => a * b, 1);
        const fromThisCall = Array.from({ length: r.outputs.length / per }, (_, k) => r.outputs.slice(k * per, (k + 1) * per));
        const before = new Map(states.map((s) => [s.path, s.size]));
        outputs = fresh ? fromThisCall : [...outputs, ...fromThisCall];
        fed = [...fed, ...more];
        sending = [];
        grew = new Set(r.states.filter((s) => before.has(s.path) && s.size > before.get(s.path)).map((s) => s.path));
        states = r.states;
        shownStep = step;
        problem = '';
        const all = exampleTokens(data);
        whole = sameTokens(fed, all) ? Array.from(await data.actions.predict(Float32Array.from(all.flat()), 1)) : null;
      } catch (e) {
        problem = e.message;
      } finally {
        busy = false;
        sending = [];
        lastRefresh = performance.now();
      }
      if (mine === key && current) {
        show();
        if (pending.length) feed(); else refresh();
      }
    };

    // New weights: the tokens fed run again on them (at most every REFRESH_MS).
    function refresh() {
      clearTimeout(timer);
      const step = current?.metrics?.step ?? 0;
      if (!fed.length || shownStep === null || step === shownStep) return;
      const wait = lastRefresh + REFRESH_MS - performance.now();
      if (busy || wait > 0) timer = setTimeout(refresh, Math.max(wait, 50));
      else feed(true);
    }

    next.addEventListener('click', () => enqueue([typed()]));
    rest.addEventListener('click', () => {
      const all = exampleTokens(current);
      const at = position();
      enqueue(at < all.length ? all.slice(at) : [typed()]);
    });
    reset.addEventListener('click', () => {
      clear();
      shownStep = null;
      show();
    });

    const names = (data, per) => {
      if (data.dataset?.classes) return Array.from({ length: per }, (_, c) => `p(class ${c % data.dataset.classes})`);
      return per === 1 ? ['output'] : Array.from({ length: per }, (_, j) => `output ${j + 1}`);
    };
    const number = (v) => (Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(2) : String(+v.toFixed(4)));

    function drawState(s) {
      const shown = Math.min(s.size, COLS * MAX_ROWS);
      const values = s.values.slice(0, shown);
      const cols = Math.min(COLS, shown);
      const rows = Math.ceil(shown / cols);
      const canvas = element('canvas', { className: 'state-cells' });
      canvas.dataset.path = s.path;
      canvas.dataset.size = String(s.size);
      canvas.style.height = `${Math.max(10, rows * 10)}px`;
      const label = element('p', {
        className: 'state-label',
        textContent: `${s.path} · ${s.kind}: ${s.size.toLocaleString('en')} numbers${grew.has(s.path) ? ', growing with every token' : ''} (${CARRIED[s.kind] ?? 'its state'})${shown < s.size ? `; the first ${shown} shown` : ''}`,
      });
      const box = element('figure', { className: 'state' }, label, canvas);
      carried.append(box);
      const max = absMax(values);
      drawCells(canvas, rows, cols, (r, c) => (r * cols + c < shown ? css(colour(values[r * cols + c] / max)) : '#fff'));
    }

    function show() {
      const data = current;
      const all = exampleTokens(data);
      fillEditor();
      const per = outputs[0]?.length ?? 0;
      const last = outputs[outputs.length - 1];
      const target = data.dataset.test.y;
      const yLen = target.length / data.dataset.test.n;
      const y = Array.from(target.subarray(chosenExample(data) * yLen, (chosenExample(data) + 1) * yLen));
      if (problem) {
        status.textContent = `The model could not take that token: ${problem}`;
      } else if (!fed.length) {
        status.textContent = `Feed test example ${chosenExample(data)} one token at a time (${all.length} tokens), or type a token in.`;
      } else {
        const said = data.dataset.classes ? `class ${last.indexOf(Math.max(...last))} (p = ${number(Math.max(...last))})` : last.map(number).join(', ');
        let text = `After ${fed.length} token${fed.length === 1 ? '' : 's'}: ${said}`;
        if (whole) {
          const diff = Math.max(...whole.map((v, j) => Math.abs(v - last[j])));
          text += `. The whole sequence at once: ${data.dataset.classes ? `p = ${number(whole[last.indexOf(Math.max(...last))])}` : whole.map(number).join(', ')} (largest difference ${diff.toExponential(1)}); target ${y.map(number).join(', ')}.`;
          status.dataset.difference = String(diff);
        } else {
          text += fed.length < all.length ? ` (target after all ${all.length}: ${y.map(number).join(', ')})` : '';
          delete status.dataset.difference;
        }
        status.textContent = text;
      }
      status.dataset.position = String(fed.length);
      status.dataset.step = String(shownStep ?? '');
      status.dataset.output = last ? last.join(',') : '';
      const f = tokenWidth(data);
      const shownTokens = Math.max(fed.length, 1);
      const xMax = absMax(fed.flat());
      input.style.height = `${Math.min(60, Math.max(12, f * 10))}px`;
      drawCells(input, Math.min(f, 16), shownTokens, (r, c) => (fed[c] ? css(colour(fed[c][r] / xMax)) : '#fff'));
      if (per) {
        const shownOut = Math.min(per, 12);
        chart.set(names(data, per).slice(0, shownOut), outputs.map((_, k) => k + 1), Array.from({ length: shownOut }, (_, j) => outputs.map((o) => o[j])));
      }
      chartBox.hidden = !per;
      carried.replaceChildren();
      for (const s of states) drawState(s);
      const stepwise = data.report.tokens.layers;
      const total = data.report.layers.filter((l) => !l.path.includes('.')).length;
      caption.textContent = `Every click sends one token to the model; each layer keeps what it needs of the tokens before (below, after the last token: orange negative, blue positive) and the next call carries on from it. `
        + `${stepwise === 1 ? 'The first layer runs' : `The first ${stepwise} layers run`} a token at a time${stepwise < total ? `; the rest run on their output for the sequence so far` : ''}. `
        + `A recurrent layer's state stays the same size however long the sequence; causal attention's grows with every token. Training starts new sequences: the tokens fed run again on the new weights.`;
    }

    return {
      update(data) {
        current = data;
        example.update(data);
        const k = `${data.report.input.join('x')}|${data.spec?.name}|${chosenExample(data)}|${data.dataset?.test.n}`;
        if (k !== key || data.report !== report) {
          key = k;
          report = data.report;
          clear();
          shownStep = null;
        }
        refresh();
        show();
      },
      destroy() {
        key = '';
        clearTimeout(timer);
        chart.destroy();
      },
    };
  },
};
