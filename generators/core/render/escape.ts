/**
 * The one place where spec text becomes code text. Templates print spec strings only through these
 * functions (exposed as Handlebars helpers), so that no description, enum value, default or name can end
 * a comment, a string or a template literal early, or run code when the generated module is imported.
 */
import { isSafeIdentifier } from '../ir/names.js';

/** Text that `stringLiteral` puts between quotes as it is: no quote, backslash, control or line separator character, no surrogate. */
// eslint-disable-next-line no-control-regex
const PLAIN_STRING = /^[^'\\\u0000-\u001f\u2028\u2029\ud800-\udfff]*$/;

/**
 * A single-quoted JavaScript string literal for any value (numbers and booleans are stringified). Built
 * from JSON.stringify, so every control character is escaped; then `\"` is unescaped, `'` escaped, and the
 * line separators U+2028/U+2029 escaped (legal in string literals, but not in the comments around them).
 */
export function stringLiteral(value: unknown): string {
  const text = String(value ?? '');
  // Most strings need no escape at all: the same literal, without the JSON round trip.
  if (PLAIN_STRING.test(text)) return `'${text}'`;
  const json = JSON.stringify(text);
  const body = json.slice(1, -1).replace(/\\.|'|[\u2028\u2029]/g, (m) => {
    if (m === '\\"') return '"';
    if (m === "'") return "\\'";
    if (m === '\u2028') return '\\u2028';
    if (m === '\u2029') return '\\u2029';
    return m;
  });
  return `'${body}'`;
}

/** An identifier that is already known to be safe; anything else is a bug in the view model. */
export function identifier(value: unknown): string {
  if (typeof value !== 'string' || !isSafeIdentifier(value)) {
    throw new TypeError(`not a safe identifier: ${JSON.stringify(value)} (names must come from names.ts)`);
  }
  return value;
}

/** An object-literal key: bare when it looks like an identifier, quoted otherwise, computed for `__proto__`. */
export function propertyKey(name: string): string {
  if (name === '__proto__') return "['__proto__']";
  // Reserved words are fine as property names; only the shape of an identifier matters.
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) || /^(?:0|[1-9][0-9]*)$/.test(name) ? name : stringLiteral(name);
}

/**
 * Text for the inside of a `/** … *\/` comment: `*\/` cannot close the comment, line breaks of every kind
 * become comment lines, control characters are dropped. `indent` is the prefix of continuation lines.
 */
export function docText(value: unknown, indent = ' * '): string {
  const text = String(value ?? '')
    .replace(/\r\n?|[\u2028\u2029\u0085]/g, '\n')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '')
    .replace(/\*\//g, '*\\/')
    .replace(/@(?=[a-zA-Z])/g, '@\u200b')
    .trim();
  return text.split('\n').map((line) => line.trimEnd()).join(`\n${indent}`);
}

/** A single-line comment body (`// …`): line breaks become spaces. */
export function lineComment(value: unknown): string {
  return docText(value, '').replace(/\n/g, ' ');
}

/**
 * A JavaScript expression for JSON data, indented by `indent` spaces per level: objects, arrays, strings,
 * numbers, booleans, null. Keys go through `propertyKey`, strings through `stringLiteral`.
 */
export function jsonLiteral(value: unknown, indent = 2, depth = 0): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return stringLiteral(value);
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  if (typeof value === 'boolean') return String(value);
  const pad = ' '.repeat(indent * (depth + 1));
  const end = ' '.repeat(indent * depth);
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    if (value.every((v) => v === null || typeof v !== 'object')) {
      const inline = `[${value.map((v) => jsonLiteral(v)).join(', ')}]`;
      if (inline.length <= 80) return inline;
    }
    return `[\n${value.map((v) => pad + jsonLiteral(v, indent, depth + 1)).join(',\n')},\n${end}]`;
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return '{}';
    return `{\n${entries.map(([k, v]) => `${pad}${propertyKey(k)}: ${jsonLiteral(v, indent, depth + 1)}`).join(',\n')},\n${end}}`;
  }
  return 'null';
}
