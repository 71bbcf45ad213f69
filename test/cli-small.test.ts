/**
 * Smaller command-line behaviours: migrate outside a project, `init --empty`, the project README, and the
 * demo's port and colour choices.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { childEnv, choosePort } from '../scripts/lib/demo.js';
import { backdev, cleanup, linkBackdev, REPO, runCommand, tempDir, typecheck } from './helpers.js';

const ENV = { DATABASE_URL: '' };
const dirs: string[] = [];
afterAll(() => dirs.forEach(cleanup));

describe('migrate outside a project', () => {
  it.each([['up'], ['status'], ['down']])('migrate %s: exit 1 naming the folder searched, no database made', async (action) => {
    // Under the system temp folder: no backdev.config.json in it or above it.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'backdev-noproject-'));
    dirs.push(dir);
    const r = await backdev(['migrate', action], dir, ENV);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toContain('[BACKDEV_PROJECT_NOT_FOUND]');
    expect(r.stderr).toContain(`no backdev.config.json in ${dir}`);
    expect(r.stderr).toContain('db/migrations');
    expect(r.stderr).not.toContain('internal error');
    expect(r.stdout).not.toContain('no migrations');
    expect(readdirSync(dir)).toEqual([]);
  }, 60_000);
});

describe('migrate in a project', () => {
  it("loads TypeScript migrations with the process's own kysely and backdev/runtime/db, not second copies", async () => {
    // Under the checkout (kysely resolves from its node_modules), with backdev linked: an installed project.
    const dir = tempDir('migrate-modules');
    dirs.push(dir);
    linkBackdev(dir);
    writeFileSync(path.join(dir, 'backdev.config.json'), '{}\n');
    mkdirSync(path.join(dir, 'db/migrations'), { recursive: true });
    writeFileSync(
      path.join(dir, 'db/migrations/0001_create_notes.ts'),
      "import { sql, type Kysely } from 'kysely';\nimport { runStatements } from 'backdev/runtime/db';\n\nexport async function up(db: Kysely<any>): Promise<void> {\n  await runStatements(db, [sql`create table notes (id integer)`]);\n}\n",
    );
    // Every module the process loads, one `load: <url>` line each on stderr (a second copy has another URL).
    const logLoads = `--import=${path.join(REPO, 'test/fixtures/hooks/log-loads.mjs')}`;
    const r = await backdev(['migrate', 'status'], dir, { ...ENV, NODE_OPTIONS: logLoads });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/pending {2}0001_create_notes\n/);
    expect(r.stdout).toContain('0 applied, 1 pending');
    const loads = r.stderr.split('\n').flatMap((line) => (line.startsWith('load: ') ? [line.slice('load: '.length)] : []));
    const copies = (file: RegExp) => loads.filter((url) => file.test(url.split('?')[0]!));
    expect(copies(/\/db\/migrations\/0001_create_notes\.ts$/)).toHaveLength(1);
    expect(copies(/\/node_modules\/kysely\/dist\/esm\/index\.js$/)).toHaveLength(1);
    expect(copies(/\/dist\/runtime\/db\/index\.js$/)).toHaveLength(1);
    // Nothing of the generators: migrate needs kysely, a database driver and tsx for the .ts files.
    expect(loads.filter((url) => /\/node_modules\/(typescript|openapi-typescript|ts-morph|@ts-morph|prettier|ajv|handlebars|@redocly)\//.test(url))).toEqual([]);
  }, 120_000);
});

describe('migrate against a server it cannot use', () => {
  it.each([['status'], ['up']])('migrate %s: exit 1 naming the server (not its password) and why, no stack', async (action) => {
    const dir = tempDir('migrate-unreachable');
    dirs.push(dir);
    linkBackdev(dir);
    writeFileSync(path.join(dir, 'backdev.config.json'), '{}\n');
    mkdirSync(path.join(dir, 'db/migrations'), { recursive: true });
    writeFileSync(path.join(dir, 'db/migrations/0001_create_notes.js'), 'export async function up() {}\n');
    // Port 1 on loopback: nothing listens there.
    const r = await backdev(['migrate', action, '--database-url', 'postgres://nobody:s3cret@127.0.0.1:1/none'], dir, ENV);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toContain('[BACKDEV_DATABASE_UNREACHABLE]');
    expect(r.stderr).toContain('cannot use the database at postgres://nobody@127.0.0.1:1/none: the connection was refused');
    expect(r.stderr).not.toContain('s3cret');
    expect(r.stderr).not.toContain('internal error');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(readdirSync(dir).sort()).toEqual(['backdev.config.json', 'db', 'node_modules']);
  }, 60_000);
});

describe('migrate in a project whose dependencies are not installed', () => {
  it('names the migration and the missing package, exit 1, no database made', async () => {
    // Outside the checkout, so kysely is not found by walking up to backdev's own node_modules.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'backdev-noinstall-'));
    dirs.push(dir);
    mkdirSync(path.join(dir, 'db/migrations'), { recursive: true });
    writeFileSync(path.join(dir, 'db/migrations/0001_create_notes.ts'), "import { sql } from 'kysely';\nexport async function up(): Promise<void> {\n  void sql;\n}\n");
    const r = await backdev(['migrate', 'up'], dir, ENV);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toContain('[BACKDEV_MIGRATION_NOT_LOADED]');
    expect(r.stderr).toContain('migration db/migrations/0001_create_notes.ts imports "kysely"');
    expect(r.stderr).toContain('npm install');
    expect(r.stderr).not.toContain('internal error');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(readdirSync(dir)).toEqual(['db']);
  }, 60_000);
});

describe('init --empty', () => {
  const dir = path.join(tempDir('init-empty'), 'shop-api');
  dirs.push(path.dirname(dir));

  it('writes a project from a spec with no paths', async () => {
    const r = await backdev(['init', dir, '--empty'], REPO, ENV);
    expect(r.code, r.stderr).toBe(0);
    const spec = readFileSync(path.join(dir, 'openapi.yaml'), 'utf8');
    expect(spec).toMatch(/^openapi: 3\.1\.0$/m);
    expect(spec).toMatch(/^paths: \{\}$/m);
    expect(spec).toContain('title: shop-api');
    expect(spec).not.toContain('/pets');
    expect(JSON.parse(readFileSync(path.join(dir, 'backdev.config.json'), 'utf8')).spec).toBe('openapi.yaml');
  }, 60_000);

  it('type-checks, its npm test passes with no tests, and the app serves its docs', async () => {
    linkBackdev(dir);
    expect(await typecheck(dir)).toBe('');
    const tests = await runCommand(process.execPath, [path.join(REPO, 'node_modules/vitest/vitest.mjs'), 'run'], {
      cwd: dir,
      env: { CI: 'true', NO_COLOR: '1' },
    });
    expect(tests.code, tests.stdout + tests.stderr).toBe(0);
    const { buildApp } = (await import(pathToFileURL(path.join(dir, 'src/app.ts')).href)) as {
      buildApp(o: object): Promise<{ inject(r: object): Promise<{ statusCode: number; json(): unknown }>; close(): Promise<void> }>;
    };
    const app = await buildApp({ logger: false });
    try {
      const docs = await app.inject({ method: 'GET', url: '/docs/json' });
      expect(docs.statusCode).toBe(200);
      expect(docs.json()).toMatchObject({ openapi: '3.1.0', paths: {} });
      expect((await app.inject({ method: 'GET', url: '/anything' })).statusCode).toBe(404);
    } finally {
      await app.close();
    }
  }, 240_000);

  it('grows with create-api --endpoint', async () => {
    const r = await backdev(['create-api', '--endpoint', 'products', '--fields', 'name:string price:number'], dir, ENV);
    expect(r.code, r.stderr).toBe(0);
    const spec = readFileSync(path.join(dir, 'openapi.yaml'), 'utf8');
    expect(spec).toContain('/products');
    expect(spec).not.toContain('/pets');
    expect(await typecheck(dir)).toBe('');
  }, 120_000);

  it('is listed in init --help, and refused together with --spec', async () => {
    const help = await backdev(['init', '--help']);
    expect(help.stdout).toContain('--empty');
    const both = await backdev(['init', path.join(path.dirname(dir), 'other'), '--empty', '--spec', 'x.yaml'], REPO, ENV);
    expect(both.code).toBe(1);
    expect(existsSync(path.join(path.dirname(dir), 'other'))).toBe(false);
  }, 60_000);
});

describe('the project README', () => {
  it('links to no page that does not exist, and says where backdev documentation is', () => {
    const readme = readFileSync(path.join(REPO, 'templates/init/README.md.hbs'), 'utf8');
    expect(readme).not.toContain('npmjs.com');
    expect(readme).toContain('node_modules/backdev/README.md');
  });
});

describe('npm run demo: port and colours', () => {
  const listen = (port: number) =>
    new Promise<Server>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen({ port, host: '127.0.0.1' }, () => resolve(s));
    });
  const close = (s: Server) => new Promise<void>((r) => s.close(() => r()));

  it('without PORT: a free port', async () => {
    const port = await choosePort(undefined);
    expect(port).toBeGreaterThan(0);
    const s = await listen(port);
    await close(s);
  });

  it('with PORT taken by another program: a clear error, not a silent talk to it', async () => {
    const busy = await listen(0);
    const port = (busy.address() as { port: number }).port;
    try {
      await expect(choosePort(String(port))).rejects.toThrow(`port ${port} (PORT) on 127.0.0.1 is in use`);
    } finally {
      await close(busy);
    }
    // Once free, the same PORT is used as given.
    expect(await choosePort(String(port))).toBe(port);
  });

  it('with PORT not a port number: a clear error', async () => {
    await expect(choosePort('3000abc')).rejects.toThrow('is not a port number');
    await expect(choosePort('70000')).rejects.toThrow('is not a port number');
  });

  it('no colour codes for the child commands when the output is not a terminal', () => {
    const piped = childEnv({ PATH: '/bin', FORCE_COLOR: '0' }, false);
    expect(piped).toEqual({ PATH: '/bin', NO_COLOR: '1' });
    expect(childEnv({ PATH: '/bin' }, true)).toEqual({ PATH: '/bin' });
  });
});
