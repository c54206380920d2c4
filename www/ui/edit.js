// Editing the spec from any control: a change at a path makes a new spec,
// which the store accepts (then the model is rebuilt) or refuses with an
// error for a path, shown next to that control; the model stays as it was.
import { signal } from '@preact/signals';
import { setSpec, editAt } from '../app/store.js';
import { html } from './html.js';

export const editError = signal(null);   // {path, message} of the last refused edit

async function settle(pending) {
  const error = await pending;
  editError.value = error ? { path: error.path ?? '', message: error.message } : null;
  return error;
}

export const propose = (spec) => settle(setSpec(spec));

// `value` may be a function of the value at `path` when the edit's turn comes.
export const commitAt = (path, value) => settle(editAt(path, value));

// The message for exactly `path`, if the last refused edit named it.
export function errorAt(path) {
  const e = editError.value;
  return e && e.path === path ? e.message : null;
}

// A refused edit whose path `wanted(path)` says this panel shows (e.g.
// "layers" or "input": paths no single control has).
export function EditProblem({ wanted }) {
  const e = editError.value;
  if (!e || !wanted(e.path)) return null;
  return html`<p class="problem" role="alert">${e.path ? html`<code>${e.path}</code>: ` : ''}${e.message}</p>`;
}
