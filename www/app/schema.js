// Reading the spec's JSON Schema (generated from the Rust types, so the one
// source of every field, default and limit): what kind of control a field
// needs, the variants of a tagged union, and the path names errors use.

export function resolve(node, defs) {
  let n = node ?? {};
  for (let i = 0; n.$ref && i < 16; i++) n = defs[n.$ref.replace('#/$defs/', '')] ?? {};
  return n;
}

const types = (n) => (Array.isArray(n.type) ? n.type : n.type ? [n.type] : []);

// The constant values of an enum-like node (enum, or oneOf/anyOf of consts), or null.
function enumValues(n, defs) {
  n = resolve(n, defs);
  if (n.enum) return n.enum;
  if (n.const !== undefined) return [n.const];
  const parts = n.oneOf ?? n.anyOf;
  if (!parts) return null;
  const values = [];
  for (const p of parts) {
    const v = enumValues(p, defs);
    if (!v) return null;
    values.push(...v);
  }
  return values;
}

// Splits `anyOf: [X, {type: null}]` into X and nullable.
function unwrapNull(n, defs) {
  n = resolve(n, defs);
  const parts = n.anyOf;
  if (parts?.length === 2 && parts.some((p) => p.type === 'null')) {
    return { node: resolve(parts.find((p) => p.type !== 'null'), defs), nullable: true, base: n };
  }
  const t = types(n);
  if (t.includes('null')) return { node: { ...n, type: t.filter((x) => x !== 'null')[0] }, nullable: true, base: n };
  return { node: n, nullable: false, base: n };
}

// A tagged union: oneOf objects that each fix `tag` to a constant.
function unionOf(n, defs) {
  const parts = n.oneOf;
  if (!parts?.length) return null;
  const variants = parts.map((p) => resolve(p, defs));
  if (!variants.every((v) => v.type === 'object' && v.properties)) return null;
  const tag = Object.keys(variants[0].properties).find((k) => variants.every((v) => v.properties[k]?.const !== undefined));
  if (!tag) return null;
  return { tag, variants: variants.map((v) => ({ value: v.properties[tag].const, description: v.description ?? '', node: v })) };
}

// What control a property needs: {kind, nullable, min, max, options, ...}.
export function fieldOf(prop, defs) {
  const { node: n, nullable, base } = unwrapNull(prop, defs);
  const description = base.description ?? prop?.description ?? n.description ?? '';
  const common = { nullable, description, default: base.default ?? prop?.default };
  if (prop?.$ref === '#/$defs/Size2' || base === defs.Size2) return { kind: 'size', ...common };
  if (prop?.$ref === '#/$defs/PaddingSpec') return { kind: 'padding', ...common };
  const values = enumValues(n, defs);
  if (values && values.every((v) => typeof v === 'string')) return { kind: 'enum', options: values, ...common };
  const union = unionOf(n, defs);
  if (union) return { kind: 'union', ...union, ...common };
  const t = types(n)[0];
  if (t === 'integer' || t === 'number') {
    return { kind: t === 'integer' ? 'int' : 'num', min: n.minimum, max: n.maximum, ...common };
  }
  if (t === 'boolean') return { kind: 'bool', ...common };
  if (t === 'array') {
    const items = resolve(n.items, defs);
    if (n.items?.$ref === '#/$defs/LayerSpec') return { kind: 'layers', ...common };
    if (types(items)[0] === 'string') return { kind: 'strings', ...common };
    if (types(items)[0] === 'integer') return { kind: 'shape', ...common };
    if (types(items)[0] === 'number') return { kind: 'numbers', ...common };
  }
  if (t === 'object' && n.properties) return { kind: 'object', node: n, ...common };
  return { kind: 'text', ...common };
}

// The variants of the layer union: [{value: 'conv2d', description, node}].
export function layerTypes(schema) {
  return unionOf(resolve({ $ref: '#/$defs/LayerSpec' }, schema.$defs), schema.$defs).variants;
}

// A path as the Rust side names it: ['layers', 3, 'kernel'] -> "layers[3].kernel".
export function pathName(path) {
  return path.reduce((s, p) => (typeof p === 'number' ? `${s}[${p}]` : s ? `${s}.${p}` : p), '');
}

// A copy of `obj` with the value at `path` replaced (or removed for undefined).
export function setIn(obj, path, value) {
  if (!path.length) return value;
  const [head, ...rest] = path;
  const copy = Array.isArray(obj) ? [...obj] : { ...(obj ?? {}) };
  const next = setIn(copy[head], rest, value);
  if (next === undefined) {
    if (Array.isArray(copy)) copy.splice(head, 1);
    else delete copy[head];
  } else copy[head] = next;
  return copy;
}

export function getIn(obj, path) {
  return path.reduce((o, p) => (o == null ? undefined : o[p]), obj);
}

// A fresh value for a union variant: its required fields at their defaults,
// or at the smallest value the schema allows.
export function variantDefaults(variant, tag, defs) {
  const out = { [tag]: variant.value };
  for (const key of variant.node.required ?? []) {
    if (key === tag) continue;
    const f = fieldOf(variant.node.properties[key], defs);
    out[key] = f.default ?? starter(f, key);
  }
  return out;
}

function starter(f, key) {
  const guesses = { out: 16, hidden: 32, heads: 2, ff: 64, kernel: 3, num: 16, dim: 16, state: 16, p: 0.1, steps: 1, maxLen: 64, samples: 1000, length: 20, lr: 0.001 };
  if (key in guesses) return guesses[key];
  if (f.kind === 'int' || f.kind === 'num') return Math.max(f.min ?? 1, 1);
  if (f.kind === 'enum') return f.options[0];
  if (f.kind === 'bool') return false;
  if (f.kind === 'layers' || f.kind === 'strings') return [];
  if (f.kind === 'size') return 3;
  return '';
}
