// The "Keep and share" panel: the autosave's state, Download and Open file
// (a session file, also by dropping it on the page), Copy link, Embed, and
// the list of saved sessions to reopen, rename and delete.
import { useState } from 'preact/hooks';
import { signal } from '@preact/signals';
import { html } from './html.js';
import { kept, reopen, importFile, download, downloadPytorch, rename, remove } from '../app/keep.js';
import { run } from '../app/store.js';
import { EmbedDialog } from './embed.js';

const when = (t) => new Date(t).toLocaleString('en', { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
const kib = (n) => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${Math.max(1, Math.round(n / 1024))} KiB`);

// A problem with an opened or dropped file, or a download, shown until the next one.
const fileProblem = signal(null);
const setProblem = (p) => { fileProblem.value = p; };

function SavedRow({ meta, current }) {
  const [name, setName] = useState(meta.name);
  const [problem, setProblem] = useState(null);
  const guard = (task) => () => task().then(() => setProblem(null), (e) => setProblem(e.message));
  return html`<li class=${current ? 'current' : ''} data-id=${meta.id}>
    <input class="session-name" aria-label="Name" value=${name} onInput=${(e) => setName(e.currentTarget.value)}
      onChange=${guard(() => rename(meta.id, name.trim() || meta.name))} />
    <span class="caption">step ${meta.step.toLocaleString('en')}${meta.loss != null ? ` · test loss ${meta.loss.toFixed(3)}` : ''} · ${when(meta.updated)} · ${kib(meta.size)}</span>
    <span class="row-buttons">
      ${current ? html`<em>open now</em>` : html`<button class="open-saved" onClick=${guard(() => reopen(meta.id))}>Open</button>`}
      <button class="delete-saved" onClick=${guard(() => remove(meta.id))}>Delete</button>
    </span>
    ${problem && html`<p class="problem" role="alert">${problem}</p>`}
  </li>`;
}

export function KeepPanel() {
  const problem = fileProblem.value;
  const [copied, setCopied] = useState(false);
  const [embedding, setEmbedding] = useState(false);
  const list = kept.list.value;
  const ready = !!run.report.value;

  const pick = async (e) => {
    const file = e.currentTarget.files?.[0];
    e.currentTarget.value = '';
    if (file) setProblem(await importFile(file));
  };
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(location.href);
      setCopied(true);
      setTimeout(() => setCopied(false), 2000);
    } catch {
      setProblem('The browser did not allow copying: copy the address bar instead, it holds the same link.');
    }
  };
  const saved = kept.savedStep.value;
  return html`<section class="panel keep" aria-label="Keep and share">
    <header class="panel-head"><h2>Keep and share</h2>
      <span class="caption" id="autosave-status">${kept.problem.value ? 'not saved' : saved != null ? `saved at step ${saved.toLocaleString('en')}` : 'saves when you pause'}</span></header>
    ${kept.problem.value && html`<p class="problem" role="alert" id="storage-problem">${kept.problem.value}</p>`}
    <div class="buttons">
      <button id="copy-link" onClick=${copy} disabled=${!ready}>${copied ? 'Link copied' : 'Copy link'}</button>
      <button id="embed" onClick=${() => setEmbedding(true)} disabled=${!ready}>Embed…</button>
      <button id="download" onClick=${() => download().catch((e) => setProblem(e.message))} disabled=${!ready}>Download</button>
      <button id="pytorch" onClick=${() => downloadPytorch().catch((e) => setProblem(e.message))} disabled=${!ready}
        title="A zip with model.py, the weights, the data and a train.py that goes on training (also under torchrun)">PyTorch</button>
      <label class="button" for="session-file">Open file…</label>
      <input type="file" id="session-file" class="visually-hidden" accept=".safetensors,application/octet-stream" onChange=${pick} />
    </div>
    <p class="caption">A link holds the model, its data and settings (not the weights). Download keeps everything, weights and curves too, as one .safetensors file; open it here (or drop it on the page) to continue. PyTorch gives a folder that continues training there (<code>python train.py</code>, or <code>torchrun</code>).</p>
    ${problem && html`<p class="problem" role="alert" id="file-problem">${problem}</p>`}
    ${list.length > 0 && html`<details class="saved" open>
      <summary>Saved in this browser (${list.length})</summary>
      <ul class="saved-list">${list.map((m) => html`<${SavedRow} key=${m.id + m.updated} meta=${m} current=${m.id === kept.id.value} />`)}</ul>
    </details>`}
    ${embedding && html`<${EmbedDialog} close=${() => setEmbedding(false)} />`}
  </section>`;
}

// Dropping a session file anywhere on the page opens it.
export function acceptDrops(target) {
  target.addEventListener('dragover', (e) => {
    if ([...(e.dataTransfer?.types ?? [])].includes('Files')) e.preventDefault();
  });
  target.addEventListener('drop', async (e) => {
    const file = e.dataTransfer?.files?.[0];
    if (!file) return;
    e.preventDefault();
    setProblem(await importFile(file));
  });
}
