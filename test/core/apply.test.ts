import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BackdevError } from '../../generators/core/errors.js';
import { applyPlan, projectFiles } from '../../generators/core/plan/apply.js';
import { insideRoot } from '../../generators/core/plan/inside-root.js';
import { hashContent, MANIFEST_PATH } from '../../generators/core/plan/manifest.js';
import type { FilePlan, Plan } from '../../generators/core/plan/types.js';
import { cleanup, snapshotTree, tempDir } from '../helpers.js';

let root: string;
beforeEach(() => {
  root = tempDir('apply');
});
afterEach(() => cleanup(root));

const plan = (files: FilePlan[], generator = 'create-api'): Plan => ({ generator, files, warnings: [] });
const gen = (p: string, content: string): FilePlan => ({ path: p, ownership: 'generated', content });
const scaffold = (p: string, content: string): FilePlan => ({ path: p, ownership: 'scaffold', content });
const read = (p: string) => readFileSync(path.join(root, p), 'utf8');
const write = (p: string, text: string) => {
  mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
  writeFileSync(path.join(root, p), text);
};

function expectError(fn: () => unknown, code: string): BackdevError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BackdevError);
    expect((err as BackdevError).code).toBe(code);
    return err as BackdevError;
  }
  throw new Error('expected an error');
}

