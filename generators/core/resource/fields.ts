/**
 * The `--fields` mini-language of `backdev create-api`:
 *
 *   name:string:unique price:number stock:integer? category:enum(a|b) owner:ref(User):index active:boolean:default=true
 *
 * Fields are separated by whitespace; each is `name:type[:modifier]…`. Every mistake is a
 * `BackdevError('FIELDS_SYNTAX')` whose message names the bad token, its 1-based column in the input and shows
 * the input with a caret line under the token.
 */

import { BackdevError } from '../errors.js';

export type FieldType =
  | 'string'
  | 'text'
  | 'integer'
  | 'bigint'
  | 'number'
  | 'boolean'
  | 'date'
  | 'datetime'
  | 'uuid'
  | 'email'
  | 'enum'
  | 'ref';

export interface FieldSpec {
  /** As written; matches `/^[A-Za-z_][A-Za-z0-9_]*$/`. */
  name: string;
  type: FieldType;
  /** `?` glued to the type (`stock:integer?`) or a standalone `?` modifier. */
  optional: boolean;
  unique: boolean;
  index: boolean;
  /** Coerced per type: integer/bigint/number → number, boolean → true/false, others → string. */
  default?: string | number | boolean;
  /** For `enum(a|b|c)`. */
  enumValues?: string[];
  /** For `ref(Model)`: the referenced model (a PascalCase identifier). */
  ref?: string;
}

export const FIELD_TYPES: readonly FieldType[] = [
  'string',
  'text',
  'integer',
  'bigint',
  'number',
  'boolean',
  'date',
  'datetime',
  'uuid',
  'email',
  'enum',
  'ref',
];

/**
 * The `maxLength` (in characters) of a `unique` or `index` string, text or email field. A btree index entry
 * holds at most 2,704 bytes; a character is at most 4 bytes of UTF-8, so 512 of any characters (2,048 bytes
 * plus headers) always fit, whatever the text.
 */
export const INDEXED_TEXT_MAX_LENGTH = 512;

/** The `pattern` of string and text fields: no U+0000, which PostgreSQL text cannot hold. */
export const NO_NUL_PATTERN = '^[^\\u0000]*$';

/** The `pattern` of date fields: not year 0000, which PostgreSQL's date does not have (format `date` allows it). */
export const DATE_PATTERN = '^(?!0000-)';

/**
 * The `pattern` of date-time fields: an instant in years 0001–9999 UTC, so PostgreSQL stores it and it reads
 * back as a valid RFC 3339 date-time (year 0000, 0001-01-01 with a positive offset and 9999-12-31 with a
 * negative one are refused).
 */
export const DATE_TIME_PATTERN = '^(?!0000-|0001-01-01[Tt][^+]*\\+|9999-12-31[Tt][^-]*-)';

/** Added to every resource automatically, so they cannot be declared (compared case- and `_`-insensitively). */
export const RESERVED_FIELD_NAMES: readonly string[] = ['id', 'createdAt', 'updatedAt'];

export const FIELDS_HELP = [
  'Fields are separated by spaces; each one is name:type[:modifier]...',
  '',
  '  name       a letter or _ followed by letters, digits or _ (id, createdAt and updatedAt are added for you)',
  '  type       string    short text                  text      long text',
  '             integer   32-bit integer              bigint    64-bit integer',
  '             number    floating-point number       boolean   true / false',
  '             date      calendar date (2024-01-31)  datetime  timestamp (2024-01-31T12:00:00Z)',
  '             uuid      UUID                        email     e-mail address',
  '             enum(a|b|c)   one of the listed values (letters, digits, _ . -)',
  '             ref(Model)    the id of a Model record (a PascalCase schema name)',
  '  modifiers  ?               optional (may also be glued to the type: stock:integer?)',
  '             unique          no two records share the value',
  '             index           the column is indexed',
  '                             (a unique or indexed string, text or email holds at most 512 characters,',
  '                             so that any value fits the index)',
  '             default=VALUE   default value, checked against the type; quote it to use spaces',
  '                             or colons in a string: default="hello: world"  (inside quotes, \\" is a quote)',
  '',
  'Example:',
  '  --fields "name:string:unique price:number stock:integer? category:enum(a|b) owner:ref(User):index active:boolean:default=true"',
].join('\n');

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ENUM_VALUE_RE = /^[A-Za-z0-9_.-]+$/;
const MODEL_RE = /^[A-Z][A-Za-z0-9]*$/;
const MODIFIERS_TEXT = '?, unique, index, default=<value>';

