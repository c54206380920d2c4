// The PFN view's state in the URL hash, in both directions. Reading never
// throws: what cannot be used is left out and listed in `problems`.
//
//   #pfn=gp                 the regression view (a fresh, drawn dataset)
//   &kernel=rbf&ls=0.3|unknown&os=1&noise=0.1
//                           the exact GP compared with (ls=unknown: lengthscale uniform in [0.1, 0.6],
//                           and the PFN trained for it)
//   &c=x:y,x:y,...          the context points;  &h=x:y,...  the held-out points
//   #pfn=tabular&table=iris&train=0.5
//                           in-context classification of a shipped table (an uploaded one stays in the tab)
//   #pfn=train              train a small PFN here on the GP above, against the exact GP
//   &hide=header,text,tabs,gp  for embedding: the title bar, the texts, the task tabs, the GP panel
export const VIEWS = ['gp', 'tabular', 'train'];
export const TABLES = ['iris', 'wine', 'breast-cancer'];
export const TRAIN_RANGE = [0.1, 0.9];
export const HIDEABLE = ['header', 'text', 'tabs', 'gp'];
export const KERNELS = ['rbf', 'matern12', 'matern32', 'matern52'];
export const DOMAIN = [0, 1];
export const MAX_POINTS = 200;
// Hyperparameter ranges the controls allow.
export const RANGES = { ls: [0.02, 2], os: [0.05, 5], noise: [0.01, 1] };

export const DEFAULTS = Object.freeze({ kernel: 'rbf', ls: 0.3, os: 1, noise: 0.1 });

export const isPfnHash = (hash) => /^#pfn(=|&|$)/.test(hash);

function number(text, [lo, hi]) {
  const v = Number(text);
  return Number.isFinite(v) && v >= lo && v <= hi ? v : null;
}

function points(text, name, problems) {
  if (!text) return [];
  const out = [];
  const parts = text.split(',').slice(0, MAX_POINTS + 1);
  if (parts.length > MAX_POINTS) problems.push(`only the first ${MAX_POINTS} ${name} points are used`);
  for (const part of parts.slice(0, MAX_POINTS)) {
    const [x, y] = part.split(':').map(Number);
    if (!Number.isFinite(x) || !Number.isFinite(y) || Math.abs(y) > 1e6) {
      problems.push(`the ${name} point "${part.slice(0, 30)}" is not two numbers`);
    } else if (x < DOMAIN[0] || x > DOMAIN[1]) {
      problems.push(`the ${name} point at x = ${x} lies outside the plotted domain [${DOMAIN[0]}, ${DOMAIN[1]}] and was left out`);
    } else {
      out.push([x, y]);
    }
  }
  return out;
}

// {view, kernel, ls, os, noise, context, heldOut, table, train} and the problems met.
export function pfnFromHash(hash) {
  const p = new URLSearchParams(hash.replace(/^#/, ''));
  const problems = [];
  const view = p.get('pfn') || 'gp';
  const out = { view: VIEWS.includes(view) ? view : 'gp', ...DEFAULTS, context: null, heldOut: [], table: TABLES[0], train: 0.5, hide: [] };
  if (p.has('hide')) {
    const asked = p.get('hide').split(',').filter(Boolean);
    out.hide = asked.filter((h) => HIDEABLE.includes(h));
    const unknown = asked.filter((h) => !HIDEABLE.includes(h));
    if (unknown.length) problems.push(`hide names parts the PFN page does not have (${unknown.join(', ').slice(0, 60)}; it has ${HIDEABLE.join(', ')})`);
  }
  if (!VIEWS.includes(view)) problems.push(`there is no PFN view "${view.slice(0, 30)}"`);
  if (p.has('table')) {
    if (TABLES.includes(p.get('table'))) out.table = p.get('table');
    else problems.push(`there is no table "${p.get('table').slice(0, 30)}" (there are ${TABLES.join(', ')}; upload any other)`);
  }
  if (p.has('train')) {
    const v = number(p.get('train'), TRAIN_RANGE);
    if (v === null) problems.push(`train=${p.get('train').slice(0, 30)} is not a share in [${TRAIN_RANGE.join(', ')}]`);
    else out.train = v;
  }
  if (p.has('kernel')) {
    if (KERNELS.includes(p.get('kernel'))) out.kernel = p.get('kernel');
    else problems.push(`the kernel "${p.get('kernel').slice(0, 30)}" is not one of ${KERNELS.join(', ')}`);
  }
  for (const key of ['ls', 'os', 'noise']) {
    if (!p.has(key)) continue;
    if (key === 'ls' && p.get(key) === 'unknown') { out.ls = 'unknown'; continue; }
    const v = number(p.get(key), RANGES[key]);
    if (v === null) problems.push(`${key}=${p.get(key).slice(0, 30)} is not a number in [${RANGES[key].join(', ')}]`);
    else out[key] = v;
  }
  if (p.has('c')) out.context = points(p.get('c'), 'context', problems);
  out.heldOut = points(p.get('h'), 'held-out', problems);
  return { pfn: out, problems };
}

const fmt = (v) => String(Math.round(v * 1000) / 1000);

export function pfnToHash(s) {
  const p = new URLSearchParams();
  p.set('pfn', s.view);
  for (const key of ['kernel', 'ls', 'os', 'noise']) if (s[key] !== DEFAULTS[key]) p.set(key, String(s[key]));
  if (s.view === 'tabular') {
    if (TABLES.includes(s.table)) p.set('table', s.table);
    if (s.train !== 0.5) p.set('train', String(s.train));
  }
  if (s.hide?.length) p.set('hide', s.hide.join(','));
  p.set('c', s.context.map(([x, y]) => `${fmt(x)}:${fmt(y)}`).join(','));
  if (s.heldOut.length) p.set('h', s.heldOut.map(([x, y]) => `${fmt(x)}:${fmt(y)}`).join(','));
  return `#${p.toString().replaceAll('%3A', ':').replaceAll('%2C', ',')}`;
}
