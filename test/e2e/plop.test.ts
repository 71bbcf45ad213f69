/** The interactive front: `plop <generator>` runs the same code as the CLI (answers given as plop bypass arguments). */
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { cleanup, linkBackdev, REPO, runCommand, tempDir } from '../helpers.js';

const parent = tempDir('plop');
afterAll(() => cleanup(parent));

/** plop with backdev's compiled plopfile (dist/, built by the tests' setup), as the installed package runs it. */
const plop = (args: string[], cwd: string) =>
  runCommand(process.execPath, [path.join(REPO, 'node_modules/plop/bin/plop.js'), '--plopfile', path.join(REPO, 'dist/plopfile.js'), ...args], {
    cwd,
    env: { FORCE_COLOR: '0' },
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

it('plop design-database and add-auth ask for the project folder and run against it', async () => {
  const dir = path.join(parent, 'shop');
  // From outside the project: the folder answered is the one changed.
  const design = await plop(['design-database', 'shop', 'Product', 'false'], parent);
  expect(design.code, design.stdout + design.stderr).toBe(0);
  expect(design.stdout).toContain('the models match the last design');
  const auth = await plop(['add-auth', 'shop', 'true'], parent);
  expect(auth.code, auth.stdout + auth.stderr).toBe(0);
  expect(readdirSync(path.join(dir, 'db/migrations')).some((f) => f.endsWith('_auth_users.ts'))).toBe(true);
  expect(existsSync(path.join(parent, 'db'))).toBe(false);
  // Outside a project, a folder must be given; inside one, it is the default.
  const none = await plop(['add-auth', '', 'true'], parent);
  expect(none.code).not.toBe(0);
  expect(none.stdout + none.stderr).toContain('a project folder is required');
  const here = await plop(['design-database', '', 'Product', 'false'], dir);
  expect(here.code, here.stdout + here.stderr).toBe(0);
  expect(here.stdout).toContain('the models match the last design');
}, 240_000);

it("a generated project's `npm run plop` runs backdev's generators against the project", async () => {
  const dir = path.join(parent, 'shop');
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  expect(pkg.scripts.plop).toBe('backdev plop');
  // As an install leaves it: backdev in node_modules, its command in node_modules/.bin.
  linkBackdev(dir);
  mkdirSync(path.join(dir, 'node_modules/.bin'), { recursive: true });
  symlinkSync(path.join(REPO, 'bin/backdev.js'), path.join(dir, 'node_modules/.bin/backdev'));
  const npm = (args: string[]) => runCommand('npm', ['run', '--silent', 'plop', '--', ...args], { cwd: dir, env: { FORCE_COLOR: '0' } });
  const help = await npm(['--help']);
  expect(help.code, help.stdout + help.stderr).toBe(0);
  expect(help.stdout).toContain('plop <name>');
  const design = await npm(['design-database', '.', 'Product', 'false']);
  expect(design.code, design.stdout + design.stderr).toBe(0);
  expect(design.stdout).toContain('the models match the last design');
}, 240_000);

it('a plop run that fails reports the located error', async () => {
  const r = await plop(['init', 'broken', path.join(REPO, 'test/fixtures/specs/bad/dangling-ref.yaml')], parent);
  expect(r.stdout + r.stderr).toMatch(/dangling-ref\.yaml:15:17/);
  expect(existsSync(path.join(parent, 'broken'))).toBe(false);
});
