/** RFC 6901 JSON pointers: parse, build, escape, resolve, and follow local `$ref`s. */
import { isObject } from '../json.js';

export function parsePointer(pointer: string): string[] {
  const body = pointer.startsWith('#') ? pointer.slice(1) : pointer;
  if (body === '' || body === '/') return [];
  return body
    .slice(1)
    .split('/')
    .map((s) => unescapePointerToken(decodeUriSafe(s)));
}

export function toPointer(segments: readonly (string | number)[]): string {
  return segments.map((s) => '/' + escapePointerToken(String(s))).join('');
}

/** RFC 6901 escaping of one reference token (`~` → `~0`, `/` → `~1`). */
export function escapePointerToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** The inverse of {@link escapePointerToken}. */
export function unescapePointerToken(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** Characters RFC 3986 allows in a fragment besides unreserved ones: sub-delims, ":", "@", "/", "?". */
const FRAGMENT_SAFE = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/?]$/;

/** One reference token, JSON-pointer escaped and percent-encoded for use in a URI fragment. */
export function encodeFragmentToken(token: string): string {
  let out = '';
  for (const char of escapePointerToken(token)) {
    if (FRAGMENT_SAFE.test(char)) {
      out += char;
    } else {
      try {
        out += encodeURIComponent(char);
      } catch {
        out += '%EF%BF%BD'; // a lone surrogate: U+FFFD
      }
    }
  }
  return out;
}

function decodeUriSafe(s: string): string {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * The value at `tokens` below `root`: an array is entered by a canonical index only, an object by an own
 * property only (never an inherited one such as `constructor`); undefined when nothing is there.
 */
export function valueAt(root: unknown, tokens: readonly string[]): unknown {
  let node = root;
  for (const token of tokens) {
    if (Array.isArray(node)) {
      if (!/^(0|[1-9][0-9]*)$/.test(token)) return undefined;
      node = node[Number(token)];
    } else if (isObject(node)) {
      if (!Object.prototype.hasOwnProperty.call(node, token)) return undefined;
      node = node[token];
    } else {
      return undefined;
    }
  }
  return node;
}

/**
 * The tokens of the pointer a local `#…` ref names in `doc`, when something is there. The fragment is tried
 * percent-decoded first (as a URI fragment), then literally (for a ref written with raw characters).
 */
export function locatePointer(doc: unknown, ref: string): string[] | undefined {
  if (!ref.startsWith('#')) return undefined;
  const fragment = ref.slice(1);
  const candidates: string[] = [];
  try {
    candidates.push(decodeURIComponent(fragment));
  } catch {
    // malformed percent-encoding: take the fragment literally
  }
  if (!candidates.includes(fragment)) candidates.push(fragment);
  for (const pointer of candidates) {
    if (pointer !== '' && !pointer.startsWith('/')) continue;
    const tokens = pointer === '' ? [] : pointer.slice(1).split('/').map(unescapePointerToken);
    if (valueAt(doc, tokens) !== undefined) return tokens;
  }
  return undefined;
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

/** Follows local `$ref`s until a non-reference (or a dead end: undefined), at most 32 hops. */
export function deref(doc: unknown, value: unknown): unknown {
  let node = value;
  for (let i = 0; i < 32 && isObject(node) && typeof node.$ref === 'string'; i++) {
    node = resolvePointer(doc, node.$ref);
  }
  return node;
}
