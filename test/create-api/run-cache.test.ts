/**
 * The run cache (.backdev/cache/create-api.json): a run whose inputs and files are as the last write left
 * them reuses that write's plan instead of planning again; any change to the spec, a template, an option or a
 * file of the run plans in full, and a generated file edited by hand is still refused.
 */
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi, type CreateApiOptions } from '../../generators/create-api/index.js';
import { planCreateApi } from '../../generators/create-api/plan.js';
import { runGenerator } from '../../generators/core/generator/run.js';
import type { Planners } from '../../generators/core/generator/types.js';
import { BUNDLED_TEMPLATES } from '../../generators/core/render/templates.js';
import { memoryOutput } from '../../generators/core/report.js';
import { cleanup, snapshotTree, SPECS, tempDir } from '../helpers.js';

let dir: string;
let planned = 0;
const file = (p: string) => path.join(dir, p);
const read = (p: string) => readFileSync(file(p), 'utf8');
const planners: Planners = {
  api: async (...args) => {
    planned++;
    return planCreateApi(...args);
  },
  database: () => Promise.reject(new Error('not used here')),
};

/** Runs create-api on the project; `planned` says whether it planned (true) or reused the last write (false). */
async function run(extra: Partial<CreateApiOptions> = {}) {
  const before = planned;
  const out = memoryOutput();
  const result = await runGenerator(createApi, { cwd: dir, out: '.', spec: 'openapi.yaml', ...extra }, out, planners);
  return { ...result, out, planned: planned > before };
}

beforeAll(async () => {
  dir = tempDir('run-cache');
  copyFileSync(path.join(SPECS, 'petstore.yaml'), file('openapi.yaml'));
  const first = await run();
  expect(first.planned).toBe(true);
});
afterAll(() => cleanup(dir));

describe('run cache', () => {
  it('a no-change rerun reuses the last write: it plans nothing, writes nothing and says 0 changed', async () => {
    expect(JSON.parse(read('.backdev/cache/create-api.json')).key).toMatch(/^sha256-/);
    const tree = snapshotTree(dir);
    const again = await run();
    expect(again.planned).toBe(false);
    expect(again.out.stdout[0]).toMatch(/^create-api: 0 files changed/);
    expect(again.report.unchanged.length).toBeGreaterThan(5);
    expect(snapshotTree(dir)).toEqual(tree);
  });

  it('a changed spec plans again and regenerates', async () => {
    const spec = read('openapi.yaml');
    writeFileSync(file('openapi.yaml'), spec.replace(/title: .*/, 'title: Pet store, renamed'));
    const changed = await run();
    expect(changed.planned).toBe(true);
    expect(changed.report.updated).toContain('src/generated/openapi.gen.json');
    expect(read('src/generated/openapi.gen.json')).toContain('Pet store, renamed');
    expect((await run()).planned).toBe(false);
  });

  it('a changed user template (and a change to it later) regenerates', async () => {
    const templates = file('my-templates');
    mkdirSync(path.join(templates, 'create-api'), { recursive: true });
    const bundled = readFileSync(path.join(BUNDLED_TEMPLATES, 'create-api', 'routes.gen.ts.hbs'), 'utf8');
    const override = path.join(templates, 'create-api', 'routes.gen.ts.hbs');
    writeFileSync(override, `${bundled}\n// my routes v1\n`);
    const first = await run({ templates });
    expect(first.planned).toBe(true);
    expect(read('src/generated/routes.gen.ts')).toContain('// my routes v1');
    expect((await run({ templates })).planned).toBe(false);
    writeFileSync(override, `${bundled}\n// my routes v2\n`);
    expect((await run({ templates })).planned).toBe(true);
    expect(read('src/generated/routes.gen.ts')).toContain('// my routes v2');
    // Back to the bundled templates: an option changed, so it plans again.
    rmSync(templates, { recursive: true });
    const bundledRun = await run();
    expect(bundledRun.planned).toBe(true);
    expect(read('src/generated/routes.gen.ts')).not.toContain('// my routes');
  });

  it('a generated file edited by hand is still refused, and --force restores it', async () => {
    const generated = 'src/generated/schemas.gen.ts';
    const original = read(generated);
    writeFileSync(file(generated), original + '\n// edited\n');
    await expect(run()).rejects.toMatchObject({ code: 'GENERATED_FILE_EDITED' });
    expect(read(generated)).toContain('// edited');
    const forced = await run({ force: true });
    expect(forced.planned).toBe(true);
    expect(read(generated)).toBe(original);
  });

  it('a deleted user file is planned again and recreated', async () => {
    const handler = read('src/handlers/pets.ts');
    rmSync(file('src/handlers/pets.ts'));
    const again = await run();
    expect(again.planned).toBe(true);
    expect(again.report.created).toEqual(['src/handlers/pets.ts']);
    expect(read('src/handlers/pets.ts')).toBe(handler);
  });

  it('--check reuses the last write too, and writes no cache of its own', async () => {
    const cache = read('.backdev/cache/create-api.json');
    const check = await run({ check: true });
    expect(check.planned).toBe(false);
    expect(check.exitCode).toBe(0);
    rmSync(file('.backdev/cache/create-api.json'));
    const planning = await run({ check: true });
    expect(planning.planned).toBe(true);
    expect(planning.exitCode).toBe(0);
    expect(() => read('.backdev/cache/create-api.json')).toThrow();
    expect((await run()).planned).toBe(true);
    expect(read('.backdev/cache/create-api.json')).toBe(cache);
  });
});
