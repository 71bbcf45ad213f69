/**
 * Requests for one operation, derived from its schemas: `valid` (plain values), `edge` (valid but hostile:
 * NUL bytes, long strings, unicode, extreme dates and numbers, random cursors) and `invalid` (exactly one
 * rule broken: wrong type, missing required, extra property where `additionalProperties: false`, out of
 * range, non-finite numbers, too long, pattern, format, null, enum, malformed JSON, wrong content type).
 * Ids the server returned earlier are reused (path parameters, reference fields) so handlers get past 404s.
 */
import type { Rng } from './rng.js';
import type { Schema, SchemaSet } from './schema.js';
import type { MediaSpec, OperationSpec, ParamSpec } from './spec.js';
import { facts, scalarViolations, ValueGenerator, type Violation } from './values.js';
import { isObject, type Obj } from '../../../generators/core/json.js';

export type RequestKind = 'valid' | 'edge' | 'invalid';

export interface PlannedRequest {
  kind: RequestKind;
  op: OperationSpec;
  method: string;
  /** Path and query string. */
  url: string;
  headers: Record<string, string>;
  body: string | undefined;
  /** For invalid requests: the rule broken (`body /price: wrong type (string for number)`). */
  what: string;
}

// ---------------------------------------------------------------------------------------------------------
// Ids seen in responses

/** Values of id-like properties from successful responses, by the collection path they came from. */
export class IdPool {
  private readonly byCollection = new Map<string, unknown[]>();
  /** Page cursors (`nextCursor`, `next_page_token` …) the server returned. */
  readonly cursors: string[] = [];