describe('applyPlan', () => {
  it('creates files and records generated ones in the manifest', () => {
    const report = applyPlan(plan([gen('src/a.gen.ts', 'A'), scaffold('src/h.ts', 'H')]), { root });
    expect(report.created).toEqual(['src/a.gen.ts', 'src/h.ts']);
    expect(read('src/a.gen.ts')).toBe('A');
    const manifest = JSON.parse(read(MANIFEST_PATH));
    expect(manifest.files['src/a.gen.ts']).toMatchObject({ generator: 'create-api', ownership: 'generated' });
    expect(manifest.files['src/a.gen.ts'].hash).toMatch(/^sha256-[0-9a-f]{64}$/);
    expect(manifest.files['src/h.ts']).toEqual({ generator: 'create-api', ownership: 'scaffold' });
  });

  it('a second identical run changes nothing, byte for byte', () => {
    const p = plan([gen('src/a.gen.ts', 'A'), scaffold('src/h.ts', 'H')]);
    applyPlan(p, { root });
    const before = snapshotTree(root);
    const report = applyPlan(p, { root });
    expect(report.changed).toBe(false);
    expect(report.unchanged).toEqual(['src/a.gen.ts', 'src/h.ts']);
    expect(snapshotTree(root)).toEqual(before);
  });

  it('stops when a generated file was edited by hand, names it and writes nothing', () => {
    applyPlan(plan([gen('src/a.gen.ts', 'A'), gen('src/b.gen.ts', 'B')]), { root });
    write('src/a.gen.ts', 'A edited');
    const before = snapshotTree(root);
    const err = expectError(() => applyPlan(plan([gen('src/a.gen.ts', 'A2'), gen('src/b.gen.ts', 'B2')]), { root }), 'GENERATED_FILE_EDITED');
    expect(err.details).toEqual(['src/a.gen.ts']);
    expect(snapshotTree(root)).toEqual(before);
    expect(read('src/a.gen.ts')).toBe('A edited');
  });

  it('--force overwrites an edited generated file', () => {
    applyPlan(plan([gen('src/a.gen.ts', 'A')]), { root });
    write('src/a.gen.ts', 'A edited');
    const report = applyPlan(plan([gen('src/a.gen.ts', 'A2')]), { root, force: true });
    expect(report.updated).toEqual(['src/a.gen.ts']);
    expect(read('src/a.gen.ts')).toBe('A2');
  });

  it('refuses to overwrite a file it did not write', () => {
    write('src/a.gen.ts', 'mine');
    const err = expectError(() => applyPlan(plan([gen('src/a.gen.ts', 'A')]), { root }), 'GENERATED_FILE_EDITED');
    expect(err.details[0]).toContain('not written by backdev');
    expect(read('src/a.gen.ts')).toBe('mine');
  });

  it('removes stale generated files when unmodified, keeps edited ones with a warning', () => {
    applyPlan(plan([gen('src/a.gen.ts', 'A'), gen('src/old/b.gen.ts', 'B'), gen('src/c.gen.ts', 'C')]), { root });
    write('src/c.gen.ts', 'C edited');
    const report = applyPlan(plan([gen('src/a.gen.ts', 'A')]), { root });
    expect(report.removed).toEqual(['src/old/b.gen.ts']);
    expect(existsSync(path.join(root, 'src/old'))).toBe(false);
    expect(read('src/c.gen.ts')).toBe('C edited');
    expect(report.warnings.map((w) => `${w.code} ${w.subject}`)).toEqual(['STALE_EDITED_FILE src/c.gen.ts']);
    expect(Object.keys(JSON.parse(read(MANIFEST_PATH)).files)).toEqual(['src/a.gen.ts']);
  });

  it('leaves stale files of other generators alone', () => {
    applyPlan(plan([gen('db/schema.gen.ts', 'S')], 'design-database'), { root });
    const report = applyPlan(plan([gen('src/a.gen.ts', 'A')]), { root });
    expect(report.removed).toEqual([]);
    expect(read('db/schema.gen.ts')).toBe('S');
  });

  it('never rewrites append-only files and only updates scaffolds with merged content', () => {
    applyPlan(plan([{ path: 'db/0001.ts', ownership: 'append-only', content: 'M1' }, scaffold('src/h.ts', 'H')]), { root });
    write('src/h.ts', 'H + user line');
    const report = applyPlan(plan([{ path: 'db/0001.ts', ownership: 'append-only', content: 'other' }, scaffold('src/h.ts', 'H + user line')]), { root });
    expect(report.skipped).toEqual(['db/0001.ts']);
    expect(report.unchanged).toEqual(['src/h.ts']);
    expect(read('db/0001.ts')).toBe('M1');
  });

  it('dry run prints a unified diff and writes nothing', () => {
    applyPlan(plan([gen('src/a.gen.ts', 'line 1\nline 2\n')]), { root });
    const before = snapshotTree(root);
    const report = applyPlan(plan([gen('src/a.gen.ts', 'line 1\nline two\n'), gen('src/new.gen.ts', 'N\n')]), { root, dryRun: true });
    expect(snapshotTree(root)).toEqual(before);
    expect(report.diff).toContain('--- a/src/a.gen.ts\n+++ b/src/a.gen.ts');
    expect(report.diff).toContain('-line 2\n+line two');
    expect(report.diff).toContain('--- /dev/null\n+++ b/src/new.gen.ts');
    expect(report.changed).toBe(true);
  });

  it('check reports drift without writing', () => {
    applyPlan(plan([gen('src/a.gen.ts', 'A')]), { root });
    const before = snapshotTree(root);
    expect(applyPlan(plan([gen('src/a.gen.ts', 'A')]), { root, check: true }).changed).toBe(false);
    expect(applyPlan(plan([gen('src/a.gen.ts', 'B')]), { root, check: true }).changed).toBe(true);
    expect(snapshotTree(root)).toEqual(before);
  });

  it.each(['../outside.ts', '/etc/passwd', 'src/../../x.ts', 'a//b.ts', 'C:\\x.ts', './a.ts'])('refuses the path %s', (p) => {
    expectError(() => applyPlan(plan([gen(p, 'x')]), { root }), 'OUTPUT_OUTSIDE_ROOT');
    expect(snapshotTree(root)).toEqual({});
  });

  it('refuses to write through a symlinked folder that leads outside', () => {
    const outside = tempDir('outside');
    try {
      symlinkSync(outside, path.join(root, 'src'));
      expectError(() => applyPlan(plan([gen('src/a.gen.ts', 'x')]), { root }), 'OUTPUT_OUTSIDE_ROOT');
      expect(snapshotTree(outside)).toEqual({});
    } finally {
      cleanup(outside);
    }
  });

  it('when writing, catches a folder that became a symlink leading outside after an earlier file in it was checked', () => {
    const outside = tempDir('outside');
    try {
      const resolve = insideRoot(root);
      expect(resolve('src/a.gen.ts')).toBe(path.join(root, 'src/a.gen.ts')); // src does not exist yet
      mkdirSync(path.join(root, 'lib'));
      expect(resolve('lib/b.gen.ts')).toBe(path.join(root, 'lib/b.gen.ts'));
      resolve.beforeWrite();
      expect(resolve('src/a.gen.ts')).toBe(path.join(root, 'src/a.gen.ts'));
      symlinkSync(outside, path.join(root, 'src'));
      expectError(() => resolve('src/c.gen.ts'), 'OUTPUT_OUTSIDE_ROOT');
      expectError(() => resolve('src/deeper/d.gen.ts'), 'OUTPUT_OUTSIDE_ROOT');
      expect(resolve('lib/e.gen.ts')).toBe(path.join(root, 'lib/e.gen.ts'));
    } finally {
      cleanup(outside);
    }
  });

  it("given the run's files, decides on the text the planner read (one view of the project per run, each file read once)", () => {
    applyPlan(plan([gen('src/a.gen.ts', 'A')]), { root });
    const files = projectFiles(root);
    expect(files.read('src/a.gen.ts')).toBe('A');
    expect(files.hash!('A')).toBe(hashContent('A'));
    // Changed on disk after the planner read it: this run's view stays what the planner saw.
    writeFileSync(path.join(root, 'src/a.gen.ts'), 'edited');
    expect(files.read('src/a.gen.ts')).toBe('A');
    const report = applyPlan(plan([gen('src/a.gen.ts', 'A')]), { root, files });
    expect(report.unchanged).toEqual(['src/a.gen.ts']);
    // A run of its own reads the disk again, and sees the edit.
    expectError(() => applyPlan(plan([gen('src/a.gen.ts', 'A')]), { root }), 'GENERATED_FILE_EDITED');
  });

  it('is all-or-nothing: a failure while writing leaves the tree as it was', () => {
    applyPlan(plan([gen('a.gen.ts', 'A'), gen('z.gen.ts', 'Z')]), { root });
    const before = snapshotTree(root);
    // A directory where a file must go makes staging fail after other files were staged.
    mkdirSync(path.join(root, 'm.gen.ts'));
    expect(() => applyPlan(plan([gen('a.gen.ts', 'A2'), gen('m.gen.ts', 'M'), gen('z.gen.ts', 'Z2')]), { root })).toThrow();
    const after = snapshotTree(root);
    expect(after).toEqual(before);
    expect(read('a.gen.ts')).toBe('A');
  });
});
