/**
 * Spec text is untrusted: names, descriptions, enum values, defaults and paths full of `../`, `*\/`,
 * backticks, `${…}`, quotes and line separators must not escape `--out`, break the build, or run when the
 * generated modules are imported.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryOutput } from '../../generators/core/report.js';
import { runInit } from '../../generators/init/run.js';
import { cleanup, SPECS, tempDir, typecheck } from '../helpers.js';

let parent: string;
let dir: string;

function listFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
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
});
afterAll(() => cleanup(parent));

describe('a hostile spec', () => {
  it('writes only inside the output folder, under sanitized names', () => {
    expect(readdirSync(parent)).toEqual(['project']);
    for (const f of listFiles(dir)) {
      expect(path.relative(dir, f).startsWith('..')).toBe(false);
      expect(path.basename(f)).toMatch(/^[A-Za-z0-9._-]+$/);
    }
    expect(readdirSync(path.join(dir, 'src/handlers')).sort()).toEqual(['default.ts', 'escape.ts', 'global-this-backdev-pwned-tag.ts']);
  });

  it('type-checks under strict', async () => {
    expect(await typecheck(dir)).toBe('');
  });

  it('runs nothing from the spec when the generated modules are imported and the app is built', async () => {
    const g = globalThis as { __backdevPwned?: unknown };
    delete g.__backdevPwned;
    const modules = listFiles(path.join(dir, 'src')).filter((f) => f.endsWith('.ts') && !f.endsWith('server.ts'));
    for (const m of modules) await import(pathToFileURL(m).href);
    const { buildApp } = (await import(pathToFileURL(path.join(dir, 'src/app.ts')).href)) as {
      buildApp(o: object): Promise<{ inject(r: object): Promise<{ statusCode: number; json(): { operationId?: string } }>; close(): Promise<void> }>;
    };
    const app = await buildApp({ logger: false });
    try {
      const res = await app.inject({ method: 'DELETE', url: '/class/3' });
      expect(res.statusCode).toBe(501);
      expect(res.json().operationId).toBe('delete_');
      const bad = await app.inject({ method: 'DELETE', url: '/class/zero' });
      expect(bad.statusCode).toBe(400);
      const proto = await app.inject({ method: 'POST', url: '/constructor', payload: { '${x}': 'not-an-integer' } });
      expect(proto.statusCode).toBe(400);
    } finally {
      await app.close();
    }
    expect(g.__backdevPwned).toBeUndefined();
  });
});
