import { describe, expect, it } from 'vitest';
import { BackdevError } from '../../generators/core/errors.js';
import { FIELD_TYPES, FIELDS_HELP, parseFields, type FieldSpec } from '../../generators/core/resource/fields.js';

const field = (name: string, type: FieldSpec['type'], extra: Partial<FieldSpec> = {}): FieldSpec => ({
  name,
  type,
  optional: false,
  unique: false,
  index: false,
  ...extra,
});

describe('parseFields: valid input', () => {
  const cases: { given: string; want: FieldSpec[] }[] = [
    { given: 'name:string', want: [field('name', 'string')] },
    {
      given:
        'name:string:unique price:number stock:integer? category:enum(a|b) owner:ref(User):index active:boolean:default=true',
      want: [
        field('name', 'string', { unique: true }),
        field('price', 'number'),
        field('stock', 'integer', { optional: true }),
        field('category', 'enum', { enumValues: ['a', 'b'] }),
        field('owner', 'ref', { ref: 'User', index: true }),
        field('active', 'boolean', { default: true }),
      ],
    },
    {
      given: 'body:text views:bigint born:date seen:datetime key:uuid mail:email',
      want: [
        field('body', 'text'),
        field('views', 'bigint'),
        field('born', 'date'),
        field('seen', 'datetime'),
        field('key', 'uuid'),
        field('mail', 'email'),
      ],
    },
    // `?` glued to the type, standalone, and after an enum.
    {
      given: 'a:string? b:string:? c:enum(x|y)? d:ref(BlogPost)?',
      want: [
        field('a', 'string', { optional: true }),
        field('b', 'string', { optional: true }),
        field('c', 'enum', { optional: true, enumValues: ['x', 'y'] }),
        field('d', 'ref', { optional: true, ref: 'BlogPost' }),
      ],
    },
    // Whitespace of any kind separates fields; leading/trailing whitespace is ignored.
    { given: '  a:string\t\tb:integer\n', want: [field('a', 'string'), field('b', 'integer')] },
    // Modifiers in any order, combined.
    {
      given: 'sku:string:index:unique:? n:integer:default=-42:index',
      want: [
        field('sku', 'string', { index: true, unique: true, optional: true }),
        field('n', 'integer', { default: -42, index: true }),
      ],
    },
    // Defaults are coerced per type.
    {
      given:
        'i:integer:default=+7 b:bigint:default=9007199254740991 x:number:default=-1.5e3 y:number:default=.5 ' +
        'f:boolean:default=false d:date:default=2024-02-29 t:datetime:default=2024-01-31T12:00:00.5+02:00 ' +
        'u:uuid:default=123e4567-e89b-12d3-a456-426614174000 e:email:default=a.b@example.com s:enum(on|off):default=off',
      want: [
        field('i', 'integer', { default: 7 }),
        field('b', 'bigint', { default: 9007199254740991 }),
        field('x', 'number', { default: -1500 }),
        field('y', 'number', { default: 0.5 }),
        field('f', 'boolean', { default: false }),
        field('d', 'date', { default: '2024-02-29' }),
        field('t', 'datetime', { default: '2024-01-31T12:00:00.5+02:00' }),
        field('u', 'uuid', { default: '123e4567-e89b-12d3-a456-426614174000' }),
        field('e', 'email', { default: 'a.b@example.com' }),
        field('s', 'enum', { enumValues: ['on', 'off'], default: 'off' }),
      ],
    },
    // A string default stays a string even when it looks like a number; quotes allow spaces, colons, \" and \\.
    {
      given:
        'code:string:default=007 title:string:default="Hello: big world" q:text:default="say \\"hi\\" \\\\o/" e:string:default=""',
      want: [
        field('code', 'string', { default: '007' }),
        field('title', 'string', { default: 'Hello: big world' }),
        field('q', 'text', { default: 'say "hi" \\o/' }),
        field('e', 'string', { default: '' }),
      ],
    },
    // Enum values: letters, digits, _ . - ; spaces around | are ignored.
    {
      given: 'v:enum(1.0|v2_beta|x-y|A)  w:enum(a | b)',
      want: [
        field('v', 'enum', { enumValues: ['1.0', 'v2_beta', 'x-y', 'A'] }),
        field('w', 'enum', { enumValues: ['a', 'b'] }),
      ],
    },
    // An unquoted date-time default keeps the colons of its time; quoting works too.
    {
      given: 'at:datetime:default=2024-01-31T12:00:00Z:index to:datetime:default="2024-01-31T12:00:00-05:30"',
      want: [
        field('at', 'datetime', { default: '2024-01-31T12:00:00Z', index: true }),
        field('to', 'datetime', { default: '2024-01-31T12:00:00-05:30' }),
      ],
    },
    { given: '_private:string CamelCase:integer', want: [field('_private', 'string'), field('CamelCase', 'integer')] },
  ];

  it.each(cases)('$given', ({ given, want }) => {
    expect(parseFields(given)).toEqual(want);
  });

  it('leaves optional keys out when unused', () => {
    const [f] = parseFields('name:string');
    expect(Object.keys(f!)).toEqual(['name', 'type', 'optional', 'unique', 'index']);
  });
});

