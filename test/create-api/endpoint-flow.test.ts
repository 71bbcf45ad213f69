/** `create-api --endpoint … --fields …`: the resource lands in the spec (formatting kept) and is generated. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryOutput } from '../../generators/core/report.js';
import { runInit } from '../../generators/index.js';
import { backdevInProcess, cleanup, linkBackdev, REPO, runCommand, snapshotTree, tempDir, typecheck } from '../helpers.js';

let dir: string;
const read = (p: string) => readFileSync(path.join(dir, p), 'utf8');

beforeAll(async () => {
  dir = tempDir('endpoint');
  await runInit({ dir, force: true }, memoryOutput());
  linkBackdev(dir);
});
afterAll(() => cleanup(dir));

describe('--endpoint', () => {
  it('a bad --fields string points at the bad token and writes nothing', async () => {
    const before = snapshotTree(dir);
    const r = await backdevInProcess(['create-api', '--endpoint', 'products', '--fields', 'name:string price:nmber'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('"nmber"');
    expect(r.stderr).toMatch(/column 19/);
    expect(r.stderr).toContain('BACKDEV_FIELDS_SYNTAX');
    expect(snapshotTree(dir)).toEqual(before);
  });

  it('adds the resource to the spec, keeping its comments and layout, and generates it', async () => {
    const specBefore = read('openapi.yaml');
    const r = await backdevInProcess(
      ['create-api', '--endpoint', 'products', '--fields', 'name:string:unique price:number stock:integer? category:enum(a|b)'],
      dir,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('added Product and listProducts, createProduct, getProduct, updateProduct, deleteProduct to openapi.yaml');
    const spec = read('openapi.yaml');
    // Every original line is still there, in order.
    let at = 0;
    for (const line of specBefore.split('\n')) {
      const found = spec.indexOf(line, at);
      expect(found, line).toBeGreaterThanOrEqual(at);
      at = found + line.length;
    }
    expect(spec).toContain('# Example spec for a new backdev project');
    expect(read('src/handlers/products.ts')).toContain("export const createProduct: Handlers['createProduct']");
    expect(read('src/generated/routes.gen.ts')).toContain("url: '/products/:id'");
    expect(await typecheck(dir)).toBe('');
  });

  it('the generated tests of the new resource pass', async () => {
    const r = await runCommand(process.execPath, [path.join(REPO, 'node_modules/vitest/vitest.mjs'), 'run', '--root', dir, 'test/products.test.ts'], {
      cwd: dir,
      env: { NO_COLOR: '1', FORCE_COLOR: '0' },
    });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Tests\s+\d+ passed/);
  });

  it('running it again with the same description changes nothing', async () => {
    const before = snapshotTree(dir);
    const r = await backdevInProcess(['create-api', '--endpoint', 'products', '--fields', 'name:string:unique price:number stock:integer? category:enum(a|b)'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('0 files changed');
    expect(snapshotTree(dir)).toEqual(before);
  });

  it('a different definition of a field the resource has is refused', async () => {
    const before = snapshotTree(dir);
    const r = await backdevInProcess(['create-api', '--endpoint', 'products', '--fields', 'name:integer'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('BACKDEV_ENDPOINT_EXISTS');
    expect(r.stderr).toContain('field "name" of Product');
    expect(snapshotTree(dir)).toEqual(before);
  });
});
