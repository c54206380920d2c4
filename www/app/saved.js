// Saved sessions in IndexedDB (through the `idb` package): each one is the
// session file the Download button gives (safetensors: weights, optimizer
// state, step, spec with its data, the page's curves and view), kept under
// an id with a name. The list reads only the small `sessions` records; the
// files sit in their own store and are read when one is opened.
//
// Storage can fail (a full disk, a private window, a browser that forbids
// IndexedDB): every function rejects with an Error whose message says so in
// plain words, and nothing here deletes anything the user did not delete.
import { openDB } from 'idb';

const DB = 'nnlab';
let db = null;

function plain(e) {
  const name = e?.name ?? '';
  if (name === 'QuotaExceededError') return 'the browser\'s storage for this site is full: delete saved sessions you no longer need, or download this one';
  if (name === 'InvalidStateError' || name === 'SecurityError' || name === 'UnknownError') return 'this browser does not let the page store data (a private window, or storage turned off for this site)';
  return e?.message ?? String(e);
}

async function store(task) {
  try {
    db ??= await openDB(DB, 1, {
      upgrade(d) {
        d.createObjectStore('sessions', { keyPath: 'id' });
        d.createObjectStore('files');
      },
      // Another tab upgraded the database: let it, and reopen next time.
      blocking() { db?.close(); db = null; },
    });
    return await task(db);
  } catch (e) {
    if (e?.name === 'InvalidStateError') db = null;
    throw Object.assign(new Error(plain(e)), { kind: 'storage', path: null });
  }
}

export const newId = () => (crypto.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`);

// Writes `meta` ({id, name, preset, hash, step, loss, updated}) and its file
// in one transaction: both or neither.
export function put(meta, bytes) {
  return store(async (d) => {
    const tx = d.transaction(['sessions', 'files'], 'readwrite');
    const old = await tx.objectStore('sessions').get(meta.id);
    await Promise.all([
      tx.objectStore('sessions').put({ ...meta, name: old?.name ?? meta.name, size: bytes.byteLength }),
      tx.objectStore('files').put(bytes, meta.id),
      tx.done,
    ]);
  });
}

// Every saved session's record, the latest first.
export const list = () => store(async (d) => (await d.getAll('sessions')).sort((a, b) => b.updated - a.updated));

export const get = (id) => store((d) => d.get('sessions', id));

export const file = (id) => store((d) => d.get('files', id));

export function rename(id, name) {
  return store(async (d) => {
    const tx = d.transaction('sessions', 'readwrite');
    const meta = await tx.store.get(id);
    if (meta) await tx.store.put({ ...meta, name });
    await tx.done;
  });
}

export function remove(id) {
  return store(async (d) => {
    const tx = d.transaction(['sessions', 'files'], 'readwrite');
    await Promise.all([tx.objectStore('sessions').delete(id), tx.objectStore('files').delete(id), tx.done]);
  });
}

// How much the site stores and may store, when the browser says.
export async function usage() {
  try {
    const { usage: used, quota } = (await navigator.storage?.estimate?.()) ?? {};
    return used == null ? null : { used, quota };
  } catch {
    return null;
  }
}
