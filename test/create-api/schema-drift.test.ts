/**
 * A table-backed schema that changes is reported at once: after a property is added to a designed model
 * (here through the schema it extends with allOf), create-api warns naming design-database and
 * `create-api --check` fails; once design-database has written the migration, both pass. A change to a
 * description only is not a table change.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { main } from '../../generators/cli.js';
import { memoryOutput } from '../../generators/core/report.js';
import { cleanup, tempDir } from '../helpers.js';

process.env.DATABASE_URL = '';

let parent: string;
let dir: string;

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const output = memoryOutput();
  const before = process.cwd();
  process.chdir(dir);
  try {
    const code = await main(args, output);
    return { code, out: output.stdout.join('\n'), err: output.stderr.join('\n') };
  } finally {
    process.chdir(before);
  }
}

const specFile = () => path.join(dir, 'openapi.yaml');

beforeAll(async () => {
  parent = tempDir('schema-drift');
  dir = parent;
  expect((await run(['init', 'p'])).code).toBe(0);
  dir = path.join(parent, 'p');
  const designed = await run(['design-database', '--model', 'Pet']);
  expect(designed.code, designed.err).toBe(0);
}, 240_000);

afterAll(() => cleanup(parent));

it('a property added to a designed model: create-api warns and --check fails until design-database', async () => {
  // Quiet while the model matches its design, and about a change to a description only.
  expect((await run(['create-api'])).err).not.toContain('SCHEMA_NOT_MIGRATED');
  const original = readFileSync(specFile(), 'utf8');
  writeFileSync(specFile(), original.replace('    NewPet:\n      type: object\n', '    NewPet:\n      description: A pet to add\n      type: object\n'));
  expect(readFileSync(specFile(), 'utf8')).not.toBe(original);
  expect((await run(['create-api'])).err).not.toContain('SCHEMA_NOT_MIGRATED');
  expect((await run(['create-api', '--check'])).code).toBe(0);

  const spec = readFileSync(specFile(), 'utf8');
  // Pet is `allOf: [NewPet, …]`: the new property lands in Pet's table.
  const changed = spec.replace(
    /(    NewPet:\n[\s\S]*?        birthday:\n          type: string\n          format: date\n)/,
    '$1        weight:\n          type: number\n',
  );
  expect(changed).not.toBe(spec);
  writeFileSync(specFile(), changed);

  const generate = await run(['create-api']);
  expect(generate.code).toBe(0);
  expect(generate.err).toMatch(/schema "Pet": .*`backdev design-database`.*npm run db:migrate.*\[BACKDEV_SCHEMA_NOT_MIGRATED\]/);
  const check = await run(['create-api', '--check']);
  expect(check.code).toBe(1);
  expect(check.err).toContain('create-api --check: the database design is out of date for Pet; run `backdev design-database`');

  const design = await run(['design-database']);
  expect(design.code, design.err).toBe(0);
  expect(design.out).toMatch(/add column pets\.weight/);
  const after = await run(['create-api']);
  expect(after.err).not.toContain('SCHEMA_NOT_MIGRATED');
  expect((await run(['create-api', '--check'])).code).toBe(0);
  expect((await run(['design-database', '--check'])).code).toBe(0);
}, 120_000);