interface Piece {
  text: string;
  /** 0-based offset in the whole input. */
  start: number;
}

/** Parses a `--fields` description; throws `BackdevError('FIELDS_SYNTAX')` on any mistake. */
export function parseFields(input: string): FieldSpec[] {
  const fail = (at: number, length: number, message: string, hint?: string): never => {
    throw fieldsError(input, at, length, message, hint);
  };

  const tokens = tokenize(input, fail);
  if (tokens.length === 0) {
    fail(0, Math.max(1, input.length), 'no fields given', 'write at least one name:type, e.g. name:string');
  }

  const fields: FieldSpec[] = [];
  const seen = new Map<string, number>();
  for (const token of tokens) {
    const field = parseField(token, fail);
    const key = field.name.toLowerCase();
    const previous = seen.get(key);
    if (previous !== undefined) {
      fail(
        token.start,
        field.name.length,
        `duplicate field name "${field.name}" in "${token.text}"`,
        `already defined at column ${previous + 1}; field names are compared case-insensitively`,
      );
    }
    seen.set(key, token.start);
    fields.push(field);
  }
  return fields;
}

type Fail = (at: number, length: number, message: string, hint?: string) => never;

/**
 * A `--fields` error about the `ref(Model)` target of `field` (a model that is not known), pointing at the
 * target in `input` when it is given.
 */
export function refError(input: string | undefined, field: FieldSpec, message: string, hint?: string): BackdevError {
  if (input !== undefined) {
    try {
      for (const token of tokenize(input, () => {
        throw new Error('unreachable');
      })) {
        const [nameSeg, typeSeg] = splitSegments(token);
        if (nameSeg?.text !== field.name || typeSeg === undefined) continue;
        const open = typeSeg.text.indexOf('(');
        const target = open < 0 ? -1 : typeSeg.text.indexOf(field.ref ?? '', open);
        if (target >= 0) return fieldsError(input, typeSeg.start + target, (field.ref ?? '').length, `${message} in "${token.text}"`, hint);
      }
    } catch {
      /* not located */
    }
  }
  return new BackdevError('FIELDS_SYNTAX', `--fields: ${message} in field "${field.name}"${hint ? ` (${hint})` : ''}`);
}

function fieldsError(input: string, at: number, length: number, message: string, hint?: string): BackdevError {
  const shown = input.replace(/[\t\r\n\v\f]/g, ' ');
  const caret = ' '.repeat(at) + '^'.repeat(Math.max(1, length));
  const text = `--fields: ${message} at column ${at + 1}${hint ? ` (${hint})` : ''}\n  ${shown}\n  ${caret}`;
  return new BackdevError('FIELDS_SYNTAX', text);
}

/** Splits on whitespace outside double quotes and parentheses. */
function tokenize(input: string, fail: Fail): Piece[] {
  const tokens: Piece[] = [];
  let i = 0;
  const n = input.length;
  while (i < n) {
    while (i < n && /\s/.test(input[i]!)) i++;
    if (i >= n) break;
    const start = i;
    let depth = 0;
    let openParen = -1;
    let quoteStart = -1;
    while (i < n) {
      const c = input[i]!;
      if (quoteStart >= 0) {
        if (c === '\\' && i + 1 < n) {
          i += 2;
          continue;
        }
        if (c === '"') quoteStart = -1;
        i++;
        continue;
      }
      if (c === '"') quoteStart = i;
      else if (c === '(') {
        if (depth === 0) openParen = i;
        depth++;
      } else if (c === ')') {
        if (depth === 0) {
          const end = tokenEnd(input, start);
          fail(i, 1, `unmatched ")" in "${input.slice(start, end)}"`);
        }
        depth--;
      } else if (depth === 0 && /\s/.test(c)) break;
      i++;
    }
    if (quoteStart >= 0) {
      fail(quoteStart, n - quoteStart, `unterminated quote in "${input.slice(start)}"`, 'add the closing double quote');
    }
    if (depth > 0) {
      fail(openParen, n - openParen, `unclosed "(" in "${input.slice(start).trimEnd()}"`, 'close it with ")"');
    }
    tokens.push({ text: input.slice(start, i), start });
  }
  return tokens;
}

