/**
 * `create-api --endpoint <existing> --fields …` adds the new fields to the resource: its three schemas in step
 * (the spec's comments and layout kept), a migration adding the columns, the user's handler file untouched.
 * Fields already there with the same definition change nothing; with another definition, or required with no
 * default (the table may have rows), or a `ref(Model)` to a model with no table, nothing is written.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { BackdevError } from '../../generators/core/errors.js';
import { memoryOutput } from '../../generators/core/report.js';
import { addEndpoint } from '../../generators/create-api/endpoint.js';
import { parseFields } from '../../generators/core/resource/fields.js';
import { runInit } from '../../generators/index.js';
import { backdevInProcess, cleanup, linkBackdev, snapshotTree, tempDir, typecheck } from '../helpers.js';

type Json = { [key: string]: any };

let dir: string;
const read = (p: string) => readFileSync(path.join(dir, p), 'utf8');
const migrations = () => readdirSync(path.join(dir, 'db/migrations')).sort();

beforeAll(async () => {
  dir = tempDir('evolve');
  await runInit({ dir, force: true }, memoryOutput());
  linkBackdev(dir);
  const r = await backdevInProcess(['create-api', '--endpoint', 'notes', '--fields', 'title:string body:text?'], dir);
  expect(r.code, r.stderr).toBe(0);
});
afterAll(() => cleanup(dir));

function thrown(fn: () => unknown): BackdevError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(BackdevError);
    return e as BackdevError;
  }
  throw new Error('expected an error');
}

describe('adding fields to an existing resource', () => {
  it('adds them to Note, NoteCreate and NoteUpdate in step, writes a migration adding the columns and leaves the handlers alone', async () => {
    const specBefore = read('openapi.yaml');
    const handlerBefore = read('src/handlers/notes.ts');
    const testBefore = read('test/notes.test.ts');
    const r = await backdevInProcess(['create-api', '--endpoint', 'notes', '--fields', 'title:string dueDate:date? priority:integer:default=1 status:enum(open|done)?'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('added dueDate, priority, status to Note, NoteCreate and NoteUpdate in openapi.yaml');

    const spec = read('openapi.yaml');
    // Every original line is still there, in order (comments and layout kept); Note's required list grew.
    const requiredBefore = '      required: [id, title, createdAt, updatedAt]\n';
    expect(specBefore).toContain(requiredBefore);
    expect(spec).toContain('      required: [id, title, createdAt, updatedAt, priority]\n');
    let at = 0;
    for (const line of specBefore.replace(requiredBefore, '').split('\n')) {
      const found = spec.indexOf(line, at);
      expect(found, line).toBeGreaterThanOrEqual(at);
      at = found + line.length;
    }
    const schemas = (parse(spec) as Json).components.schemas;
    expect(Object.keys(schemas.Note.properties)).toEqual(['id', 'title', 'body', 'createdAt', 'updatedAt', 'dueDate', 'priority', 'status']);
    expect(schemas.Note.required).toEqual(['id', 'title', 'createdAt', 'updatedAt', 'priority']);
    expect(schemas.Note.properties.priority).toEqual({ type: 'integer', format: 'int32', default: 1 });
    expect(Object.keys(schemas.NoteCreate.properties)).toEqual(['title', 'body', 'dueDate', 'priority', 'status']);
    expect(schemas.NoteCreate.required).toEqual(['title']);
    expect(Object.keys(schemas.NoteUpdate.properties)).toEqual(['title', 'body', 'dueDate', 'priority', 'status']);
    // PATCH can clear an optional field; a required one stays non-null, with no default.
    expect(schemas.NoteUpdate.properties.dueDate).toMatchObject({ type: 'string', nullable: true, format: 'date' });
    expect(schemas.NoteUpdate.properties.status).toEqual({ type: 'string', nullable: true, enum: ['open', 'done', null] });
    expect(schemas.NoteUpdate.properties.priority).toEqual({ type: 'integer', format: 'int32' });

    expect(migrations()).toEqual(['0001_create_notes.ts', '0002_add_notes_due_date_and_priority_and_status.ts']);
    const migration = read('db/migrations/0002_add_notes_due_date_and_priority_and_status.ts');
    expect(migration).toContain(".addColumn('due_date', 'date')");
    expect(migration).toContain(".addColumn('priority', 'integer', (col) => col.notNull().defaultTo(1))");
    expect(migration).toContain(".addColumn('status', 'text')");
    expect(migration).not.toContain('createTable');
    expect(read('db/repositories/note.gen.ts')).toContain('dueDate?: string | null;');

    expect(read('src/handlers/notes.ts')).toBe(handlerBefore);
    expect(read('test/notes.test.ts')).toBe(testBefore);
    expect(await typecheck(dir)).toBe('');
  }, 120_000);

  it('fields already there with the same definition change nothing', async () => {
    const before = snapshotTree(dir);
    const r = await backdevInProcess(['create-api', '--endpoint', 'notes', '--fields', 'title:string dueDate:date?'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Note is already in openapi.yaml as described');
    expect(snapshotTree(dir)).toEqual(before);
  });

  it('a field already there with another definition is an error naming it, and nothing is written', async () => {
    const before = snapshotTree(dir);
    const r = await backdevInProcess(['create-api', '--endpoint', 'notes', '--fields', 'tag:string? dueDate:datetime?'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('field "dueDate" of Note is already in');
    expect(r.stderr).toContain('#/components/schemas/Note/properties/dueDate');
    expect(r.stderr).toContain('BACKDEV_ENDPOINT_EXISTS');
    expect(snapshotTree(dir)).toEqual(before);
  });

  it('a new required field without a default is refused (the table may have rows)', async () => {
    const before = snapshotTree(dir);
    const r = await backdevInProcess(['create-api', '--endpoint', 'notes', '--fields', 'author:string'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('new field "author" of the existing Note is required and has no default');
    expect(r.stderr).toContain('author:string?');
    expect(snapshotTree(dir)).toEqual(before);
  });

  it('a ref to a model that does not exist is an error pointing at it and naming the known models', async () => {
    const before = snapshotTree(dir);
    const r = await backdevInProcess(['create-api', '--endpoint', 'notes', '--fields', 'title:string notebook:ref(Notebook)?'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--fields: unknown model "Notebook" in "notebook:ref(Notebook)?" at column 27 (known models: Note)');
    expect(r.stderr).toContain('\n  title:string notebook:ref(Notebook)?\n');
    expect(r.stderr).toMatch(/\n.* {24}.*\^{8}/);
    expect(r.stderr).toContain('BACKDEV_FIELDS_SYNTAX');
    expect(snapshotTree(dir)).toEqual(before);
    // For a new resource too.
    const other = await backdevInProcess(['create-api', '--endpoint', 'pages', '--fields', 'note:ref(Note) book:ref(Book)'], dir);
    expect(other.code).toBe(1);
    expect(other.stderr).toContain('unknown model "Book"');
    expect(snapshotTree(dir)).toEqual(before);
  });

  it('a ref to an existing model adds a foreign key column', async () => {
    const r = await backdevInProcess(['create-api', '--endpoint', 'pages', '--fields', 'note:ref(Note) parent:ref(Page)?'], dir);
    expect(r.code, r.stderr).toBe(0);
    const migration = read(`db/migrations/${migrations().at(-1)}`);
    expect(migration).toContain(".addForeignKeyConstraint('pages_note_fkey', ['note'], 'notes', ['id']");
    expect(migration).toContain(".addForeignKeyConstraint('pages_parent_fkey', ['parent'], 'pages', ['id']");
  });
});

describe('addEndpoint on an existing resource (spec text in, spec text out)', () => {
  const JSON_31 = JSON.stringify(
    {
      openapi: '3.1.0',
      info: { title: 't', version: '1' },
      paths: {},
    },
    null,
    4,
  );

  it('edits a JSON 3.1 spec: a nullable type array in the update schema, the required list extended', () => {
    const first = addEndpoint(JSON_31, 'openapi.json', 'notes', parseFields('title:string'));
    const second = addEndpoint(first.text, 'openapi.json', 'notes', parseFields('rank:integer:default=0 due:date?'));
    expect(second).toMatchObject({ changed: true, existing: true, addedFields: ['rank', 'due'] });
    expect(second.text.split('\n')[1]).toBe('    "openapi": "3.1.0",');
    const s = (JSON.parse(second.text) as Json).components.schemas;
    expect(s.Note.required).toEqual(['id', 'title', 'createdAt', 'updatedAt', 'rank']);
    expect(s.NoteCreate.required).toEqual(['title']);
    expect(s.NoteUpdate.properties.due).toMatchObject({ type: ['string', 'null'], format: 'date' });
    expect(s.NoteUpdate.properties.rank).toEqual({ type: 'integer', format: 'int32' });
    // Paths and the other schemas are as they were.
    expect((JSON.parse(second.text) as Json).paths).toEqual((JSON.parse(first.text) as Json).paths);
  });

  it('keeps comments inside the schemas it extends, in block-style required lists too', () => {
    const first = addEndpoint('openapi: 3.0.3\ninfo: {title: t, version: "1"}\n', 'openapi.yaml', 'notes', parseFields('title:string')).text;
    const commented = first
      .replace('required: [id, title, createdAt, updatedAt]', 'required: # the API always sends these\n        - id\n        - title\n        - createdAt\n        - updatedAt')
      .replace('    NoteUpdate:\n', '    # PATCH body\n    NoteUpdate:\n');
    expect(commented).not.toBe(first);
    const edit = addEndpoint(commented, 'openapi.yaml', 'notes', parseFields('rank:integer:default=0 note:text?'));
    expect(edit.changed).toBe(true);
    for (const line of commented.split('\n')) expect(edit.text.split('\n')).toContain(line);
    expect(edit.text).toContain('        - updatedAt\n        - rank\n');
    const s = (parse(edit.text) as Json).components.schemas;
    expect(Object.keys(s.NoteUpdate.properties)).toEqual(['title', 'rank', 'note']);
    expect(s.NoteUpdate.properties.note).toMatchObject({ type: 'string', nullable: true });
  });

  it('without a table for the target, ref(Model) is refused when refs are checked', () => {
    const e = thrown(() =>
      addEndpoint('openapi: 3.0.3\n', 'openapi.yaml', 'notes', parseFields('owner:ref(User)'), { checkRefs: true, fieldsText: 'owner:ref(User)' }),
    );
    expect(e.code).toBe('FIELDS_SYNTAX');
    expect(e.message).toContain('unknown model "User"');
    expect(e.message).toContain('known models: Note');
    expect(e.message).toContain('\n  owner:ref(User)\n            ^^^^');
    // A model designed with --model (not marked in the spec) is known.
    const spec = 'openapi: 3.0.3\ncomponents:\n  schemas:\n    User: {type: object, properties: {name: {type: string}}}\n';
    expect(addEndpoint(spec, 'openapi.yaml', 'notes', parseFields('owner:ref(User)'), { checkRefs: true, knownModels: ['User'] }).changed).toBe(true);
    expect(thrown(() => addEndpoint(spec, 'openapi.yaml', 'notes', parseFields('owner:ref(User)'), { checkRefs: true })).message).toContain(
      'the schema "User" has no table',
    );
  });
});
