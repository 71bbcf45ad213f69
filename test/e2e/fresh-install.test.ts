/**
 * Packages that fit together: `backdev init --backdev <this checkout>` + two `--endpoint` resources
 * (reviews refer to products) + `npm install` with no lockfile, outside this repository. backdev is
 * installed as a copy (the project's .npmrc), so kysely and fastify — its peer dependencies — resolve to
 * the project's one copy each; the project type-checks and its own tests pass, including the reviews' database tests, which must first
 * create the product a review refers to.
 */
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { backdev, cleanup, runCommand } from '../helpers.js';

const parent = mkdtempSync(path.join(os.tmpdir(), 'backdev-fresh-'));
const dir = path.join(parent, 'shop');
afterAll(() => cleanup(parent));

beforeAll(async () => {
  const init = await backdev(['init', dir]);
  expect(init.code, init.stderr).toBe(0);
  for (const [endpoint, fields] of [
    ['products', 'name:string:unique price:number stock:integer? category:enum(a|b) released:date?'],
    ['reviews', 'product:ref(Product) rating:integer body:text?'],
  ]) {
    const add = await backdev(['create-api', '--endpoint', endpoint!, '--fields', fields!], dir);
    expect(add.code, add.stderr).toBe(0);
  }
  expect(readdirSync(dir)).not.toContain('package-lock.json');
  const install = await runCommand('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: dir, timeout: 400_000 });
  expect(install.code, install.stderr).toBe(0);
  installOutput = install.stdout + install.stderr;
}, 600_000);

let installOutput = '';

it('installs on this Node without engine warnings (backdev promises Node ≥ 20.19)', () => {
  expect(installOutput).not.toMatch(/EBADENGINE/);
});

it('runs backdev\'s interactive generators from the project: npm run plop', async () => {
  // design-database through plop, from the installed copy of backdev: its answers given on the line.
  const plop = await runCommand('npm', ['run', '--silent', 'plop', '--', 'design-database', '.', 'Product', 'false'], {
    cwd: dir,
    timeout: 120_000,
    env: { NO_COLOR: '1', FORCE_COLOR: '0' },
  });
  expect(plop.code, plop.stdout + plop.stderr).toBe(0);
  expect(plop.stdout).toContain('the models match the last design');
}, 180_000);

/** The folder Node's lookup finds package `name` in, from `file`. */
function packageDir(file: string, name: string): string | undefined {
  for (const modules of createRequire(file).resolve.paths(name) ?? []) {
    const candidate = path.join(modules, name);
    if (existsSync(path.join(candidate, 'package.json'))) return realpathSync(candidate);
  }
  return undefined;
}

/** Every `<name>/package.json` of a package called `name` under node_modules, nested ones included. */
function copiesOf(name: string): string[] {
  const found: string[] = [];
  const walk = (modules: string) => {
    let entries: string[];
    try {
      entries = readdirSync(modules);
    } catch {
      return;
    }
    for (const e of entries) {
      const full = path.join(modules, e);
      if (e.startsWith('@')) {
        walk(full);
        continue;
      }
      if (e === name) found.push(path.relative(dir, full));
      walk(path.join(full, 'node_modules'));
    }
  };
  walk(path.join(dir, 'node_modules'));
  return found;
}

it('installs backdev as a copy whose peer dependencies are the project’s: one kysely, one fastify', () => {
  expect(readFileSync(path.join(dir, '.npmrc'), 'utf8')).toMatch(/^install-links=true$/m);
  expect(lstatSync(path.join(dir, 'node_modules/backdev')).isSymbolicLink()).toBe(false);
  expect(copiesOf('kysely')).toEqual(['node_modules/kysely']);
  expect(copiesOf('fastify')).toEqual(['node_modules/fastify']);
  // What backdev's runtime (compiled, in dist/) imports is what the project imports.
  const fromBackdev = path.join(dir, 'node_modules/backdev/dist/runtime/db/index.js');
  expect(existsSync(fromBackdev)).toBe(true);
  const fromProject = path.join(dir, 'src/app.ts');
  for (const name of ['kysely', 'fastify', 'pg', '@electric-sql/pglite']) {
    expect(packageDir(fromBackdev, name), name).toBe(packageDir(fromProject, name));
  }
});

it('npm ls finds one kysely and one fastify, deduplicated with backdev\'s peer dependencies', async () => {
  const ls = await runCommand('npm', ['ls', 'kysely', 'fastify', '--all', '--parseable'], { cwd: dir });
  expect(ls.code, ls.stdout + ls.stderr).toBe(0);
  const copies = [...new Set(ls.stdout.split('\n').filter(Boolean))].map((p) => path.relative(dir, p)).sort();
  expect(copies).toEqual(['node_modules/fastify', 'node_modules/kysely']);
});

it('type-checks and passes its own tests, the reviews’ database tests included', async () => {
  const tsc = await runCommand(process.execPath, [path.join(dir, 'node_modules/typescript/bin/tsc'), '--noEmit'], { cwd: dir });
  expect(tsc.stdout + tsc.stderr).toBe('');
  const tests = await runCommand('npm', ['test'], { cwd: dir, timeout: 400_000, env: { NO_COLOR: '1', FORCE_COLOR: '0', DATABASE_URL: '' } });
  expect(tests.code, tests.stdout + tests.stderr).toBe(0);
  expect(tests.stdout).toMatch(/reviews\.db\.test\.ts \(\d+ tests?\)/);
  expect(tests.stdout).toMatch(/products\.db\.test\.ts \(\d+ tests?\)/);
}, 600_000);
