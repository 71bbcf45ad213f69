/**
 * A file several generators write into keeps the generator that created it; the others are listed in
 * `sharedWith`. No run takes it over, identical runs leave the manifest byte-identical, and a generator
 * that stops writing it only leaves the list (the file stays while another still writes it).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { applyPlan } from '../../generators/core/plan/apply.js';
import { MANIFEST_PATH } from '../../generators/core/plan/manifest.js';
import type { FilePlan, Plan } from '../../generators/core/plan/types.js';
import { cleanup, tempDir } from '../helpers.js';

let root: string;
beforeEach(() => {
  root = tempDir('manifest-shared');
});
afterEach(() => cleanup(root));

const plan = (generator: string, files: FilePlan[]): Plan => ({ generator, files, warnings: [] });
const scaffold = (p: string, content: string): FilePlan => ({ path: p, ownership: 'scaffold', content });
const gen = (p: string, content: string): FilePlan => ({ path: p, ownership: 'generated', content });
const manifestText = () => readFileSync(path.join(root, MANIFEST_PATH), 'utf8');
const entry = (p: string) => JSON.parse(manifestText()).files[p];

it('keeps the creator of a shared file, lists the others, and is stable across runs', () => {
  applyPlan(plan('init', [scaffold('src/app.ts', 'app')]), { root });
  applyPlan(plan('design-database', [scaffold('src/app.ts', 'app+db'), gen('db/schema.gen.ts', 'S')]), { root });
  expect(entry('src/app.ts')).toEqual({ generator: 'init', sharedWith: ['design-database'], ownership: 'scaffold' });
  applyPlan(plan('add-auth', [scaffold('src/app.ts', 'app+db+auth')]), { root });
  const after = manifestText();
  expect(entry('src/app.ts')).toEqual({ generator: 'init', sharedWith: ['add-auth', 'design-database'], ownership: 'scaffold' });

  // Each generator again, in another order: nothing to record, and --check agrees.
  for (const g of ['design-database', 'add-auth']) {
    const files = [scaffold('src/app.ts', 'app+db+auth'), ...(g === 'design-database' ? [gen('db/schema.gen.ts', 'S')] : [])];
    const check = applyPlan(plan(g, files), { root, check: true });
    expect({ g, changed: check.changed, records: check.records }).toEqual({ g, changed: false, records: [] });
    applyPlan(plan(g, files), { root });
    expect(manifestText()).toBe(after);
  }

  // design-database stops writing src/app.ts: it leaves the list, the file stays.
  const report = applyPlan(plan('design-database', [gen('db/schema.gen.ts', 'S')]), { root });
  expect(report.removed).toEqual([]);
  expect(existsSync(path.join(root, 'src/app.ts'))).toBe(true);
  expect(entry('src/app.ts')).toEqual({ generator: 'init', sharedWith: ['add-auth'], ownership: 'scaffold' });
});

it('a --check that only the manifest fails names the records', () => {
  applyPlan(plan('init', [scaffold('src/app.ts', 'app')]), { root });
  const check = applyPlan(plan('add-auth', [scaffold('src/app.ts', 'app')]), { root, check: true });
  expect(check.changed).toBe(true);
  expect(check.records).toEqual(['src/app.ts']);
});
