/** RFC 6901 JSON pointers: parse, build, resolve, and follow local `$ref`s. */

export function parsePointer(pointer: string): string[] {
  const body = pointer.startsWith('#') ? pointer.slice(1) : pointer;
  if (body === '' || body === '/') return [];
  return body
    .slice(1)
    .split('/')
    .map((s) => decodeUriSafe(s).replace(/~1/g, '/').replace(/~0/g, '~'));
}

export function toPointer(segments: readonly (string | number)[]): string {
  return segments.map((s) => '/' + String(s).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}

function decodeUriSafe(s: string): string {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Resolves a local `#/…` pointer in `doc`; undefined when it points at nothing. */
export function resolvePointer(doc: unknown, ref: string): unknown {
  if (!ref.startsWith('#')) return undefined;
  let node: unknown = doc;
  for (const seg of parsePointer(ref)) {
    if (node === null || typeof node !== 'object') return undefined;
    if (!Object.prototype.hasOwnProperty.call(node, seg)) return undefined;
    node = (node as Record<string, unknown>)[seg];
  }
  return node;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Follows local `$ref`s until a non-reference (or a dead end: undefined), at most 32 hops. */
export function deref(doc: unknown, value: unknown): unknown {
  let node = value;
  for (let i = 0; i < 32 && isObject(node) && typeof node.$ref === 'string'; i++) {
    node = resolvePointer(doc, node.$ref);
  }
  return node;
}