describe('parseFields: errors', () => {
  // column is 1-based; token is what the caret line underlines.
  const cases: { why: string; given: string; column: number; token: string; says: string }[] = [
    { why: 'empty input', given: '', column: 1, token: '', says: 'no fields given' },
    { why: 'blank input', given: '   ', column: 1, token: '   ', says: 'no fields given' },
    { why: 'missing type', given: 'price', column: 1, token: 'price', says: 'missing type for field "price"' },
    { why: 'missing type after colon', given: 'a:string price:', column: 10, token: 'price:', says: 'missing type' },
    { why: 'only ? as type', given: 'price:?', column: 1, token: 'price:?', says: 'missing type' },
    {
      why: 'unknown type',
      given: 'name:strng',
      column: 6,
      token: 'strng',
      says: 'unknown type "strng" in "name:strng"',
    },
    {
      why: 'type is case-sensitive',
      given: 'a:string b:String',
      column: 12,
      token: 'String',
      says: 'unknown type "String"',
    },
    { why: 'unknown modifier', given: 'name:string:uniq', column: 13, token: 'uniq', says: 'unknown modifier "uniq"' },
    { why: 'empty modifier', given: 'name:string::index', column: 12, token: ':', says: 'empty modifier' },
    { why: 'duplicate modifier', given: 'n:integer?:?', column: 12, token: '?', says: 'duplicate modifier "?"' },
    {
      why: 'duplicate default',
      given: 'n:integer:default=1:default=2',
      column: 21,
      token: 'default=2',
      says: 'duplicate modifier',
    },
    {
      why: 'duplicate field',
      given: 'name:string price:number name:text',
      column: 26,
      token: 'name',
      says: 'duplicate field name "name"',
    },
    {
      why: 'duplicate field, other case',
      given: 'name:string Name:text',
      column: 13,
      token: 'Name',
      says: 'duplicate field name "Name"',
    },
    {
      why: 'bad identifier',
      given: 'ok:string 2fa:string',
      column: 11,
      token: '2fa',
      says: 'invalid field name "2fa"',
    },
    {
      why: 'bad identifier (dash)',
      given: 'first-name:string',
      column: 1,
      token: 'first-name',
      says: 'invalid field name',
    },
    { why: 'missing name', given: ':string', column: 1, token: ':string', says: 'missing field name' },
    { why: 'empty enum', given: 'c:enum()', column: 3, token: 'enum()', says: 'empty enum' },
    { why: 'enum without values', given: 'c:enum', column: 3, token: 'enum', says: 'enum without values' },
    { why: 'bad enum value', given: 'c:enum(a|b$c)', column: 10, token: 'b$c', says: 'invalid enum value "b$c"' },
    { why: 'empty enum value', given: 'c:enum(a||b)', column: 10, token: '', says: 'empty enum value' },
    { why: 'duplicate enum value', given: 'c:enum(a|b|a)', column: 12, token: 'a', says: 'duplicate enum value "a"' },
    {
      why: 'unclosed parenthesis',
      given: 'c:enum(a|b d:string',
      column: 7,
      token: '(a|b d:string',
      says: 'unclosed "("',
    },
    { why: 'unmatched parenthesis', given: 'c:string)', column: 9, token: ')', says: 'unmatched ")"' },
    { why: 'arguments on a plain type', given: 'c:string(20)', column: 9, token: '(20)', says: 'takes no arguments' },
    { why: 'text after the type', given: 'c:enum(a|b)x', column: 12, token: 'x', says: 'unexpected "x"' },
    {
      why: 'ref to a non-identifier',
      given: 'owner:ref(user-account)',
      column: 11,
      token: 'user-account',
      says: 'invalid ref target "user-account"',
    },
    { why: 'ref not PascalCase', given: 'owner:ref(user)', column: 11, token: 'user', says: 'such as "User"' },
    { why: 'ref without model', given: 'owner:ref()', column: 10, token: '()', says: 'ref without a model' },
    {
      why: 'integer default',
      given: 'n:integer:default=1.5',
      column: 19,
      token: '1.5',
      says: 'default "1.5" is not an integer',
    },
    {
      why: 'int32 range',
      given: 'n:integer:default=2147483648',
      column: 19,
      token: '2147483648',
      says: 'not a 32-bit integer',
    },
    {
      why: 'bigint range',
      given: 'n:bigint:default=9007199254740993',
      column: 18,
      token: '9007199254740993',
      says: 'not an integer between',
    },
    { why: 'number default', given: 'n:number:default=1e', column: 18, token: '1e', says: 'not a number' },
    { why: 'boolean default', given: 'b:boolean:default=yes', column: 19, token: 'yes', says: 'not a boolean' },
    { why: 'date default', given: 'd:date:default=2023-02-29', column: 16, token: '2023-02-29', says: 'not a date' },
    {
      why: 'datetime default',
      given: 'd:datetime:default=2024-01-01',
      column: 20,
      token: '2024-01-01',
      says: 'not a date-time',
    },
    { why: 'uuid default', given: 'u:uuid:default=nope', column: 16, token: 'nope', says: 'not a UUID' },
    {
      why: 'email default',
      given: 'e:email:default=nobody',
      column: 17,
      token: 'nobody',
      says: 'not an e-mail address',
    },
    {
      why: 'enum default',
      given: 's:enum(a|b):default=c',
      column: 21,
      token: 'c',
      says: 'not one of the enum values (a, b)',
    },
    { why: 'empty default', given: 's:string:default=', column: 10, token: 'default=', says: 'empty default value' },
    {
      why: 'default without =',
      given: 's:string:default',
      column: 10,
      token: 'default',
      says: '"default" needs a value',
    },
    {
      why: 'unterminated quote',
      given: 's:string:default="a b c',
      column: 18,
      token: '"a b c',
      says: 'unterminated quote',
    },
    {
      why: 'text after a quoted default',
      given: 's:string:default="a"b',
      column: 21,
      token: 'b',
      says: 'unexpected "b"',
    },
    { why: 'stray quote', given: 's:string:default=a"b"', column: 19, token: '"', says: 'stray quote' },
    { why: 'reserved id', given: 'id:uuid', column: 1, token: 'id', says: 'reserved field name "id"' },
    {
      why: 'reserved createdAt',
      given: 'x:string createdAt:datetime',
      column: 10,
      token: 'createdAt',
      says: 'reserved field name',
    },
    {
      why: 'reserved updatedAt',
      given: 'updatedAt:datetime',
      column: 1,
      token: 'updatedAt',
      says: 'reserved field name',
    },
    {
      why: 'reserved, other spelling',
      given: 'created_at:datetime',
      column: 1,
      token: 'created_at',
      says: 'reserved field name',
    },
  ];

  it.each(cases)('$why: $given', ({ given, column, token, says }) => {
    let error: unknown;
    try {
      parseFields(given);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BackdevError);
    const e = error as BackdevError;
    expect(e.code).toBe('FIELDS_SYNTAX');
    const [head, inputLine, caretLine, ...rest] = e.message.split('\n');
    expect(rest).toEqual([]);
    expect(head).toMatch(/^--fields: /);
    expect(head).toContain(says);
    expect(head).toContain(`at column ${column}`);
    if (token.trim() !== '') expect(head).toContain(token.replace(/\s.*$/s, ''));
    // The input, then a caret line under the bad token.
    expect(inputLine).toBe(`  ${given.replace(/\s/g, ' ')}`);
    expect(caretLine).toBe(`  ${' '.repeat(column - 1)}${'^'.repeat(Math.max(1, token.length))}`);
  });

  it('shows the expected types for an unknown type', () => {
    expect(() => parseFields('name:strng')).toThrow(
      '--fields: unknown type "strng" in "name:strng" at column 6 (expected one of: string, text, integer, bigint, number, boolean, date, datetime, uuid, email, enum, ref)\n  name:strng\n       ^^^^^',
    );
  });

  it('formats for the CLI with the error code', () => {
    try {
      parseFields('a:b');
    } catch (e) {
      expect((e as BackdevError).format()).toMatch(/\^ \[BACKDEV_FIELDS_SYNTAX\]$/);
    }
    expect.assertions(1);
  });
});

describe('FIELDS_HELP', () => {
  it('documents every type and modifier, with an example that parses', () => {
    for (const type of FIELD_TYPES) expect(FIELDS_HELP).toContain(type);
    for (const word of ['?', 'unique', 'index', 'default=', 'enum(a|b|c)', 'ref(Model)'])
      expect(FIELDS_HELP).toContain(word);
    const example = /--fields "([^"]+)"/.exec(FIELDS_HELP)?.[1];
    expect(example).toBeDefined();
    expect(parseFields(example!)).toHaveLength(6);
  });
});
