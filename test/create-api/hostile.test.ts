/**
 * Spec text is untrusted: names, descriptions, enum values, defaults, paths and security schemes (keys,
 * header / query / cookie names, scopes, URLs, bearer formats) full of `../`, `*\/`, backticks, `${…}`,
 * quotes and line separators must not escape `--out`, break the build, or run when the generated modules
 * are imported — through init (create-api), add-auth and design-database alike. Payloads either set
 * `globalThis.__backdevPwned`, write a `PWNED-*` file in the working folder, or exit the process.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Project, SyntaxKind } from 'ts-morph';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAddAuth, runDesignDatabase, runInit } from '../../generators/index.js';
import { memoryOutput } from '../../generators/core/report.js';
import { cleanup, linkBackdev, REPO, SPECS, tempDir, typecheck } from '../helpers.js';

let parent: string;
let dir: string;

function listFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      if (e === 'node_modules') continue;
      const full = path.join(d, e);
      if (statSync(full).isDirectory()) walk(full);
      else out.push(full);
    }
  };
  walk(root);
  return out;
}

beforeAll(async () => {
  parent = tempDir('hostile');
  dir = path.join(parent, 'project');
  await runInit({ dir, spec: path.join(SPECS, 'hostile.yaml') }, memoryOutput());
  linkBackdev(dir);
  expect((await runAddAuth({ cwd: dir }, memoryOutput())).exitCode).toBe(0);
  await runDesignDatabase({ cwd: dir, all: true }, memoryOutput());
});

/** `PWNED-*` marker files a payload would write in the working folder of the generator or the app. */
const markers = () => [REPO, dir, parent].flatMap((d) => readdirSync(d).filter((f) => f.startsWith('PWNED')).map((f) => path.join(d, f)));
afterAll(() => cleanup(parent));

describe('a hostile spec', () => {
  it('writes only inside the output folder, under sanitized names', () => {
    expect(readdirSync(parent)).toEqual(['project']);
    for (const f of listFiles(dir)) {
      expect(path.relative(dir, f).startsWith('..')).toBe(false);
      expect(path.basename(f)).toMatch(/^[A-Za-z0-9._-]+$/);
    }
    expect(readdirSync(path.join(dir, 'src/handlers')).sort()).toEqual(['default.ts', 'escape.ts', 'global-this-backdev-pwned-tag.ts']);
    expect(markers()).toEqual([]);
  });

  it('add-auth keeps every scheme key, parameter name and scope a string', () => {
    const auth = readFileSync(path.join(dir, 'src/auth.ts'), 'utf8');
    const file = new Project({ useInMemoryFileSystem: true }).createSourceFile('auth.ts', auth);
    const names = file
      .getDescendantsOfKind(SyntaxKind.CallExpression)
      .filter((c) => c.getExpression().getText() === 'apiKeyScheme')
      .map((c) => c.getArguments()[1]!.asKindOrThrow(SyntaxKind.ObjectLiteralExpression).getPropertyOrThrow('name'))
      .map((p) => p.asKindOrThrow(SyntaxKind.PropertyAssignment).getInitializerIfKindOrThrow(SyntaxKind.StringLiteral).getLiteralValue());
    // The header name is lower-cased (HTTP header names are case-insensitive), and stays one string.
    expect(names.sort()).toEqual(["c`+globalThis.process.exit`9`+`'", "k'+globalthis.process.exit`7`+'", "q'+globalThis.process.exit`8`+'|~$*"]);
    const calls = file.getDescendantsOfKind(SyntaxKind.Identifier).filter((i) => ['exit', 'globalThis', 'globalthis'].includes(i.getText()));
    expect(calls.map((c) => c.getParent()!.getText())).toEqual([]);
    const env = readFileSync(path.join(dir, '.env.example'), 'utf8');
    expect(env.split('\n').filter((l) => /^[^#\s]/.test(l)).every((l) => /^AUTH_[A-Z_]+=/.test(l))).toBe(true);
    expect(env).not.toContain('AUTH_EVIL');
  });

  it('design-database keeps enum values and defaults as values', () => {
    const migration = readdirSync(path.join(dir, 'db/migrations')).find((f) => /create/.test(f))!;
    const text = readFileSync(path.join(dir, 'db/migrations', migration), 'utf8');
    expect(text).toContain('gadgets');
    const repo = readFileSync(path.join(dir, 'db/repositories/gadget.gen.ts'), 'utf8');
    expect(repo).toContain("'Date'");
    expect(repo).toContain("'string | number'");
  });

  it('type-checks under strict', async () => {
    expect(await typecheck(dir)).toBe('');
  });

  it('runs nothing from the spec when the generated modules are imported and the app is built', async () => {
    const g = globalThis as { __backdevPwned?: unknown };
    delete g.__backdevPwned;
    Object.assign(process.env, {
      DATA_DIR: 'memory://',
      AUTH_JWT_SECRET: 'a-test-secret-that-is-long-enough-for-hs256!',
      AUTH_JWT_ISSUER: 'https://issuer.test',
      AUTH_JWT_AUDIENCE: 'hostile',
      AUTH_JWT_ALGORITHMS: 'HS256',
    });
    const modules = [...listFiles(path.join(dir, 'src')), ...listFiles(path.join(dir, 'db'))].filter((f) => f.endsWith('.ts') && !f.endsWith('server.ts'));
    for (const m of modules) await import(pathToFileURL(m).href);
    const { buildApp } = (await import(pathToFileURL(path.join(dir, 'src/app.ts')).href)) as {
      buildApp(o: object): Promise<{ inject(r: object): Promise<{ statusCode: number; json(): unknown }>; close(): Promise<void> }>;
    };
    const app = await buildApp({ logger: false });
    try {
      const res = await app.inject({ method: 'DELETE', url: '/class/3' });
      expect(res.statusCode).toBe(501);
      // The stub's answer names its operation (the identifier `delete_`, made safe from the spec's `delete`).
      expect(JSON.stringify(res.json())).toContain('delete_');
      const bad = await app.inject({ method: 'DELETE', url: '/class/zero' });
      expect(bad.statusCode).toBe(400);
      const proto = await app.inject({ method: 'POST', url: '/constructor', payload: { '${x}': 'not-an-integer' } });
      expect(proto.statusCode).toBe(400);
      // Secured by the hostile schemes: no credentials, no entry; a key under the hostile names is checked.
      expect((await app.inject({ method: 'GET', url: '/1st/abc' })).statusCode).toBe(401);
      const query = `/1st/abc?${new URLSearchParams({ "q'+globalThis.process.exit`8`+'|~$*": 'not-a-key' })}`;
      expect((await app.inject({ method: 'GET', url: query })).statusCode).toBe(401);
    } finally {
      await app.close();
    }
    expect(g.__backdevPwned).toBeUndefined();
    expect(markers()).toEqual([]);
  });
});
