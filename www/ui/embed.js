// The Embed dialog: choose the parts an embedded lab hides and whether it
// trains on its own, and get the iframe snippet for the current setup.
import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from './html.js';
import { PARTS } from '../app/url.js';

const DEFAULT_HIDDEN = ['header', 'text', 'presets', 'data', 'model', 'training', 'keep'];

// The current link with the embedding parameters replaced.
export function embedUrl(href, { hide, autoplay }) {
  const url = new URL(href);
  const p = new URLSearchParams(url.hash.slice(1));
  p.delete('hide');
  p.delete('autoplay');
  if (hide.length) p.set('hide', hide.join(','));
  if (autoplay) p.set('autoplay', '1');
  url.hash = p.toString().replaceAll('%2C', ',');
  return url.toString();
}

const escape = (s) => s.replaceAll('&', '&amp;').replaceAll('"', '&quot;').replaceAll('<', '&lt;');

export function EmbedDialog({ close }) {
  const dialog = useRef(null);
  const [hide, setHide] = useState(DEFAULT_HIDDEN);
  const [autoplay, setAutoplay] = useState(true);
  const [height, setHeight] = useState(640);
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    dialog.current.showModal();
  }, []);
  const src = embedUrl(location.href, { hide, autoplay });
  const snippet = `<iframe src="${escape(src)}" width="100%" height="${height}" style="border:0; max-width:700px" loading="lazy" title="nnlab: a neural network training in the page"></iframe>`;
  const toggle = (name) => setHide(hide.includes(name) ? hide.filter((h) => h !== name) : PARTS.map(([n]) => n).filter((n) => n === name || hide.includes(n)));
  const copy = () => navigator.clipboard.writeText(snippet).then(() => { setCopied(true); setTimeout(() => setCopied(false), 2000); }, () => {});
  return html`<dialog ref=${dialog} class="embed-dialog" id="embed-dialog" onClose=${close} aria-label="Embed this lab">
    <h2>Embed this lab</h2>
    <p class="caption">Paste the snippet into a page: it shows this model, data and settings; readers train it in their own browser. Training pauses while the frame is scrolled out of view.</p>
    <fieldset><legend>Hide</legend>
      <div class="hide-parts">${PARTS.map(([name, about]) => html`<label class="field check" title=${about}>
        <input type="checkbox" name="hide" value=${name} checked=${hide.includes(name)} onChange=${() => toggle(name)} /><span>${name}</span></label>`)}</div>
    </fieldset>
    <div class="embed-options">
      <label class="field check"><input type="checkbox" id="embed-autoplay" checked=${autoplay} onChange=${(e) => setAutoplay(e.currentTarget.checked)} /><span>Start training when it loads</span></label>
      <label class="field inline"><span>Height (px)</span>
        <input type="number" id="embed-height" min="200" max="3000" step="10" value=${height} onChange=${(e) => setHeight(Math.max(200, Math.min(3000, Number(e.currentTarget.value) || 640)))} /></label>
    </div>
    <label class="field"><span>Snippet</span><textarea id="embed-snippet" readonly rows="5" onFocus=${(e) => e.currentTarget.select()}>${snippet}</textarea></label>
    <div class="buttons">
      <button class="primary" id="embed-copy" onClick=${copy}>${copied ? 'Copied' : 'Copy snippet'}</button>
      <a class="button" id="embed-preview" href=${src} target="_blank" rel="noopener">Open preview</a>
      <button id="embed-close" onClick=${() => dialog.current.close()}>Close</button>
    </div>
  </dialog>`;
}
