/** The interactive front: `plop <generator>` runs the same code as the CLI (answers given as plop bypass arguments). */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { cleanup, REPO, runCommand, tempDir } from '../helpers.js';

const parent = tempDir('plop');
afterAll(() => cleanup(parent));

const plop = (args: string[], cwd: string) =>
  runCommand(process.execPath, [path.join(REPO, 'node_modules/plop/bin/plop.js'), '--plopfile', path.join(REPO, 'plopfile.ts'), ...args], {
    cwd,
    env: { NODE_OPTIONS: '--import tsx', FORCE_COLOR: '0' },
  });

it('plop init and plop create-api --endpoint produce what the CLI does', async () => {
  const r = await plop(['init', 'shop', ''], parent);
  expect(r.code, r.stdout + r.stderr).toBe(0);
  const dir = path.join(parent, 'shop');
  expect(existsSync(path.join(dir, 'src/generated/routes.gen.ts'))).toBe(true);
  const add = await plop(['create-api', '', '', 'products', 'name:string:unique price:number', 'false'], dir);
  expect(add.code, add.stdout + add.stderr).toBe(0);
  expect(add.stdout).toContain('added Product');
  expect(readFileSync(path.join(dir, 'src/handlers/products.ts'), 'utf8')).toContain("export const createProduct: Handlers['createProduct']");
});

it('a plop run that fails reports the located error', async () => {
  const r = await plop(['init', 'broken', path.join(REPO, 'test/fixtures/specs/bad/dangling-ref.yaml')], parent);
  expect(r.stdout + r.stderr).toMatch(/dangling-ref\.yaml:15:17/);
  expect(existsSync(path.join(parent, 'broken'))).toBe(false);
});
