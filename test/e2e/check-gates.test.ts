/**
 * The generators agree with each other: in a project from `backdev init`, create-api, design-database and
 * add-auth (JWT, or --accounts) run in several orders; after each sequence every `--check` passes, running
 * the same sequence again changes no byte of `.backdev/manifest.json`, and a file several generators write
 * into (src/app.ts) keeps the generator that created it. A failing --check says what is out of date.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../generators/cli.js';
import { memoryOutput } from '../../generators/core/report.js';
import { cleanup, tempDir } from '../helpers.js';

process.env.DATABASE_URL = '';

let parent: string;
let template: string;

/** `backdev <args>` in `cwd`, in this process (the CLI's own exit codes and messages). */
async function run(cwd: string, args: string[]): Promise<{ code: number; out: string }> {
  const output = memoryOutput();
  const before = process.cwd();
  process.chdir(cwd);
  try {
    const code = await main(args, output);
    return { code, out: [...output.stdout, ...output.stderr].join('\n') };
  } finally {
    process.chdir(before);
  }
}

const CHECKS = [['create-api', '--check'], ['design-database', '--check'], ['add-auth', '--check']];

async function expectChecksPass(dir: string): Promise<void> {
  for (const check of CHECKS) {
    const r = await run(dir, check);
    expect({ check: check.join(' '), code: r.code, out: r.code === 0 ? '' : r.out }).toEqual({ check: check.join(' '), code: 0, out: '' });
  }
}

const manifest = (dir: string) => readFileSync(path.join(dir, '.backdev/manifest.json'), 'utf8');

beforeAll(async () => {
  parent = tempDir('check-gates');
  template = path.join(parent, 'template');
  const init = await run(parent, ['init', 'template']);
  expect(init.code, init.out).toBe(0);
  // A bearer scheme for every operation, so that plain add-auth has something to enforce.
  const specFile = path.join(template, 'openapi.yaml');
  const spec = readFileSync(specFile, 'utf8');
  expect(spec).toContain('\ncomponents:\n');
  writeFileSync(
    specFile,
    spec.replace('\ncomponents:\n', '\nsecurity:\n  - bearerAuth: []\ncomponents:\n  securitySchemes:\n    bearerAuth:\n      type: http\n      scheme: bearer\n      bearerFormat: JWT\n'),
  );
}, 240_000);

afterAll(() => cleanup(parent));

const SEQUENCES: Record<string, string[][]> = {
  'create-api, design-database --all, add-auth': [['create-api'], ['design-database', '--all'], ['add-auth']],
  'add-auth, design-database --all, create-api': [['add-auth'], ['design-database', '--all'], ['create-api']],
  'design-database --model Pet, add-auth, create-api': [['design-database', '--model', 'Pet'], ['add-auth'], ['create-api']],
  'create-api, add-auth --accounts, design-database --model Pet, add-auth': [
    ['create-api'],
    ['add-auth', '--accounts'],
    ['design-database', '--model', 'Pet'],
    ['add-auth'],
  ],
};

describe('every --check passes after every generator ran, in any order', () => {
  for (const [name, steps] of Object.entries(SEQUENCES)) {
    it(name, async () => {
      const dir = path.join(parent, name.replace(/[^a-z]+/gi, '-'));
      cpSync(template, dir, { recursive: true });
      const initialApp = JSON.parse(manifest(dir)).files['src/app.ts'];
      expect(initialApp.generator).toBe('init');
      for (const step of steps) {
        const r = await run(dir, step);
        expect(r.code, `${step.join(' ')}\n${r.out}`).toBe(0);
      }
      await expectChecksPass(dir);
      const first = manifest(dir);
      // src/app.ts stays init's: the generators merging into it are listed with it, none takes it over.
      const app = JSON.parse(first).files['src/app.ts'];
      expect(app.generator).toBe('init');
      expect(app.sharedWith).toEqual(expect.arrayContaining(['add-auth', 'design-database']));

      for (const step of steps) {
        const r = await run(dir, step);
        expect(r.code, `${step.join(' ')}\n${r.out}`).toBe(0);
      }
      expect(manifest(dir)).toBe(first);
      await expectChecksPass(dir);
      expect(manifest(dir)).toBe(first);
    }, 240_000);
  }
});

it('a failing --check names what is out of date, even when only the manifest is', async () => {
  const dir = path.join(parent, 'stale-record');
  cpSync(template, dir, { recursive: true });
  expect((await run(dir, ['design-database', '--all'])).code).toBe(0);
  expect((await run(dir, ['add-auth'])).code).toBe(0);
  // A manifest that does not record design-database and add-auth as writers of src/app.ts (no file differs).
  const file = path.join(dir, '.backdev/manifest.json');
  const data = JSON.parse(readFileSync(file, 'utf8'));
  data.files['src/app.ts'] = { generator: 'init', ownership: 'scaffold' };
  writeFileSync(file, JSON.stringify(data, null, 2) + '\n');
  for (const check of [['design-database', '--check'], ['add-auth', '--check']]) {
    const r = await run(dir, check);
    expect(r.code, check.join(' ')).toBe(1);
    expect(r.out).toMatch(/records\s+\.backdev\/manifest\.json is out of date for src\/app\.ts/);
    expect(r.out).toContain(`${check[0]} --check:`);
  }
}, 240_000);