  static collectionOf(path: string): string {
    return path.replace(/\/\{[^}]+\}$/, '') || '/';
  }

  harvest(op: OperationSpec, body: unknown): void {
    const collection = IdPool.collectionOf(op.path);
    const visit = (v: unknown, depth: number) => {
      if (depth > 3) return;
      if (Array.isArray(v)) {
        for (const item of v.slice(0, 20)) visit(item, depth + 1);
      } else if (isObject(v)) {
        for (const [k, x] of Object.entries(v)) {
          if ((k === 'id' || k === 'uuid') && (typeof x === 'string' || typeof x === 'number')) this.add(collection, x);
          else if (/cursor|token/i.test(k) && typeof x === 'string' && x !== '' && !this.cursors.includes(x)) {
            this.cursors.push(x);
            if (this.cursors.length > 50) this.cursors.shift();
          } else if (isObject(x) || Array.isArray(x)) visit(x, depth + 1);
        }
      }
    };
    visit(body, 0);
  }

  private add(collection: string, value: unknown): void {
    let list = this.byCollection.get(collection);
    if (!list) this.byCollection.set(collection, (list = []));
    if (list.includes(value)) return;
    list.push(value);
    if (list.length > 200) list.shift();
  }

  forget(value: unknown): void {
    for (const list of this.byCollection.values()) {
      const i = list.indexOf(value);
      if (i >= 0) list.splice(i, 1);
    }
  }

  /** Ids of the collection at `path`, or of a collection whose last segment starts like `field`. */
  candidates(path: string | undefined, field: string | undefined): unknown[] {
    if (path !== undefined) return this.byCollection.get(path) ?? [];
    if (field === undefined) return [];
    const stem = field.replace(/_?ids?$/i, '').toLowerCase();
    if (stem.length < 2) return [];
    const out: unknown[] = [];
    for (const [collection, list] of this.byCollection) {
      const last = collection.split('/').pop()!.toLowerCase();
      if (last.startsWith(stem)) out.push(...list);
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Parameters as strings

/** How a server reads a parameter's strings, by the schema's types; undefined when no reading fits. */
export function decodeParam(schemas: SchemaSet, p: ParamSpec, strings: string[]): unknown {
  const f = facts(schemas, p.schema);
  const types = f.types.size > 0 ? [...f.types] : ['string', 'number', 'boolean', 'array', 'object'];
  const scalar = (s: string, t: string): unknown => {
    if (t === 'string') return s;
    if (t === 'integer' || t === 'number') {
      if (s.trim() === '') return undefined;
      const n = Number(s);
      if (!Number.isFinite(n)) return undefined;
      if (t === 'integer' && !Number.isInteger(n)) return undefined;
      return n;
    }
    if (t === 'boolean') return s === 'true' ? true : s === 'false' ? false : undefined;
    return undefined;
  };
  for (const t of types) {
    let v: unknown;
    if (t === 'array') {
      const parts = strings.length === 1 && !(p.in === 'query' && p.explode) ? strings[0]!.split(',') : strings;
      const itemTypes = f.items ? [...facts(schemas, f.items).types] : ['string'];
      const items = parts.map((s) => {
        for (const it of itemTypes.length ? itemTypes : ['string']) {
          const x = scalar(s, it);
          if (x !== undefined) return x;
        }
        return undefined;
      });
      if (items.some((x) => x === undefined)) continue;
      v = items;
    } else {
      if (strings.length !== 1) continue;
      v = scalar(strings[0]!, t);
    }
    if (v !== undefined && schemas.valid(p.schema, v)) return { value: v };
  }
  return undefined;
}

function scalarText(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** The strings a value becomes in its location (one per repeated query key). */
function encodeParam(p: ParamSpec, value: unknown): string[] | undefined {
  if (Array.isArray(value)) {
    if (value.some((x) => typeof x === 'object' && x !== null)) return undefined;
    const items = value.map(scalarText);
    if (p.in === 'query' && p.explode) return items;
    if (items.some((s) => s.includes(','))) return undefined;
    return [items.join(',')];
  }
  if (isObject(value)) return undefined;
  if (value === null) return undefined;
  return [scalarText(value)];
}

const HEADER_SAFE = /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/;

function usable(p: ParamSpec, strings: string[]): boolean {
  // No strings at all is an absent parameter.
  if (strings.length === 0) return false;
  if (p.in === 'header' || p.in === 'cookie') return strings.every((s) => HEADER_SAFE.test(s) && (p.in !== 'cookie' || !/[;,]/.test(s)));
  if (p.in === 'path') return strings.every((s) => s !== '' && s !== '.' && s !== '..');
  return true;
}

// ---------------------------------------------------------------------------------------------------------
// Planning

interface Parts {
  params: Map<ParamSpec, string[] | undefined>;
  media: MediaSpec | undefined;
  /** undefined: no body. */
  body: unknown;
  rawBody?: string;
  contentType?: string;
}

export class RequestPlanner {
  readonly values: ValueGenerator;

  constructor(
    readonly schemas: SchemaSet,
    readonly pool: IdPool,
  ) {
    this.values = new ValueGenerator(schemas);
  }

  /** A request of `kind` for `op`, or undefined when the schemas allow none (then try another kind). */
  plan(op: OperationSpec, kind: RequestKind, rng: Rng): PlannedRequest | undefined {
    const parts = this.validParts(op, kind === 'edge', rng);
    if (!parts) return undefined;
    let what = '';
    if (kind === 'invalid') {
      const broken = this.breakOne(op, parts, rng);
      if (broken === undefined) return undefined;
      what = broken;
    }
    return this.build(op, kind, parts, what);
  }

  private paramValue(op: OperationSpec, p: ParamSpec, hostile: boolean, rng: Rng): string[] | undefined {
    // Ids the server handed out, for path parameters and id-like query parameters.
    if (!hostile || rng.chance(0.3)) {
      const collection = p.in === 'path' ? op.path.slice(0, op.path.indexOf(`{${p.name}}`)).replace(/\/$/, '') || '/' : undefined;
      const pooled =
        p.in === 'path' ? this.pool.candidates(collection, undefined) : /id$/i.test(p.name) ? this.pool.candidates(undefined, p.name) : [];
      if (pooled.length > 0 && rng.chance(0.8)) {
        const v = rng.pick(pooled);
        const strings = encodeParam(p, v);
        if (strings && usable(p, strings) && decodeParam(this.schemas, p, strings) !== undefined) return strings;
      }
    }
    const headerSafe = p.in === 'header' || p.in === 'cookie';
    for (let i = 0; i < 4; i++) {
      const useHostile = hostile && i < 2;
      let generated: { value: unknown } | undefined;
      if (useHostile && p.in === 'query' && /cursor|token|after|before/i.test(p.name) && rng.chance(0.6)) {
        generated = { value: randomCursor(rng, this.pool.cursors) };
      } else generated = this.values.valid(p.schema, rng, { hostile: useHostile, headerSafe });
      if (!generated) return undefined;
      const strings = encodeParam(p, generated.value);
      if (!strings || !usable(p, strings)) continue;
      // Valid as the server reads it (e.g. `["a,b"]` with style form is not).
      if (decodeParam(this.schemas, p, strings) !== undefined) return strings;
    }
    return undefined;
  }

  private validParts(op: OperationSpec, hostile: boolean, rng: Rng): Parts | undefined {
    const params = new Map<ParamSpec, string[] | undefined>();
    for (const p of op.params) {
      if (!p.required && !rng.chance(hostile ? 0.7 : 0.5)) {
        params.set(p, undefined);
        continue;
      }
      const strings = this.paramValue(op, p, hostile, rng);
      if (strings === undefined) {
        if (p.required) return undefined;
        params.set(p, undefined);
      } else {
        params.set(p, strings);
      }
    }
    let media: MediaSpec | undefined;
    let body: unknown;
    if (op.body && op.body.contents.length > 0 && (op.body.required || rng.chance(0.8))) {
      const json = op.body.contents.filter((m) => m.json && m.mediaType !== '*/*');
      media = json.length > 0 ? rng.pick(json) : rng.pick(op.body.contents);
      const generated = this.values.valid(media.schema, rng, { hostile });
      if (!generated) {
        if (op.body.required) return undefined;
        media = undefined;
      } else {
        body = generated.value;
        if (isObject(body)) this.reuseIds(media.schema, body, rng);
      }
    }
    return { params, media, body };
  }

  /** Id-like body fields get an id the server returned (so a reference points at a row that exists). */
  private reuseIds(schema: Schema, body: Obj, rng: Rng): void {
    const f = facts(this.schemas, schema);
    for (const name of Object.keys(f.properties)) {
      if (!Object.prototype.hasOwnProperty.call(body, name)) continue;
      const pooled = this.pool.candidates(undefined, name);
      if (pooled.length === 0 || !rng.chance(0.85)) continue;
      const before = body[name];
      body[name] = rng.pick(pooled);
      if (!this.schemas.valid(schema, body)) body[name] = before;
    }
  }

  /** Breaks one rule of a valid request; returns what was broken. */
  private breakOne(op: OperationSpec, parts: Parts, rng: Rng): string | undefined {
    const options: (() => string | undefined)[] = [];
    for (const p of op.params) {
      if (p.required && p.in !== 'path') options.push(() => (parts.params.set(p, undefined), `${p.in} ${p.name}: missing required parameter`));
      options.push(() => this.breakParam(p, parts, rng));
    }
    if (op.body && op.body.contents.length > 0) {
      const media = parts.media ?? op.body.contents.find((m) => m.json) ?? op.body.contents[0]!;
      if (media.json) {
        if (parts.body !== undefined) {
          const weight = 4;
          for (let i = 0; i < weight; i++) options.push(() => this.breakBody(media, parts, rng));
        }
        options.push(() => {
          parts.media = media;
          parts.rawBody = rng.pick(['{"a":', '{', '[1,', '{"x" 1}', 'nul', '\u0000', '{}}']);
          return `body: malformed JSON ${JSON.stringify(parts.rawBody)}`;
        });
        const declared = op.body.contents.map((m) => m.mediaType.toLowerCase());
        if (!declared.some((m) => m.startsWith('text/') || m === '*/*' || m === 'text/*')) {
          options.push(() => {
            parts.media = media;
            parts.rawBody = JSON.stringify(parts.body ?? {});
            parts.contentType = 'text/plain';
            return 'body: wrong content type text/plain';
          });
        }
      }
      if (op.body.required) {
        options.push(() => {
          parts.media = undefined;
          parts.body = undefined;
          return 'body: missing required request body';
        });
      }
    }
    for (let attempt = 0; attempt < 12 && options.length > 0; attempt++) {
      const i = rng.int(0, options.length - 1);
      const snapshot: Parts = { ...parts, params: new Map(parts.params) };
      const what = options[i]!();
      if (what !== undefined) return what;
      Object.assign(parts, snapshot);
    }
    return undefined;
  }

  private breakParam(p: ParamSpec, parts: Parts, rng: Rng): string | undefined {
    const f = facts(this.schemas, p.schema);
    const candidates: { strings: string[]; what: string }[] = [];
    if (f.types.has('integer') || f.types.has('number')) {
      for (const s of ['1e309', '-1e309', '-Infinity', 'Infinity', 'NaN', 'abc', '1.5', '0x'])
        candidates.push({ strings: [s], what: `non-numeric / non-finite ${JSON.stringify(s)}` });
    }
    if (f.types.has('boolean')) candidates.push({ strings: ['maybe'], what: 'not a boolean' });
    for (const v of scalarViolations(this.schemas, p.schema)) {
      const strings = encodeParam(p, v.value);
      if (strings) candidates.push({ strings, what: v.what });
    }
    if (f.types.has('array') && f.maxItems !== undefined) {
      candidates.push({ strings: Array.from({ length: f.maxItems + 1 }, (_, i) => String(i)), what: `more than maxItems ${f.maxItems}` });
    }
    for (let i = 0; i < 8 && candidates.length > 0; i++) {
      const c = rng.pick(candidates);
      if (!usable(p, c.strings)) continue;
      if (decodeParam(this.schemas, p, c.strings) !== undefined) continue;
      parts.params.set(p, c.strings);
      let why = c.what;
      if (/^(wrong type|null)/.test(why)) {
        const asString = f.types.has('string') ? this.schemas.check(p.schema, c.strings.length === 1 ? c.strings[0] : c.strings) : undefined;
        why = asString ? asString.replace(/^the value /, '') : `cannot be read as ${[...f.types].join(' or ') || 'the schema'}`;
      }
      return `${p.in} ${p.name}=${JSON.stringify(c.strings.join(',')).slice(0, 40)}: ${why}`;
    }
    return undefined;
  }

  private breakBody(media: MediaSpec, parts: Parts, rng: Rng): string | undefined {
    // Locations to break: the body itself and the properties of objects up to two levels down.
    const locations: { pointer: string[]; schema: Schema }[] = [{ pointer: [], schema: media.schema }];
    const descend = (value: unknown, schema: Schema, pointer: string[]) => {
      if (!isObject(value) || pointer.length > 2) return;
      for (const [k, s] of Object.entries(facts(this.schemas, schema).properties)) {
        locations.push({ pointer: [...pointer, k], schema: s as Schema });
        descend(value[k], s as Schema, [...pointer, k]);
      }
    };
    descend(parts.body, media.schema, []);
    for (let attempt = 0; attempt < 10; attempt++) {
      const loc = rng.pick(locations);
      const holder: Obj = { root: structuredClone(parts.body) };
      let parent: Obj = holder;
      let key = 'root';
      let reachable = true;
      for (const k of loc.pointer) {
        const next = parent[key];
        if (!isObject(next)) {
          reachable = false;
          break;
        }
        parent = next;
        key = k;
      }
      if (!reachable) continue;
      const f = facts(this.schemas, loc.schema);
      const target = parent[key];
      const ops: (() => string)[] = [];
      if (isObject(target)) {
        for (const r of f.required) if (r in target) ops.push(() => (delete target[r], `removed required "${r}"`));
        if (f.closed) ops.push(() => ((target['zzExtra'] = 1), 'added "zzExtra"'));
      }
      const violations: Violation[] = scalarViolations(this.schemas, loc.schema);
      if (violations.length > 0) {
        ops.push(() => {
          const v = rng.pick(violations);
          parent[key] = v.value;
          const shown = JSON.stringify(v.value) ?? String(v.value);
          return `set to ${shown.length > 24 ? `${shown.slice(0, 21)}...` : shown}`;
        });
      }
      if (ops.length === 0) continue;
      const what = rng.pick(ops)();
      const error = this.schemas.check(media.schema, holder['root']);
      if (error === undefined) continue;
      parts.body = holder['root'];
      parts.media = media;
      return `body /${loc.pointer.join('/')} ${what}: ${error.replace(/^the value /, '')}`;
    }
    return undefined;
  }

  private build(op: OperationSpec, kind: RequestKind, parts: Parts, what: string): PlannedRequest {
    const pathValues = new Map<string, string>();
    const query: string[] = [];
    const headers: Record<string, string> = {};
    const cookies: string[] = [];
    for (const [p, strings] of parts.params) {
      if (strings === undefined) continue;
      if (p.in === 'path') pathValues.set(p.name, encodeURIComponent(strings.join(',')));
      else if (p.in === 'query') for (const s of strings) query.push(`${encodeURIComponent(p.name)}=${encodeURIComponent(s)}`);
      else if (p.in === 'header') headers[p.name] = strings.join(',');
      else cookies.push(`${p.name}=${encodeURIComponent(strings.join(','))}`);
    }
    if (cookies.length > 0) headers['cookie'] = cookies.join('; ');
    // Literal parts of the template are sent as written, percent-encoded where a URL needs it (`#`, `?`).
    const path = op.path
      .split(/(\{[^}]*\})/)
      .map((part) =>
        /^\{[^}]*\}$/.test(part) ? (pathValues.get(part.slice(1, -1)) ?? part) : encodeURI(part).replace(/#/g, '%23').replace(/\?/g, '%3F'),
      )
      .join('');
    let body: string | undefined;
    if (parts.rawBody !== undefined) {
      body = parts.rawBody;
      headers['content-type'] = parts.contentType ?? 'application/json';
    } else if (parts.media && parts.body !== undefined) {
      const mt = parts.media.mediaType.includes('*') ? 'application/json' : parts.media.mediaType;
      if (parts.media.json) {
        body = JSON.stringify(parts.body);
      } else if (mt === 'application/x-www-form-urlencoded' && isObject(parts.body)) {
        body = new URLSearchParams(Object.entries(parts.body).map(([k, v]) => [k, scalarText(v)])).toString();
      } else {
        body = scalarText(parts.body);
      }
      headers['content-type'] = mt;
    }
    return { kind, op, method: op.method.toUpperCase(), url: path + (query.length > 0 ? `?${query.join('&')}` : ''), headers, body, what };
  }
}

/** Values a cursor's decoded key may be replaced with: wrong types, out-of-range dates, not-a-uuid. */
const CURSOR_KEYS: unknown[] = [
  'not-a-uuid',
  '0000-01-01T00:00:00.000Z',
  '+275760-09-13T00:00:00.000Z',
  '-004713-01-01T00:00:00.000Z',
  '2024-13-45T99:99:99Z',
  1e308,
  -1,
  null,
  {},
  [],
  'a\u0000b',
];

/** A random cursor: a returned one with a key replaced (base64url JSON), or made-up bytes. */
function randomCursor(rng: Rng, seen: readonly string[]): string {
  if (seen.length > 0 && rng.chance(0.7)) {
    const real = rng.pick(seen);
    if (rng.chance(0.2)) return real;
    try {
      const decoded = JSON.parse(Buffer.from(real, 'base64url').toString('utf8')) as unknown;
      if (Array.isArray(decoded) && decoded.length > 0) {
        const copy = [...decoded];
        copy[rng.int(0, copy.length - 1)] = rng.pick(CURSOR_KEYS);
        if (rng.chance(0.2)) copy.push('extra');
        return Buffer.from(JSON.stringify(copy)).toString('base64url');
      }
      if (decoded && typeof decoded === 'object') {
        const copy = { ...(decoded as Record<string, unknown>) };
        const keys = Object.keys(copy);
        if (keys.length > 0) copy[rng.pick(keys)] = rng.pick(CURSOR_KEYS);
        return Buffer.from(JSON.stringify(copy)).toString('base64url');
      }
    } catch {
      // not JSON: fall through to made-up ones
    }
  }
  const payloads = [
    () => Buffer.from(JSON.stringify(['2024-01-01T00:00:00.000Z', 'not-a-uuid'])).toString('base64url'),
    () => Buffer.from(JSON.stringify(['0000-01-01T00:00:00.000Z', '3fa85f64-5717-4562-b3fc-2c963f66afa6'])).toString('base64url'),
    () => Buffer.from(JSON.stringify({ id: 'not-a-uuid', createdAt: '2024-01-01T00:00:00Z' })).toString('base64url'),
    () => Buffer.from(JSON.stringify(['x'])).toString('base64'),
    () => Buffer.from(Array.from({ length: rng.int(1, 40) }, () => rng.int(0, 255))).toString('base64url'),
    () => 'eyJ',
    () => '!!!',
    () => Buffer.from('null').toString('base64url'),
  ];
  return rng.pick(payloads)();
}