function tokenEnd(input: string, start: number): number {
  let i = start;
  while (i < input.length && !/\s/.test(input[i]!)) i++;
  return i;
}

/** Splits a field token on `:` outside quotes and parentheses. */
function splitSegments(token: Piece): Piece[] {
  const out: Piece[] = [];
  let depth = 0;
  let quoted = false;
  let segStart = 0;
  const t = token.text;
  for (let i = 0; i < t.length; i++) {
    const c = t[i]!;
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
      continue;
    }
    if (c === '"') quoted = true;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ':' && depth === 0) {
      out.push({ text: t.slice(segStart, i), start: token.start + segStart });
      segStart = i + 1;
    }
  }
  out.push({ text: t.slice(segStart), start: token.start + segStart });
  return out;
}

function parseField(token: Piece, fail: Fail): FieldSpec {
  const inField = `in "${token.text}"`;
  const [nameSeg, typeSeg, ...modifierSegs] = splitSegments(token);
  const name = nameSeg!.text;

  if (name === '') fail(token.start, token.text.length, `missing field name ${inField}`, 'write name:type');
  if (!NAME_RE.test(name)) {
    fail(
      nameSeg!.start,
      name.length,
      `invalid field name "${name}" ${inField}`,
      'a name is a letter or _ followed by letters, digits or _',
    );
  }
  const normalized = name.toLowerCase().replace(/_/g, '');
  const reserved = RESERVED_FIELD_NAMES.find((r) => r.toLowerCase() === normalized);
  if (reserved !== undefined) {
    fail(
      nameSeg!.start,
      name.length,
      `reserved field name "${name}" ${inField}`,
      `${RESERVED_FIELD_NAMES.join(', ')} are added to every resource automatically`,
    );
  }
  if (typeSeg === undefined || typeSeg.text === '' || typeSeg.text === '?') {
    fail(
      token.start,
      token.text.length,
      `missing type for field "${name}" ${inField}`,
      `write ${name}:<type>, one of: ${FIELD_TYPES.join(', ')}`,
    );
  }

  const field: FieldSpec = { name, type: 'string', optional: false, unique: false, index: false };
  parseType(typeSeg!, field, inField, fail);

  let defaultSeen = false;
  for (let i = 0; i < modifierSegs.length; i++) {
    let seg = modifierSegs[i]!;
    // An unquoted date-time default keeps its time's colons: default=2024-01-31T12:00:00Z
    if (field.type === 'datetime' && /^default=[^"]/.test(seg.text)) {
      while (/^\d{2}(\.\d+)?([Zz]|[+-]\d{2})?$/.test(modifierSegs[i + 1]?.text ?? '')) {
        seg = { text: `${seg.text}:${modifierSegs[i + 1]!.text}`, start: seg.start };
        i++;
      }
    }
    const m = seg.text;
    const duplicate = () => fail(seg.start, m.length, `duplicate modifier "${m}" ${inField}`);
    if (m === '') {
      fail(seg.start - 1, 1, `empty modifier after ":" ${inField}`, `expected one of: ${MODIFIERS_TEXT}`);
    } else if (m === '?') {
      if (field.optional) duplicate();
      field.optional = true;
    } else if (m === 'unique') {
      if (field.unique) duplicate();
      field.unique = true;
    } else if (m === 'index') {
      if (field.index) duplicate();
      field.index = true;
    } else if (m === 'default' || m.startsWith('default=')) {
      if (defaultSeen) fail(seg.start, m.length, `duplicate modifier "default" ${inField}`);
      defaultSeen = true;
      field.default = parseDefault(seg, field, inField, fail);
    } else {
      fail(seg.start, m.length, `unknown modifier "${m}" ${inField}`, `expected one of: ${MODIFIERS_TEXT}`);
    }
  }
  if ((field.unique || field.index) && typeof field.default === 'string' && [...field.default].length > INDEXED_TEXT_MAX_LENGTH) {
    fail(token.start, token.text.length, `default of an indexed field is longer than ${INDEXED_TEXT_MAX_LENGTH} characters ${inField}`);
  }
  return field;
}

function parseType(seg: Piece, field: FieldSpec, inField: string, fail: Fail): void {
  let text = seg.text;
  if (text.endsWith('?')) {
    field.optional = true;
    text = text.slice(0, -1);
  }
  const paren = text.indexOf('(');
  const base = paren < 0 ? text : text.slice(0, paren);
  if (!(FIELD_TYPES as readonly string[]).includes(base)) {
    fail(
      seg.start,
      Math.max(1, base.length),
      base === '' ? `missing type ${inField}` : `unknown type "${base}" ${inField}`,
      `expected one of: ${FIELD_TYPES.join(', ')}`,
    );
  }
  const type = base as FieldType;
  field.type = type;

  if (paren < 0) {
    if (type === 'enum') {
      fail(seg.start, base.length, `enum without values ${inField}`, 'list them like enum(draft|published)');
    }
    if (type === 'ref') fail(seg.start, base.length, `ref without a model ${inField}`, 'write it like ref(User)');
    return;
  }
  // The tokenizer guarantees the parentheses are balanced; find the ")" closing the first "(".
  let depth = 0;
  let close = -1;
  for (let i = paren; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')' && --depth === 0) {
      close = i;
      break;
    }
  }
  const after = text.slice(close + 1);
  if (after !== '') {
    fail(seg.start + close + 1, after.length, `unexpected "${after}" after the type ${inField}`);
  }
  const argsStart = seg.start + paren + 1;
  const args = text.slice(paren + 1, close);
  if (type !== 'enum' && type !== 'ref') {
    fail(seg.start + paren, close - paren + 1, `type "${type}" takes no arguments ${inField}`);
  }
  if (type === 'ref') {
    const model = args.trim();
    const at = argsStart + (args.length - args.trimStart().length);
    if (!MODEL_RE.test(model)) {
      const pascal = model
        .split(/[^A-Za-z0-9]+/)
        .filter(Boolean)
        .map((w) => w[0]!.toUpperCase() + w.slice(1))
        .join('');
      fail(
        model === '' ? seg.start + paren : at,
        model === '' ? 2 : model.length,
        model === '' ? `ref without a model ${inField}` : `invalid ref target "${model}" ${inField}`,
        `the target must be a PascalCase schema name${/^[A-Z]/.test(pascal) ? ` such as "${pascal}"` : ', e.g. ref(User)'}`,
      );
    }
    field.ref = model;
    return;
  }
  // enum
  if (args.trim() === '') {
    fail(seg.start, close + 1, `empty enum ${inField}`, 'list the values like enum(draft|published)');
  }
  const values: string[] = [];
  let offset = 0;
  for (const raw of args.split('|')) {
    const value = raw.trim();
    const at = argsStart + offset + (raw.length - raw.trimStart().length);
    if (value === '') {
      fail(argsStart + offset, Math.max(1, raw.length), `empty enum value ${inField}`);
    }
    if (!ENUM_VALUE_RE.test(value)) {
      fail(at, value.length, `invalid enum value "${value}" ${inField}`, 'use only letters, digits, _ . and -');
    }
    if (values.includes(value)) fail(at, value.length, `duplicate enum value "${value}" ${inField}`);
    values.push(value);
    offset += raw.length + 1;
  }
  field.enumValues = values;
}

