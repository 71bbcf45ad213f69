/**
 * backdev as users get it: `npm pack` of this checkout (which builds dist/ first), the tarball installed
 * into an empty folder under the system's temporary folder (no link back to the checkout), then
 * `npx backdev init` → two `create-api --endpoint` resources (reviews refer to products) → `add-auth
 * --accounts` → the project's `npm install` with no lockfile (no engine warnings; kysely and fastify, the
 * runtime's peer dependencies, resolve to the project's one copy each), `npm run plop`, `tsc`, the
 * project's tests (the reviews' database tests must first create the product a review refers to), and
 * `npm run build && npm start`, which serves over HTTP from compiled JavaScript with no tsx in any process
 * of the server. The steps run in order; each needs the ones before it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { cleanup, REPO, runCommand, type CommandResult } from '../helpers.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'backdev-pack-'));
const tool = path.join(root, 'tool');
const project = path.join(root, 'my-api');
const NPM_FLAGS = ['--prefer-offline', '--no-audit', '--no-fund'];
const ENV = { NO_COLOR: '1', FORCE_COLOR: '0', DATABASE_URL: '' };
let tarball = '';
let server: ChildProcess | undefined;

afterAll(async () => {
  if (server?.pid && server.exitCode === null) {
    const exited = new Promise((r) => server!.once('exit', r));
    process.kill(-server.pid, 'SIGTERM');
    await exited;
  }
  cleanup(root);
});

const ok = (r: CommandResult, what: string) => expect(r.code, `${what}:\n${r.stdout}\n${r.stderr}`).toBe(0);
/** `npx backdev …` from the folder the package is installed in. */
const npxBackdev = (args: string[]) => runCommand('npx', ['--no', 'backdev', ...args], { cwd: tool, env: ENV, timeout: 120_000 });

