/**
 * design-database and migrate as a user runs them: models marked in the spec → a migration per change
 * (only the change), destructive steps refused unless allowed, rename hints, no change → no migration,
 * then migrate up / status / down / to zero on the embedded database.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryOutput } from '../../generators/core/report.js';
import { runInit } from '../../generators/index.js';
import { backdev, backdevInProcess, cleanup, linkBackdev, snapshotTree, tempDir, typecheck } from '../helpers.js';

let dir: string;
const read = (p: string) => readFileSync(path.join(dir, p), 'utf8');
const migrations = () => readdirSync(path.join(dir, 'db/migrations')).sort();
const editSpec = (from: string, to: string) => {
  const spec = read('openapi.yaml');
  expect(spec).toContain(from);
  writeFileSync(path.join(dir, 'openapi.yaml'), spec.replace(from, to));
};
const MODELS = `
    Author:
      type: object
      x-backdev-table: true
      required: [name]
      properties:
        name: { type: string, maxLength: 120 }
        bio: { type: string }
    Book:
      type: object
      x-backdev-table: true
      required: [title, author]
      properties:
        title: { type: string }
        pages: { type: integer }
        author: { $ref: '#/components/schemas/Author' }
`;

beforeAll(async () => {
  dir = tempDir('design');
  await runInit({ dir, force: true }, memoryOutput());
  linkBackdev(dir);
  editSpec('\ncomponents:\n  schemas:\n', `\ncomponents:\n  schemas:\n${MODELS.slice(1)}`);
});
afterAll(() => cleanup(dir));

describe('design-database', () => {
  it('designs the marked models: tables, a foreign key, types, repositories', async () => {
    const r = await backdevInProcess(['design-database'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(migrations()).toEqual(['0001_create_authors_and_books.ts']);
    const m = read('db/migrations/0001_create_authors_and_books.ts');
    expect(m).toMatch(/createTable\('authors'\)/);
    expect(m).toMatch(/createTable\('books'\)/);
    expect(m).toMatch(/addForeignKeyConstraint/);
    expect(m).toMatch(/export async function down/);
    expect(read('db/schema.gen.ts')).toMatch(/authors: AuthorsTable/);
    expect(read('db/repositories/book.ts')).toMatch(/export function bookRepository/);
    expect(read('db/repositories/book.gen.ts')).toMatch(/export function createBookRepository/);
    expect(read('src/app.ts')).toMatch(/db\.destroy\(\)/);
    expect(await typecheck(dir)).toBe('');
  });

  it('no change: no migration, nothing written', async () => {
    const before = snapshotTree(dir);
    const r = await backdevInProcess(['design-database'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('no migration');
    expect(snapshotTree(dir)).toEqual(before);
    expect((await backdevInProcess(['design-database', '--check'], dir)).code).toBe(0);
  });

  it('a new property gives a migration with only that change', async () => {
    editSpec('        pages: { type: integer }\n', "        pages: { type: integer }\n        isbn: { type: string, 'x-backdev-unique': true }\n");
    expect((await backdevInProcess(['design-database', '--check'], dir)).code).toBe(1);
    const r = await backdevInProcess(['design-database'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(migrations()).toHaveLength(2);
    const m = read(`db/migrations/${migrations()[1]}`);
    expect(m).toMatch(/isbn/);
    expect(m).not.toMatch(/createTable/);
    expect(m).toMatch(/unique\(\)/);
  });

  it('a dropped property is refused without --allow-destructive and lists the step', async () => {
    editSpec('        bio: { type: string }\n', '');
    const before = snapshotTree(dir);
    const refused = await backdevInProcess(['design-database'], dir);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('BACKDEV_DESTRUCTIVE_CHANGE');
    expect(refused.stderr).toMatch(/bio/);
    expect(snapshotTree(dir)).toEqual(before);
    const allowed = await backdevInProcess(['design-database', '--allow-destructive'], dir);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(read(`db/migrations/${migrations()[2]}`)).toMatch(/dropColumn\('bio'\)/);
  });

  it('a rename with a hint is a rename, not drop + add', async () => {
    editSpec('        title: { type: string }\n', '        heading: { type: string }\n');
    editSpec('required: [title, author]', 'required: [heading, author]');
    const r = await backdevInProcess(['design-database', '--rename', 'books.title:heading'], dir);
    expect(r.code, r.stderr).toBe(0);
    const m = read(`db/migrations/${migrations()[3]}`);
    expect(m).toMatch(/renameColumn\('title', 'heading'\)/);
    expect(m).not.toMatch(/dropColumn/);
    expect(await typecheck(dir)).toBe('');
  });

  it('an invalid --fields string points at the bad token', async () => {
    const r = await backdevInProcess(['design-database', '--model', 'Tag', '--fields', 'label:strnig'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('"strnig"');
    expect(r.stderr).toContain('BACKDEV_FIELDS_SYNTAX');
  });
});

describe('migrate', () => {
  it('up, status, down, to zero on the embedded database', async () => {
    // The embedded database even where DATABASE_URL is set (CI): never the shared server's.
    const embedded = { DATABASE_URL: '' };
    const run = (args: string[]) => backdevInProcess(args, dir, embedded);
    const env = ['migrate'];
    const up = await run([...env, 'up']);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout.match(/applied {2}\d{4}_/g)).toHaveLength(4);
    const status = await run([...env, 'status']);
    expect(status.stdout).toContain('4 applied, 0 pending');
    const down = await run([...env, 'down']);
    expect(down.stdout.match(/reverted {2}/g)).toHaveLength(1);
    expect((await run([...env, 'status'])).stdout).toContain('3 applied, 1 pending');
    const first = migrations()[0]!.replace(/\.ts$/, '');
    const to = await run([...env, 'to', first]);
    expect(to.code, to.stderr).toBe(0);
    expect((await run([...env, 'status'])).stdout).toContain('1 applied, 3 pending');
    const zero = await run([...env, 'to', 'zero']);
    expect(zero.code, zero.stderr).toBe(0);
    expect((await run([...env, 'status'])).stdout).toContain('0 applied, 4 pending');
    const unknown = await run([...env, 'to', '9999_nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no migration named');
    // Nine commands in this process (the binary itself is tested in test/cli.test.ts), each opening the
    // embedded database.
  }, 360_000);
});
