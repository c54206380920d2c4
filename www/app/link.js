// The `s=` part of a link: a setup `{spec, page}` as JSON, compressed with
// the browser's CompressionStream (raw deflate) and written in base64url.
// The worker reads it back with Rust's decodeSetup (crates/nn/src/spec/share.rs),
// which bounds the text, the inflated size and the spec.
export async function packSetup(spec, page = {}) {
  const stream = new Blob([JSON.stringify({ spec, page })]).stream().pipeThrough(new CompressionStream('deflate-raw'));
  const bytes = new Uint8Array(await new Response(stream).arrayBuffer());
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}
