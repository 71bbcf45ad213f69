/**
 * add-auth run again with other options: `--accounts` after a JWT-only run brings src/auth.ts along (it
 * is rewritten while it is still what backdev wrote, and a run stops naming the lines to add when it was
 * edited), so the project type-checks; plus the smaller messages: a spec without security schemes is
 * shown the YAML to add, "migrate the new tables" only when there are new tables, and `.env.example`
 * lists every variable the generated server requires.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAddAuth, runInit } from '../../generators/index.js';
import { isBackdevError } from '../../generators/core/errors.js';
import { memoryOutput } from '../../generators/core/report.js';
import { authConfigFromEnv } from '../../runtime/auth/index.js';
import { cleanup, linkBackdev, tempDir, typecheck } from '../helpers.js';

let parent: string;
/** A project from init whose spec has no security scheme. */
let plain: string;

const read = (dir: string, p: string) => readFileSync(path.join(dir, p), 'utf8');

/** A copy of the plain project whose spec requires a JWT bearer scheme called `name` everywhere. */
function jwtProject(label: string, name: string): string {
  const dir = path.join(parent, label);
  cpSync(plain, dir, { recursive: true });
  const spec = read(dir, 'openapi.yaml');
  expect(spec).toContain('\ncomponents:\n');
  writeFileSync(
    path.join(dir, 'openapi.yaml'),
    spec.replace('\ncomponents:\n', `\nsecurity:\n  - ${name}: []\ncomponents:\n  securitySchemes:\n    ${name}:\n      type: http\n      scheme: bearer\n      bearerFormat: JWT\n`),
  );
  linkBackdev(dir);
  return dir;
}

async function addAuth(dir: string, options: { accounts?: boolean; check?: boolean } = {}) {
  const output = memoryOutput();
  const result = await runAddAuth({ cwd: dir, ...options }, output);
  return { ...result, out: [...output.stdout, ...output.stderr].join('\n') };
}

beforeAll(async () => {
  parent = tempDir('auth-rerun');
  plain = path.join(parent, 'plain');
  await runInit({ dir: plain }, memoryOutput());
}, 240_000);

afterAll(() => cleanup(parent));

describe('add-auth --accounts after a JWT-only add-auth', () => {
  for (const scheme of ['bearerAuth', 'jwtAuth']) {
    it(`brings src/auth.ts along and the project type-checks (JWT scheme ${scheme})`, async () => {
      const dir = jwtProject(`jwt-then-accounts-${scheme}`, scheme);
      expect((await addAuth(dir)).exitCode).toBe(0);
      expect(read(dir, 'src/auth.ts')).not.toContain('createAccounts(');
      const second = await addAuth(dir, { accounts: true });
      expect(second.exitCode).toBe(0);
      expect(read(dir, 'src/handlers/auth.ts')).toMatch(/import \{[^}]*\baccounts\b[^}]*\} from '\.\.\/auth\.js'/);
      const auth = read(dir, 'src/auth.ts');
      expect(auth).toContain('export function accounts(): Accounts');
      expect(auth).toContain('bearerAuth: bearerScheme(accounts.verifier)');
      if (scheme === 'jwtAuth') expect(auth).toContain('jwtAuth: bearerScheme(jwt)');
      expect(await typecheck(dir)).toBe('');
      // And the wiring is now what add-auth --check (without --accounts) expects.
      expect((await addAuth(dir, { check: true })).exitCode).toBe(0);
    }, 240_000);
  }

  it('stops, writing nothing, and names the lines to add when src/auth.ts was edited', async () => {
    const dir = jwtProject('edited-auth', 'bearerAuth');
    expect((await addAuth(dir)).exitCode).toBe(0);
    writeFileSync(path.join(dir, 'src/auth.ts'), read(dir, 'src/auth.ts') + '\n// my own note\n');
    const spec = read(dir, 'openapi.yaml');
    const before = read(dir, 'src/auth.ts');
    let error: unknown;
    try {
      await addAuth(dir, { accounts: true });
    } catch (err) {
      error = err;
    }
    expect(isBackdevError(error)).toBe(true);
    const text = (error as { format(): string }).format();
    expect(text).toContain('BACKDEV_USER_FILE_OUTDATED');
    expect(text).toContain('src/auth.ts');
    expect(text).toContain('export function accounts(): Accounts {');
    expect(text).toContain('const accounts = createAccounts(db, {');
    expect(read(dir, 'openapi.yaml')).toBe(spec);
    expect(read(dir, 'src/auth.ts')).toBe(before);
  }, 240_000);
});

describe('add-auth messages', () => {
  it('shows the YAML to add when the spec declares no security scheme', async () => {
    let error: unknown;
    try {
      await addAuth(plain);
    } catch (err) {
      error = err;
    }
    expect(isBackdevError(error)).toBe(true);
    const text = (error as { format(): string }).format();
    expect(text).toMatch(/components:\n\s+securitySchemes:\n\s+bearerAuth:\n\s+type: http\n\s+scheme: bearer/);
    expect(text).toMatch(/security:.*\n\s+- bearerAuth: \[\]/);
  });

  it('asks for a migration only when it wrote one', async () => {
    const dir = jwtProject('messages', 'bearerAuth');
    const jwt = await addAuth(dir);
    expect(jwt.exitCode).toBe(0);
    expect(jwt.out).toContain('set the AUTH_* variables of .env.example');
    expect(jwt.out).not.toContain('db:migrate');
    expect(read(dir, 'README.md')).not.toContain('db:migrate` for the tables');
    const accounts = await addAuth(dir, { accounts: true });
    expect(accounts.out).toMatch(/npm run db:migrate` for the new tables \(db\/migrations\/\d{4}_auth_users\.ts/);
  }, 240_000);

  it('--accounts alone: .env.example lists every variable the server requires', async () => {
    const dir = path.join(parent, 'accounts-only');
    cpSync(plain, dir, { recursive: true });
    expect((await addAuth(dir, { accounts: true })).exitCode).toBe(0);
    const env = read(dir, '.env.example');
    const names = [...env.matchAll(/^([A-Z0-9_]+)=/gm)].map((m) => m[1]!);
    expect(names).toEqual(expect.arrayContaining(['AUTH_JWT_SECRET', 'AUTH_JWT_ISSUER', 'AUTH_JWT_AUDIENCE']));
    // Filled in, the listed variables are all the server's auth configuration needs.
    const values: Record<string, string> = { AUTH_JWT_SECRET: 'x'.repeat(40), AUTH_JWT_ISSUER: 'https://issuer.test', AUTH_JWT_AUDIENCE: 'api' };
    const filled = Object.fromEntries(names.map((n) => [n, values[n] ?? '5']));
    const features = JSON.parse(/authConfigFromEnv\(process\.env, (\[[^\]]*\])\)/.exec(read(dir, 'src/auth.ts'))![1]!.replace(/'/g, '"'));
    expect(features).toEqual(['jwt']);
    expect(() => authConfigFromEnv(filled, features)).not.toThrow();
    // Each variable once, with its comment once.
    expect(new Set(names).size).toBe(names.length);
  }, 240_000);
});