function parseDefault(seg: Piece, field: FieldSpec, inField: string, fail: Fail): string | number | boolean {
  const eq = seg.text.indexOf('=');
  if (eq < 0) fail(seg.start, seg.text.length, `"default" needs a value ${inField}`, 'write default=<value>');
  const rawStart = seg.start + eq + 1;
  const raw = seg.text.slice(eq + 1);
  let value: string;
  if (raw.startsWith('"')) {
    let i = 1;
    let out = '';
    for (; i < raw.length; i++) {
      const c = raw[i]!;
      if (c === '\\' && (raw[i + 1] === '"' || raw[i + 1] === '\\')) {
        out += raw[i + 1];
        i++;
      } else if (c === '"') break;
      else out += c;
    }
    // The tokenizer already rejected unterminated quotes, so raw[i] is the closing quote.
    if (i + 1 < raw.length) {
      fail(
        rawStart + i + 1,
        raw.length - i - 1,
        `unexpected "${raw.slice(i + 1)}" after the quoted default ${inField}`,
      );
    }
    value = out;
  } else {
    if (raw === '') {
      fail(seg.start, seg.text.length, `empty default value ${inField}`, 'write default="" for an empty string');
    }
    const quote = raw.indexOf('"');
    if (quote >= 0) {
      fail(
        rawStart + quote,
        1,
        `stray quote in default value "${raw}" ${inField}`,
        'quote the whole value: default="..."',
      );
    }
    value = raw;
  }
  const bad = (expected: string, hint?: string): never =>
    fail(rawStart, Math.max(1, raw.length), `default ${JSON.stringify(value)} is not ${expected} ${inField}`, hint);

  switch (field.type) {
    case 'string':
    case 'text':
      return value;
    case 'integer': {
      if (!/^[+-]?\d+$/.test(value)) bad('an integer');
      const n = Number(value);
      if (n < -2147483648 || n > 2147483647) bad('a 32-bit integer', 'use bigint for larger values');
      return n;
    }
    case 'bigint': {
      if (!/^[+-]?\d+$/.test(value)) bad('an integer');
      const n = Number(value);
      if (!Number.isSafeInteger(n)) bad('an integer between -(2^53-1) and 2^53-1');
      return n;
    }
    case 'number': {
      if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(value)) bad('a number');
      const n = Number(value);
      if (!Number.isFinite(n)) bad('a finite number');
      return n;
    }
    case 'boolean':
      if (value !== 'true' && value !== 'false') bad('a boolean (true or false)');
      return value === 'true';
    case 'date':
      if (!isDate(value) || !new RegExp(DATE_PATTERN, 'u').test(value)) bad('a date (YYYY-MM-DD) from year 0001 on');
      return value;
    case 'datetime':
      if (!isDateTime(value) || !new RegExp(DATE_TIME_PATTERN, 'u').test(value)) bad('a date-time (e.g. 2024-01-31T12:00:00Z) in years 0001-9999');
      return value;
    case 'uuid':
    case 'ref':
      if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)) bad('a UUID');
      return value;
    case 'email':
      if (!/^[^\s@"]+@[^\s@"]+\.[^\s@".]+$/.test(value)) bad('an e-mail address');
      return value;
    case 'enum':
      if (!field.enumValues!.includes(value)) bad(`one of the enum values (${field.enumValues!.join(', ')})`);
      return value;
  }
}

function isDate(value: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (mo < 1 || mo > 12 || d < 1) return false;
  const days = [31, y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  return d <= days[mo - 1]!;
}

function isDateTime(value: string): boolean {
  const m = /^(\d{4}-\d{2}-\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-](\d{2}):(\d{2}))$/.exec(value);
  if (!m || !isDate(m[1]!)) return false;
  if (Number(m[2]) > 23 || Number(m[3]) > 59 || Number(m[4]) > 60) return false;
  if (m[7] !== undefined && (Number(m[7]) > 23 || Number(m[8]) > 59)) return false;
  return true;
}
