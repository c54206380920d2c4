// The page inside another page's iframe: a compact layout, training paused
// while the frame is scrolled out of view (and resumed when it is back, if it
// was training), and a message channel to the embedding page, which the JS
// API's `embed()` (www/embed.js) uses:
//   to the parent:   {source: 'nnlab', event: 'ready' | 'metrics' | 'playing' | 'error', ...}
//   from the parent: {target: 'nnlab', command: 'play' | 'pause' | 'step' | 'reset'}
import { run, act, play, pause, step, reset } from './store.js';

const COMMANDS = { play, pause, step, reset };

export function embedding(lab, root) {
  const framed = window.parent !== window;
  document.documentElement.classList.toggle('embedded', framed);
  if (!framed) return;
  const tell = (event, data) => window.parent.postMessage({ source: 'nnlab', event, ...data }, '*');
  for (const event of ['metrics', 'playing', 'error']) {
    lab.on(event, (data) => {
      const { grid, ...rest } = data;  // the decision grid is the page's own business
      tell(event, rest);
    });
  }
  tell('ready', { report: run.report.value, metrics: run.metrics.value });
  window.addEventListener('message', ({ data }) => {
    if (data?.target === 'nnlab' && Object.hasOwn(COMMANDS, data.command)) COMMANDS[data.command]();
  });

  // IntersectionObserver with no root reports visibility in the top-level
  // viewport, through every frame (cross-origin ones included).
  // The pause is an action like any other: back in view before it has run,
  // the resume waits its turn behind it (actions run in order) and then
  // looks at the status, so a quick scroll away and back keeps training
  // while a pause or error that came from elsewhere is left alone.
  let pausedOffscreen = false;
  new IntersectionObserver(([entry]) => {
    if (!entry.isIntersecting && run.status.value === 'playing') {
      pausedOffscreen = true;
      pause();
    } else if (entry.isIntersecting && pausedOffscreen) {
      pausedOffscreen = false;
      act(async () => { if (run.status.value === 'ready') await lab.play(); });
    }
  }).observe(root);
}
