// A lab in the author's own element: the nnlab page in an iframe, set up by
// its link (see the README's embed parameters), driven and listened to
// through messages.
//
//   import { embed } from 'nnlab';
//   const lab = embed(document.querySelector('#figure'), {
//     preset: 'playground-spiral',          // or spec: {...}
//     hide: ['header', 'text', 'data', 'model', 'training', 'keep', 'presets'],
//     autoplay: true, backend: 'auto', height: 640,
//   });
//   lab.on('metrics', (m) => { if (m.testLoss < 0.1) ... });
//   lab.pause(); lab.play(); lab.step(); lab.reset(); lab.destroy();

// The lab page this package is served beside (npm/nnlab/ in the nnlab site).
const DEFAULT_PAGE = new URL('../../index.html', import.meta.url).href;
const EVENTS = ['ready', 'metrics', 'playing', 'error'];

// The lab page's address for these options.
export function labUrl({ page = DEFAULT_PAGE, spec = null, preset = null, hide = [], autoplay = false, backend = 'auto' } = {}) {
  const p = new URLSearchParams();
  if (spec) p.set('spec', JSON.stringify(spec));
  else if (preset) p.set('preset', preset);
  if (backend !== 'auto') p.set('backend', backend);
  if (hide.length) p.set('hide', hide.join(','));
  if (autoplay) p.set('autoplay', '1');
  const url = new URL(page, location.href);
  url.hash = p.toString().replaceAll('%2C', ',');
  return url.href;
}

export function embed(element, options = {}) {
  const iframe = document.createElement('iframe');
  iframe.src = labUrl(options);
  iframe.title = options.title ?? 'nnlab: a neural network training in the page';
  iframe.loading = 'lazy';
  Object.assign(iframe.style, { border: '0', width: '100%', height: `${options.height ?? 640}px` });
  const listeners = new Map(EVENTS.map((e) => [e, new Set()]));
  const receive = ({ source, data }) => {
    if (source !== iframe.contentWindow || data?.source !== 'nnlab') return;
    for (const fn of listeners.get(data.event) ?? []) fn(data);
  };
  window.addEventListener('message', receive);
  element.append(iframe);
  const send = (command) => iframe.contentWindow?.postMessage({ target: 'nnlab', command }, new URL(iframe.src).origin);
  return {
    iframe,
    // 'ready' | 'metrics' | 'playing' | 'error'; returns an unsubscribe function.
    on(event, fn) {
      const set = listeners.get(event);
      if (!set) throw new Error(`unknown event "${event}" (expected ${EVENTS.join(', ')})`);
      set.add(fn);
      return () => set.delete(fn);
    },
    play: () => send('play'),
    pause: () => send('pause'),
    step: () => send('step'),
    reset: () => send('reset'),
    destroy() {
      window.removeEventListener('message', receive);
      iframe.remove();
    },
  };
}
