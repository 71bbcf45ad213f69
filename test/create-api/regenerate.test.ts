/**
 * Regeneration keeps the user's code: the acceptance scenarios of create-api's writing rules, run against a
 * project made by `init` (type-checked with TypeScript 7 where the scenario changes code).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackdevError } from '../../generators/core/errors.js';
import { memoryOutput } from '../../generators/core/report.js';
import { runCreateApi, runInit } from '../../generators/index.js';
import { backdevInProcess, cleanup, linkBackdev, snapshotTree, SPECS, tempDir, typecheck } from '../helpers.js';

let dir: string;
const file = (p: string) => path.join(dir, p);
const read = (p: string) => readFileSync(file(p), 'utf8');
const regenerate = (extra: Parameters<typeof runCreateApi>[0] = {}) => {
  const out = memoryOutput();
  return runCreateApi({ cwd: dir, ...extra }, out).then((r) => ({ ...r, out }));
};

beforeAll(async () => {
  dir = tempDir('regen');
  await runInit({ dir, force: true }, memoryOutput());
  // The generated code imports backdev/runtime/http, as an installed project resolves it.
  linkBackdev(dir);
});
afterAll(() => cleanup(dir));

describe('regeneration', () => {
  it('a second run with no change reports 0 files changed and leaves every file byte-identical', async () => {
    // The run cache (.backdev/cache/) is not output: the first create-api run after init records itself there.
    const withoutCache = (tree: Record<string, string>) => Object.fromEntries(Object.entries(tree).filter(([p]) => !p.startsWith('.backdev/cache/')));
    const before = snapshotTree(dir);
    const { report, out } = await regenerate();
    expect(report.created.length + report.updated.length + report.removed.length).toBe(0);
    expect(out.stdout[0]).toMatch(/^create-api: 0 files changed/);
    expect(withoutCache(snapshotTree(dir))).toEqual(withoutCache(before));
  });

  it('--check passes when up to date', async () => {
    expect((await backdevInProcess(['create-api', '--check'], dir)).code).toBe(0);
  });

  it('keeps a line added to a handler file when a new operation is added, and appends its stub', async () => {
    const handlerBefore = read('src/handlers/pets.ts').replace(
      "return notImplemented('listPets');",
      "// my own line, kept across regenerations\n  return notImplemented('listPets');",
    );
    writeFileSync(file('src/handlers/pets.ts'), handlerBefore);
    const testBefore = read('test/pets.test.ts');
    const spec = read('openapi.yaml').replace(
      '\n  /owners/{ownerId}/pets:',
      `\n  /pets/{petId}/photos:\n    get:\n      operationId: listPetPhotos\n      summary: Photos of a pet\n      tags: [pets]\n      parameters:\n        - name: petId\n          in: path\n          required: true\n          schema:\n            type: integer\n      responses:\n        '200':\n          description: Photo URLs\n          content:\n            application/json:\n              schema:\n                type: array\n                items:\n                  type: string\n                  format: uri\n  /owners/{ownerId}/pets:`,
    );
    writeFileSync(file('openapi.yaml'), spec);

    // --check sees the drift and writes nothing.
    const snapshot = snapshotTree(dir);
    const check = await backdevInProcess(['create-api', '--check'], dir);
    expect(check.code).toBe(1);
    expect(check.stderr).toContain('out of date');
    expect(snapshotTree(dir)).toEqual(snapshot);

    const { report } = await regenerate();
    expect(report.updated).toContain('src/handlers/pets.ts');
    const handlerAfter = read('src/handlers/pets.ts');
    expect(handlerAfter.startsWith(handlerBefore)).toBe(true);
    expect(handlerAfter).toContain('// my own line, kept across regenerations');
    expect(handlerAfter).toMatch(/export const listPetPhotos: Handlers\['listPetPhotos'\]/);
    expect(read('test/pets.test.ts').startsWith(testBefore)).toBe(true);
    expect(read('test/pets.test.ts')).toContain("describe('listPetPhotos'");
    expect(read('src/generated/routes.gen.ts')).toContain("url: '/pets/:petId/photos'");
    expect(await typecheck(dir)).toBe('');
  });

  it('stops on a hand-edited .gen.ts, names it, and leaves it as edited', async () => {
    const edited = read('src/generated/routes.gen.ts') + '\n// hand edit\n';
    writeFileSync(file('src/generated/routes.gen.ts'), edited);
    const before = snapshotTree(dir);
    const r = await backdevInProcess(['create-api'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('src/generated/routes.gen.ts');
    expect(r.stderr).toContain('BACKDEV_GENERATED_FILE_EDITED');
    expect(read('src/generated/routes.gen.ts')).toBe(edited);
    expect(snapshotTree(dir)).toEqual(before);
    // --force puts it back.
    await regenerate({ force: true });
    expect(read('src/generated/routes.gen.ts')).not.toContain('// hand edit');
  });

  it('removing an operation removes its generated code and leaves the stub with a warning', async () => {
    const spec = read('openapi.yaml');
    const start = spec.indexOf('    delete:\n      operationId: deletePet');
    const end = spec.indexOf('  /pets/{petId}/photos:');
    expect(start).toBeGreaterThan(0);
    writeFileSync(file('openapi.yaml'), spec.slice(0, start) + spec.slice(end));
    const handler = read('src/handlers/pets.ts');
    const { report } = await regenerate();
    expect(read('src/handlers/pets.ts')).toBe(handler);
    for (const gen of ['routes', 'handlers', 'schemas', 'testing']) expect(read(`src/generated/${gen}.gen.ts`)).not.toContain('deletePet');
    expect(report.warnings).toContainEqual(expect.objectContaining({ code: 'HANDLER_WITHOUT_OPERATION', subject: 'src/handlers/pets.ts' }));
    expect(report.warnings.find((w) => w.code === 'HANDLER_WITHOUT_OPERATION')?.message).toContain('deletePet');
    expect(report.warnings).toContainEqual(expect.objectContaining({ code: 'TEST_WITHOUT_OPERATION', subject: 'test/pets.test.ts' }));
    // The orphaned stub and test no longer type-check, which points at them; deleting them makes the project clean.
    const errors = (await typecheck(dir)).trim().split('\n');
    expect(errors.length).toBeGreaterThan(0);
    for (const line of errors) expect(line).toMatch(/^(src\/handlers\/pets\.ts|test\/pets\.test\.ts)\(\d+,\d+\): error TS/);
    const stub = handler.indexOf('/** DELETE /pets/{petId} */');
    writeFileSync(file('src/handlers/pets.ts'), handler.slice(0, stub) + handler.slice(handler.indexOf('};', stub) + 3));
    const tests = read('test/pets.test.ts');
    const suite = tests.indexOf("describe('deletePet'");
    writeFileSync(file('test/pets.test.ts'), tests.slice(0, suite) + tests.slice(tests.indexOf('\n});\n', suite) + 5));
    expect(await typecheck(dir)).toBe('');
  });

  it('bad input exits 1 with a located message and leaves the project unchanged', async () => {
    const before = snapshotTree(dir);
    for (const bad of ['bad/syntax.yaml', 'bad/dangling-ref.yaml', 'bad/not-openapi.yaml']) {
      const r = await backdevInProcess(['create-api', '--spec', path.join(SPECS, bad)], dir);
      expect(r.code, bad).toBe(1);
      expect(r.stderr, bad).toMatch(new RegExp(`${bad.replace('/', '\\/').replace('.', '\\.')}:\\d+:\\d+`));
      expect(r.stderr, bad).not.toMatch(/\n\s+at /); // no stack trace for user mistakes
      expect(snapshotTree(dir), bad).toEqual(before);
    }
  });

  it('--dry-run prints the diff and writes nothing', async () => {
    writeFileSync(file('openapi.yaml'), read('openapi.yaml').replace('title: Petstore', 'title: Pet Shop'));
    const before = snapshotTree(dir);
    const r = await backdevInProcess(['create-api', '--dry-run'], dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--- a/src/generated/routes.gen.ts');
    expect(r.stdout).toMatch(/^\+\/\/ Generated by backdev from "Pet Shop"/m);
    expect(r.stdout).toMatch(/create-api: \d+ files would change/);
    expect(snapshotTree(dir)).toEqual(before);
  });

  it('a user-owned file whose tag disappeared is left in place with a warning', async () => {
    const spec = read('openapi.yaml');
    const start = spec.indexOf('  /owners/{ownerId}/pets:');
    const end = spec.indexOf('  /health:');
    writeFileSync(file('openapi.yaml'), spec.slice(0, start) + spec.slice(end));
    const owners = read('src/handlers/owners.ts');
    const { report } = await regenerate();
    expect(read('src/handlers/owners.ts')).toBe(owners);
    expect(report.warnings).toContainEqual(expect.objectContaining({ code: 'STALE_USER_FILE', subject: 'src/handlers/owners.ts' }));
    expect(read('src/generated/routes.gen.ts')).not.toContain('owners');
  });

  it('throws BackdevError, not a crash, when the spec is missing', async () => {
    await expect(runCreateApi({ cwd: dir, spec: 'nope.yaml' }, memoryOutput())).rejects.toBeInstanceOf(BackdevError);
  });
});
