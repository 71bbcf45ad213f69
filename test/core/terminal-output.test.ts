/**
 * What a run prints about a spec must not act on the terminal: names in warnings are quoted, and every
 * warning and error line leaves control characters (ANSI escapes, CR, BS, C1, line separators, bidi
 * overrides) as visible escapes.
 */
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BackdevError, formatWarning, quoteName, terminalSafe } from '../../generators/core/errors.js';
import { buildApi } from '../../generators/core/ir/build.js';
import { consoleOutput, memoryOutput, printWarnings } from '../../generators/core/report.js';
import { loadSpec } from '../../generators/core/spec/load.js';
import { SPECS } from '../helpers.js';

/** Anything a terminal would act on rather than show (tab aside). */
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/** The same, for output that may be several lines by design. */
const CONTROL_BUT_NEWLINE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

const ESC = '\u001b';
/** Recolours, sets the window title, returns the cursor to the line start and writes a fake line. */
const EVIL = `x${ESC}[31m${ESC}]0;owned\u0007\r\nwarning: all good\u009b2J\u202etxt.exe\u2028`;

describe('terminalSafe', () => {
  it('writes control characters as escapes and keeps the rest', () => {
    expect(terminalSafe(EVIL)).toBe('x\\u001b[31m\\u001b]0;owned\\u0007\\r\\nwarning: all good\\u009b2J\\u202etxt.exe\\u2028');
    expect(terminalSafe('tab\tstays, ünïcødé and emoji 🎉 too')).toBe('tab\tstays, ünïcødé and emoji 🎉 too');
    expect(terminalSafe('two\nlines\r', true)).toBe('two\nlines\\r');
  });

  it('quoteName shows where a name starts and ends, quotes and line breaks escaped', () => {
    expect(quoteName('listPets')).toBe('"listPets"');
    expect(quoteName('a "b"\nc')).toBe('"a \\"b\\"\\nc"');
  });
});

describe('warnings about spec names', () => {
  async function warningsOf(doc: object) {
    return buildApi(await loadSpec('/virtual/spec.json', { rootText: JSON.stringify(doc) })).warnings;
  }

  it('quote the names and print as one line each, with no control character', async () => {
    const warnings = await warningsOf({
      openapi: '3.0.3',
      info: { title: 't', version: '1' },
      paths: {
        [`/a/{${EVIL}}`]: {
          get: {
            operationId: EVIL,
            security: [{ [EVIL]: [] }],
            parameters: [{ name: EVIL, in: 'cookie', schema: { type: 'string' } }],
            responses: { [EVIL]: { description: 'x' }, '204': { description: 'ok' } },
          },
        },
      },
      components: { securitySchemes: { [EVIL]: { type: 'mutualTLS' } } },
    });
    const codes = warnings.map((w) => w.code).sort();
    expect(codes).toEqual(['COOKIE_PARAMETER', 'PATH_PARAMETER_UNDECLARED', 'RESPONSE_STATUS', 'SECURITY_SCHEME_UNSUPPORTED']);
    for (const w of warnings) expect(`${w.subject} ${w.message}`).toContain(JSON.stringify(EVIL));

    const out = memoryOutput();
    printWarnings(warnings, out);
    expect(out.stderr).toHaveLength(warnings.length);
    for (const line of out.stderr) {
      expect(line).not.toMatch(CONTROL);
      expect(line).toMatch(/^warning: .* \[BACKDEV_[A-Z_]+\]$/);
    }
    expect(out.stderr.join('\n')).toContain('\\u001b[31m');
  });

  it('an unknown scheme in a security requirement is quoted', async () => {
    const warnings = await warningsOf({
      openapi: '3.0.3',
      info: { title: 't', version: '1' },
      paths: { '/a': { get: { operationId: 'a', security: [{ [EVIL]: [] }], responses: { '204': { description: 'ok' } } } } },
    });
    expect(warnings).toEqual([
      {
        code: 'SECURITY_UNKNOWN_SCHEME',
        subject: 'operation "a"',
        message: `security names ${JSON.stringify(EVIL)}, which is not in components.securitySchemes; that alternative never passes`,
      },
    ]);
    expect(formatWarning(warnings[0]!)).not.toMatch(CONTROL);
  });

  it('the hostile fixture: every warning is one line without control characters', async () => {
    const api = buildApi(await loadSpec(path.join(SPECS, 'hostile.yaml')));
    expect(api.warnings.length).toBeGreaterThan(0);
    const out = memoryOutput();
    printWarnings(api.warnings, out, true);
    for (const line of out.stderr) expect(line).not.toMatch(CONTROL);
    // Its scheme key "bearer */\nAUTH_EVIL=1\n" shows as written in the spec, escapes and all.
    expect(out.stderr.join('\n')).not.toMatch(/^AUTH_EVIL/m);
  });
});

describe('errors and output', () => {
  afterEach(() => vi.restoreAllMocks());

  it('BackdevError.format keeps its own line breaks and escapes the rest, location included', () => {
    const error = new BackdevError('SPEC_INVALID', `bad name ${EVIL}`, {
      location: { file: 'spec.yaml', line: 3, pointer: `/paths/${EVIL}` },
      details: [`hint ${ESC}[2K`],
    });
    const text = error.format();
    expect(text.split('\n')).toHaveLength(3);
    for (const line of text.split('\n')) expect(line).not.toMatch(CONTROL);
    expect(text).toContain('\\u001b[31m');
  });

  it('consoleOutput and memoryOutput print nothing but line breaks that acts on the terminal', () => {
    const written: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    consoleOutput.err(`error: ${EVIL}`);
    consoleOutput.out(`created ${EVIL}`);
    const memory = memoryOutput();
    memory.err(EVIL);
    memory.out(EVIL);
    for (const text of [...written, ...memory.stderr, ...memory.stdout]) expect(text).not.toMatch(CONTROL_BUT_NEWLINE);
    expect(written).toHaveLength(2);
    expect(memory.stderr[0]).toContain('\\u001b[31m');
  });
});
