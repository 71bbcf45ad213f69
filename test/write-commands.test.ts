/**
 * Every writing command behaves the same (core/generator/run.ts): `--dry-run` writes nothing and shows the
 * diff, `--check` exits 1 when anything would change and 0 when nothing would, `--json` prints one report
 * that parses. One table, run through the command line in this process.
 */
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryOutput } from '../generators/core/report.js';
import { runInit } from '../generators/index.js';
import { backdevInProcess, cleanup, snapshotTree, SPECS, tempDir } from './helpers.js';

let base: string;
/** A project from the example spec, with a marked model not designed yet and auth.yaml's security. */
let project: string;

/** Every path below is absolute, so the working folder does not matter. */
const cli = (argv: string[]) => backdevInProcess(argv);

beforeAll(async () => {
  base = tempDir('write-commands');
  project = path.join(base, 'project');
  await runInit({ dir: project, spec: path.join(SPECS, 'auth.yaml') }, memoryOutput());
  // A model marked for a table: design-database has work to do.
  const spec = readFileSync(path.join(project, 'openapi.yaml'), 'utf8');
  const marked = spec.replace('  schemas:\n', '  schemas:\n    Shelf:\n      type: object\n      x-backdev-table: true\n      required: [label]\n      properties:\n        label: { type: string }\n');
  expect(marked).not.toBe(spec);
  writeFileSync(path.join(project, 'openapi.yaml'), marked);
}, 120_000);
afterAll(() => cleanup(base));

/** [command, its arguments for a project folder]: each one has something to write in the project above. */
const COMMANDS: Array<[string, (dir: string) => string[]]> = [
  ['init', (dir) => ['init', path.join(dir, 'fresh')]],
  ['create-api', (dir) => ['create-api', '--out', dir, '--endpoint', 'labels', '--fields', 'text:string']],
  ['design-database', (dir) => ['design-database', '--out', dir]],
  ['add-auth', (dir) => ['add-auth', '--out', dir]],
  ['add-realtime', (dir) => ['add-realtime', '--out', dir]],
  ['add-health', (dir) => ['add-health', '--out', dir, '--upstream', 'users=http://127.0.0.1:9']],
];

describe.each(COMMANDS)('%s', (name, args) => {
  /** A copy of the project per command, so that each starts from the same tree. */
  let dir: string;
  beforeAll(() => {
    dir = path.join(base, `copy-${name}`);
    cpSync(project, dir, { recursive: true });
  });

  it('--dry-run writes nothing and prints the diff', async () => {
    const before = snapshotTree(dir);
    const r = await cli([...args(dir), '--dry-run']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\+\+\+ /m);
    expect(r.stdout).toContain(`${name}`);
    expect(snapshotTree(dir)).toEqual(before);
  });

  it('--dry-run --json: one JSON report with the diff, nothing written', async () => {
    const before = snapshotTree(dir);
    const r = await cli([...args(dir), '--dry-run', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as Record<string, any>;
    expect(report).toMatchObject({ generator: name, mode: 'dry-run', changed: true, exitCode: 0 });
    expect(report.files.created.length).toBeGreaterThan(0);
    expect(report.diff).toMatch(/^\+\+\+ /m);
    expect(snapshotTree(dir)).toEqual(before);
  });

  it('--check exits 1 when something would change, writing nothing; --json says the same', async () => {
    const before = snapshotTree(dir);
    const r = await cli([...args(dir), '--check']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${name} --check:`);
    const json = await cli([...args(dir), '--check', '--json']);
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout) as Record<string, any>;
    expect(report).toMatchObject({ generator: name, mode: 'check', changed: true, exitCode: 1 });
    expect(report.checkFailures.length).toBeGreaterThan(0);
    expect(snapshotTree(dir)).toEqual(before);
  });

  it('writes with --json (the report lists the files), then --check exits 0', async () => {
    const r = await cli([...args(dir), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as Record<string, any>;
    expect(report).toMatchObject({ generator: name, mode: 'write', changed: true, exitCode: 0 });
    for (const file of report.files.created as string[]) expect(snapshotTree(name === 'init' ? path.join(dir, 'fresh') : dir)).toHaveProperty([file]);
    const again = await cli([...args(dir), ...(name === 'init' ? ['--force'] : []), '--check']);
    expect(again.code, again.stdout + again.stderr).toBe(0);
  });
});

it('an error under --json: the located message on stderr, exit 1, and a JSON error on stdout', async () => {
  const dir = path.join(base, 'bad');
  mkdirSync(dir);
  const r = await cli(['create-api', '--out', dir, '--spec', path.join(SPECS, 'bad', 'dangling-ref.yaml'), '--json']);
  expect(r.code).toBe(1);
  const report = JSON.parse(r.stdout) as { exitCode: number; error: { code: string; location: { file: string; line: number } } };
  expect(report.exitCode).toBe(1);
  expect(report.error.code).toMatch(/^BACKDEV_/);
  expect(report.error.location.file).toMatch(/dangling-ref\.yaml$/);
  expect(report.error.location.line).toBeGreaterThan(0);
  expect(r.stderr).toMatch(/^backdev: .*dangling-ref\.yaml/m);
  expect(r.stderr).toContain('BACKDEV_');
});