it('npm pack builds dist/ and packs the compiled code, templates, bin, docs and README, no TypeScript sources', async () => {
  const pack = await runCommand('npm', ['pack', '--json', '--pack-destination', root], { cwd: REPO, timeout: 180_000 });
  ok(pack, 'npm pack');
  const [info] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
  tarball = path.join(root, info!.filename);
  expect(existsSync(tarball)).toBe(true);
  const files = info!.files.map((f) => f.path);
  for (const f of ['bin/backdev.js', 'README.md', 'package.json', 'dist/generators/cli.js', 'dist/plopfile.js', 'templates/init/Dockerfile.hbs', 'docs/realtime-protocol.md', 'docs/errors.md']) {
    expect(files, f).toContain(f);
  }
  for (const sub of ['db', 'auth', 'http', 'server', 'broadcast']) {
    expect(files).toContain(`dist/runtime/${sub}/index.js`);
    expect(files).toContain(`dist/runtime/${sub}/index.d.ts`);
  }
  expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
  // The checkout's package.json keeps its `prepare` (postpack put it back); only the package leaves it out.
  expect((JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.prepare).toBeTruthy();
  expect(existsSync(path.join(REPO, '.tmp/package.json.before-pack'))).toBe(false);
}, 200_000);

it('installs into an empty folder outside the checkout, as a real copy', async () => {
  mkdirSync(tool);
  writeFileSync(path.join(tool, 'package.json'), JSON.stringify({ name: 'tool', version: '0.0.0', private: true }));
  const install = await runCommand('npm', ['install', tarball, ...NPM_FLAGS], { cwd: tool, timeout: 400_000 });
  ok(install, 'npm install <tarball>');
  // backdev's own overrides do not apply where it is a dependency: what it pulls in must suit this Node as is.
  expect(install.stdout + install.stderr).not.toContain('EBADENGINE');
  // No script of backdev's for npm to ask approval of: the clone's `prepare` is left out of the package.
  expect(install.stdout + install.stderr).not.toMatch(/install-scripts[^\n]*backdev@/);
  const installed = path.join(tool, 'node_modules/backdev');
  expect(Object.keys((JSON.parse(readFileSync(path.join(installed, 'package.json'), 'utf8')) as { scripts: object }).scripts)).not.toContain('prepare');
  expect(lstatSync(installed).isSymbolicLink()).toBe(false);
  expect(existsSync(path.join(installed, 'generators'))).toBe(false);
  expect(readdirSync(installed).sort()).toEqual(['README.md', 'bin', 'dist', 'docs', 'package.json', 'templates']);
}, 420_000);

it("npx backdev --version is backdev's own, not that of the folder's package.json", async () => {
  // (npx would take --version as its own option.)
  const version = await runCommand(path.join(tool, 'node_modules', '.bin', 'backdev'), ['--version'], { cwd: tool, env: ENV, timeout: 60_000 });
  ok(version, 'backdev --version');
  expect(version.stdout.trim()).toBe((JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version);
});

it('npx backdev: init (depending on the tarball), create-api --endpoint, add-auth --accounts', async () => {
  ok(await npxBackdev(['init', '../my-api', '--backdev', tarball]), 'init');
  const pkg = JSON.parse(readFileSync(path.join(project, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; scripts: Record<string, string> };
  expect(pkg.dependencies.backdev).toBe(`file:../${path.basename(tarball)}`);
  expect(pkg.scripts.start).toBe('node dist/src/server.js --migrate');
  for (const [endpoint, fields] of [
    ['products', 'name:string:unique price:number stock:integer? category:enum(a|b) released:date?'],
    ['reviews', 'product:ref(Product) rating:integer body:text?'],
  ] as const) {
    ok(await npxBackdev(['create-api', '--out', '../my-api', '--endpoint', endpoint, '--fields', fields]), `create-api --endpoint ${endpoint}`);
  }
  ok(await npxBackdev(['add-auth', '--out', '../my-api', '--accounts']), 'add-auth');
  expect(readdirSync(path.join(project, 'db/migrations')).length).toBeGreaterThanOrEqual(2);
}, 400_000);

/** The folder Node's lookup finds package `name` in, from `file`. */
function packageDir(file: string, name: string): string | undefined {
  for (const modules of createRequire(file).resolve.paths(name) ?? []) {
    const candidate = path.join(modules, name);
    if (existsSync(path.join(candidate, 'package.json'))) return realpathSync(candidate);
  }
  return undefined;
}

/** Every `<name>/package.json` of a package called `name` under the project's node_modules, nested ones included. */
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
      if (e === name) found.push(path.relative(project, full));
      walk(path.join(full, 'node_modules'));
    }
  };
  walk(path.join(project, 'node_modules'));
  return found;
}

it('the project installs with no lockfile, no engine warnings and one copy of each library it shares with the runtime', async () => {
  expect(readdirSync(project)).not.toContain('package-lock.json');
  const install = await runCommand('npm', ['install', ...NPM_FLAGS], { cwd: project, timeout: 400_000 });
  ok(install, 'npm install');
  // backdev promises Node ≥ 20.19: nothing the project pulls in may ask for more.
  expect(install.stdout + install.stderr).not.toMatch(/EBADENGINE/);
  expect(install.stdout + install.stderr).not.toMatch(/install-scripts[^\n]*backdev@/);
  // Nor asks to review an install script: the project's manifest says which it does not need (esbuild's).
  expect(install.stdout + install.stderr).not.toMatch(/install-scripts/);
  const ls = await runCommand('npm', ['ls', 'kysely', 'fastify', '--all', '--parseable'], { cwd: project });
  ok(ls, 'npm ls');
  const copies = [...new Set(ls.stdout.split('\n').filter(Boolean))].map((p) => path.relative(project, p)).sort();
  expect(copies).toEqual(['node_modules/fastify', 'node_modules/kysely']);
  expect(lstatSync(path.join(project, 'node_modules/backdev')).isSymbolicLink()).toBe(false);
  expect(copiesOf('kysely')).toEqual(['node_modules/kysely']);
  expect(copiesOf('fastify')).toEqual(['node_modules/fastify']);
  // What backdev's runtime (compiled, in dist/) imports is what the project imports.
  const fromBackdev = path.join(project, 'node_modules/backdev/dist/runtime/db/index.js');
  expect(existsSync(fromBackdev)).toBe(true);
  for (const name of ['kysely', 'fastify', 'pg', '@electric-sql/pglite']) {
    expect(packageDir(fromBackdev, name), name).toBe(packageDir(path.join(project, 'src/app.ts'), name));
  }
}, 420_000);

it("runs backdev's interactive generators from the project: npm run plop", async () => {
  // design-database through plop, from the installed copy of backdev: its answers given on the line.
  const plop = await runCommand('npm', ['run', '--silent', 'plop', '--', 'design-database', '.', 'Product', 'false'], { cwd: project, env: ENV, timeout: 120_000 });
  ok(plop, 'npm run plop');
  expect(plop.stdout).toContain('the models match the last design');
}, 180_000);

it('type-checks and passes its own tests (database tests included)', async () => {
  const tsc = await runCommand(process.execPath, [path.join(project, 'node_modules/typescript/bin/tsc'), '--noEmit'], { cwd: project });
  expect(tsc.stdout + tsc.stderr).toBe('');
  const tests = await runCommand('npm', ['test'], { cwd: project, env: ENV, timeout: 400_000 });
  ok(tests, 'npm test');
  expect(tests.stdout).toMatch(/products\.db\.test\.ts \(\d+ tests?\)/);
  expect(tests.stdout).toMatch(/reviews\.db\.test\.ts \(\d+ tests?\)/);
}, 420_000);

/** The process and its descendants: pid → command line. */
function processTree(pid: number): Map<number, string> {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Field 4 of /proc/<pid>/stat, after the parenthesised command name, is the parent's pid.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // The process ended while we looked.
    }
  }
  const out = new Map<number, string>();
  const visit = (p: number) => {
    try {
      const cmdline = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').join(' ').trim();
      const nodeOptions = readFileSync(`/proc/${p}/environ`, 'utf8').split('\0').find((v) => v.startsWith('NODE_OPTIONS=')) ?? '';
      out.set(p, `${cmdline} ${nodeOptions}`.trim());
    } catch {
      return;
    }
    for (const c of children.get(p) ?? []) visit(c);
  };
  visit(pid);
  return out;
}

