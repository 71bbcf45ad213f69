import { describe, expect, it } from 'vitest';
import { formatTypeScript } from '../../generators/core/render/format.js';
import { StubFormatter } from '../../generators/create-api/stub-format.js';

const head = `/**
 * Handlers for the pets operations.
 */
import { notImplemented, type Handlers } from '../generated/handlers.gen.js';
`;
const stub = (id: string, comment = `GET /things/${id}`) =>
  `/** ${comment} */\nexport const ${id}: Handlers['${id}'] = async (_ctx) => {\n  return notImplemented('${id}');\n};\n`;
const whole = (stubs: string[]) => head + stubs.map((s) => `\n${s}`).join('');

/** Ids of every length from 1 to 130 (the layout changes at several widths), with letters of the fixed text. */
const ids = Array.from({ length: 130 }, (_, i) => `a${'Handlersync_$Q'.repeat(10)}`.slice(0, i + 1));

describe('StubFormatter', () => {
  it('formats a file of plain stubs exactly as prettier formats the whole file', async () => {
    const stubs = ids.map((id, i) => stub(id, i % 3 === 0 ? `A summary with */ never closed early — ${'x'.repeat(i)}`.replace('*/', '* /') : undefined));
    const formatter = new StubFormatter();
    const text = whole(stubs);
    const expected = await formatTypeScript(text, 'src/handlers/things.ts');
    expect(await formatter.file(text, head, stubs, 'src/handlers/things.ts')).toBe(expected);
    // Long ids are laid out differently from short ones: the comparison covers more than one layout.
    expect(new Set(expected.split('\n').filter((l) => l.startsWith('export const')).map((l) => l.endsWith('{') ? 'one line' : l.endsWith('=') ? 'broken after =' : 'other')).size).toBeGreaterThan(1);
  });

  it('formats one stub (appended to a user file) as prettier does', async () => {
    const formatter = new StubFormatter();
    for (const id of [ids[5]!, ids[60]!, ids[129]!]) {
      expect(await formatter.stub(stub(id), 'src/handlers/things.ts')).toBe(await formatTypeScript(stub(id), 'src/handlers/things.ts'));
    }
  });

  it('leaves anything else to prettier as a whole', async () => {
    const formatter = new StubFormatter();
    const odd = `/** GET /x */\nexport const getX: Handlers['getX'] = async ({ params }) => {\n  return { status: 200, body: { id:   params.id } };\n};\n`;
    const stubs = [stub('listThings'), odd];
    const text = whole(stubs);
    expect(await formatter.file(text, head, stubs, 'src/handlers/things.ts')).toBe(await formatTypeScript(text, 'src/handlers/things.ts'));
    // A head that does not match the whole text (another template's layout) is not trusted either.
    const other = head + stubs.map((s) => `\n\n${s}`).join('');
    expect(await formatter.file(other, head, stubs, 'src/handlers/things.ts')).toBe(await formatTypeScript(other, 'src/handlers/things.ts'));
  });
});
