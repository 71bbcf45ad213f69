/**
 * JSON is parsed with an order-preserving parser (so keys such as `"404"` before `"200"` keep their order)
 * and re-serialised with the file's indentation.
 */

import { BackdevError } from '../../errors.js';
import { locateOffset } from '../locate.js';
import type { Obj } from '../../json.js';
import type { SpecChanges } from './changes.js';

/** A number kept as written, so re-serialising does not change `1.0` or big integers. */
class JsonNumber {
  constructor(readonly raw: string) {}
}
export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | Map<string, JsonValue>;

export function parseJson(text: string, fileName: string): JsonValue {
  let i = 0;
  const fail = (message: string, at = i): never => {
    throw new BackdevError('SPEC_SYNTAX', `invalid JSON: ${message}`, { location: locateOffset(fileName, text, at) });
  };
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const describe = () => (i >= text.length ? 'end of input' : JSON.stringify(text[i]));
  const value = (): JsonValue => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const map = new Map<string, JsonValue>();
      ws();
      if (text[i] === '}') {
        i++;
        return map;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail(`expected a property name in double quotes, found ${describe()}`);
        const key = string();
        ws();
        if (text[i] !== ':') fail(`expected ":" after property name, found ${describe()}`);
        i++;
        const v = value();
        if (map.has(key)) map.delete(key);
        map.set(key, v);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return map;
        }
        fail(`expected "," or "}" after a property value, found ${describe()}`);
      }
    }
    if (c === '[') {
      i++;
      const list: JsonValue[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return list;
      }
      for (;;) {
        list.push(value());
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return list;
        }
        fail(`expected "," or "]" after an array element, found ${describe()}`);
      }
    }
    if (c === '"') return string();
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (m && m[0] !== '-') {
      i += m[0].length;
      return new JsonNumber(m[0]);
    }
    for (const [word, v] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    return fail(`unexpected ${describe()}`);
  };
  const string = (): string => {
    const start = i;
    i++;
    for (;;) {
      if (i >= text.length) fail('unterminated string', start);
      const c = text.charCodeAt(i);
      if (c === 0x22) break;
      if (c < 0x20) fail('control character in string');
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail('invalid \\u escape');
          i += 6;
          continue;
        }
        if (e === undefined || !'"\\/bfnrt'.includes(e)) fail('invalid escape in string');
        i += 2;
        continue;
      }
      i++;
    }
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const result = value();
  ws();
  if (i < text.length) fail(`unexpected ${describe()} after the document`);
  return result;
}

export function toPlain(value: JsonValue): unknown {
  if (value instanceof JsonNumber) return Number(value.raw);
  if (Array.isArray(value)) return value.map(toPlain);
  if (value instanceof Map) {
    const out: Obj = {};
    for (const [k, v] of value)
      Object.defineProperty(out, k, { value: toPlain(v), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return value;
}

function stringifyJson(value: unknown, indent: string, eol: string, depth = 0): string {
  if (value instanceof JsonNumber) return value.raw;
  const inner = eol + indent.repeat(depth + 1);
  const outer = eol + indent.repeat(depth);
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[${inner}${value.map((v) => stringifyJson(v, indent, eol, depth + 1)).join(`,${inner}`)}${outer}]`;
  }
  if (value instanceof Map || (typeof value === 'object' && value !== null)) {
    const entries = value instanceof Map ? [...value.entries()] : Object.entries(value);
    if (entries.length === 0) return '{}';
    const parts = entries.map(([k, v]) => `${JSON.stringify(k)}: ${stringifyJson(v, indent, eol, depth + 1)}`);
    return `{${inner}${parts.join(`,${inner}`)}${outer}}`;
  }
  return JSON.stringify(value);
}

export function editJson(text: string, root: JsonValue, plan: SpecChanges): string {
  const top = root as Map<string, JsonValue>;
  const mapAt = (parent: Map<string, JsonValue>, key: string): Map<string, JsonValue> => {
    const existing = parent.get(key);
    if (existing instanceof Map) return existing;
    const created = new Map<string, JsonValue>();
    parent.set(key, created);
    return created;
  };
  const asJson = (v: unknown) => v as JsonValue;
  if (plan.paths.length > 0) {
    const paths = mapAt(top, 'paths');
    for (const [key, value] of plan.paths) paths.set(key, asJson(value));
  }
  if (plan.schemas.length > 0) {
    const schemas = mapAt(mapAt(top, 'components'), 'schemas');
    for (const [key, value] of plan.schemas) schemas.set(key, asJson(value));
  }
  if (plan.responses && plan.responses.length > 0) {
    const responses = mapAt(mapAt(top, 'components'), 'responses');
    for (const [key, value] of plan.responses) responses.set(key, asJson(value));
  }
  if (plan.securitySchemes && plan.securitySchemes.length > 0) {
    const schemes = mapAt(mapAt(top, 'components'), 'securitySchemes');
    for (const [key, value] of plan.securitySchemes) schemes.set(key, asJson(value));
  }
  if (plan.tag !== undefined) (top.get('tags') as JsonValue[]).push(asJson(plan.tag));
  for (const { path, entries } of plan.inserts ?? []) {
    const map = path.reduce(mapAt, top);
    for (const [key, value] of entries) map.set(key, asJson(value));
  }
  for (const { path, items } of plan.appends ?? []) {
    const list = path.reduce<JsonValue | undefined>((node, key) => (node instanceof Map ? node.get(key) : undefined), top);
    if (!Array.isArray(list)) throw new Error(`no list at ${path.join('.')}`);
    for (const item of items) list.push(asJson(item));
  }

  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const indent = /\n([ \t]+)\S/.exec(text)?.[1] ?? '  ';
  const trailing = /\r?\n$/.test(text) ? eol : '';
  const leading = /^\s*/.exec(text)![0];
  return leading + stringifyJson(top, indent, eol) + trailing;
}