it.skipIf(process.platform !== 'linux')('npm run build && npm start serves over HTTP from dist/, with no tsx process', async () => {
  ok(await runCommand('npm', ['run', 'build'], { cwd: project, timeout: 180_000 }), 'npm run build');
  expect(existsSync(path.join(project, 'dist/src/server.js'))).toBe(true);
  expect(readdirSync(path.join(project, 'dist/db/migrations')).some((f) => f.endsWith('.js'))).toBe(true);

  const port = 20_000 + Math.floor(Math.random() * 20_000);
  let output = '';
  server = spawn('npm', ['start'], {
    cwd: project,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      ...ENV,
      NODE_OPTIONS: '',
      PORT: String(port),
      HOST: '127.0.0.1',
      AUTH_JWT_SECRET: 'a-secret-of-at-least-32-bytes-for-hs256!',
      AUTH_JWT_ISSUER: 'https://issuer.test',
      AUTH_JWT_AUDIENCE: 'my-api',
    },
  });
  server.stdout!.on('data', (d) => (output += d));
  server.stderr!.on('data', (d) => (output += d));
  const base = `http://127.0.0.1:${port}`;
  let docs: Response | undefined;
  for (let i = 0; i < 600 && !docs; i++) {
    if (server.exitCode !== null) throw new Error(`npm start exited with ${server.exitCode}:\n${output}`);
    docs = await fetch(`${base}/docs/json`).catch(() => undefined);
    if (!docs) await new Promise((r) => setTimeout(r, 100));
  }
  expect(docs?.status, output).toBe(200);
  const list = await fetch(`${base}/products`);
  expect(list.status, output).toBe(200);
  expect(await list.json()).toEqual({ items: [], nextCursor: null });
  expect(output).toContain('applied pending migrations');

  const tree = processTree(server.pid!);
  const commands = [...tree.values()];
  expect(commands.some((c) => /\bnode\b.*dist\/src\/server\.js --migrate/.test(c)), commands.join('\n')).toBe(true);
  expect(commands.filter((c) => /tsx/.test(c)), commands.join('\n')).toEqual([]);
}, 300_000);
