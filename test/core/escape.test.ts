/** The escaping helpers are the one gate between spec text and code text: each must round-trip or stay inert. */
import { describe, expect, it } from 'vitest';
import { docText, identifier, jsonLiteral, lineComment, propertyKey, stringLiteral } from '../../generators/core/render/escape.js';

const HOSTILE = [
  '',
  'plain',
  "it's",
  'say "hi"',
  'back\\slash',
  '\\"',
  "\\'",
  '*/ globalThis.pwned = 1; /*',
  '`${globalThis.pwned = 1}`',
  '${x}',
  'line\nbreak',
  'carriage\rreturn',
  'sep\u2028arator',
  'para\u2029graph',
  'next\u0085line',
  '</script><script>alert(1)</script>',
  '\u0000\u0001\u001f control',
  '@param injected',
  '// comment */ /* nested',
  '\ud83d\ude00 emoji',
];

describe('escape helpers', () => {
  it.each(HOSTILE)('stringLiteral round-trips %j', (text) => {
    const literal = stringLiteral(text);
    expect(literal.startsWith("'") && literal.endsWith("'")).toBe(true);
    expect(literal).not.toMatch(/[\n\r\u2028\u2029]/);
    expect(new Function(`return ${literal};`)()).toBe(text);
  });

  it.each(HOSTILE)('docText stays inside its comment: %j', (text) => {
    const g = globalThis as { pwned?: unknown };
    const fn = new Function(`/**\n * ${docText(text)}\n */\nreturn 42;`);
    expect(fn()).toBe(42);
    expect(g.pwned).toBeUndefined();
  });

  it.each(HOSTILE)('lineComment stays on its line: %j', (text) => {
    expect(new Function(`// ${lineComment(text)}\nreturn 42;`)()).toBe(42);
  });

  it('jsonLiteral evaluates back to the same data, with __proto__ as an own property', () => {
    const text = JSON.stringify({ 'a key': HOSTILE, nested: [{ '*/': null, n: 1.5, b: false, empty: {} }, []], '0': 'zero', type: 'reserved words are fine as keys' });
    const data = JSON.parse(text.replace(/^\{/, '{"__proto__":{"polluted":true},'));
    const value = new Function(`return ${jsonLiteral(data)};`)();
    expect(JSON.stringify(value)).toBe(JSON.stringify(data));
    expect(Object.keys(value)).toContain('__proto__');
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });

  it('propertyKey quotes what is not an identifier', () => {
    expect(propertyKey('name')).toBe('name');
    expect(propertyKey('delete')).toBe('delete');
    expect(propertyKey('x-request-id')).toBe("'x-request-id'");
    expect(propertyKey('12')).toBe('12');
    expect(propertyKey('012')).toBe("'012'");
    expect(propertyKey('__proto__')).toBe("['__proto__']");
  });

  it('identifier refuses anything that is not a safe identifier', () => {
    expect(identifier('listPets')).toBe('listPets');
    for (const bad of ['delete', '1st', 'a-b', 'x;y', '', 5, undefined]) expect(() => identifier(bad)).toThrow(TypeError);
  });
});

describe('stringLiteral without the JSON round trip', () => {
  /** The literal built the long way for every string: JSON.stringify, then the quote and separator fixes. */
  const viaJson = (text: string) =>
    `'${JSON.stringify(text)
      .slice(1, -1)
      .replace(/\\.|'|[\u2028\u2029]/g, (m) => (m === '\\"' ? '"' : m === "'" ? "\\'" : m === '\u2028' ? '\\u2028' : m === '\u2029' ? '\\u2029' : m))}'`;

  it('gives the same literal for every UTF-16 code unit, alone and between plain text', () => {
    let differences = 0;
    for (let c = 0; c <= 0xffff; c++) {
      const ch = String.fromCharCode(c);
      for (const text of [ch, `a${ch}b`, `${ch}${ch}`]) if (stringLiteral(text) !== viaJson(text)) differences++;
    }
    expect(differences).toBe(0);
  });

  it('gives the same literal for surrogate pairs, lone surrogates and mixed text', () => {
    for (const text of ['😀', 'a\ud83d', '\ude00b', 'x😀"y\'z\\', 'tab\there', 'naïve — café', ...HOSTILE]) {
      expect(stringLiteral(text)).toBe(viaJson(text));
    }
  });
});
