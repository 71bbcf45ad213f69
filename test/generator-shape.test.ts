/**
 * The shape every generator shares: a folder under generators/ with index.ts (the Generator), view-model.ts
 * and plan.ts, importing core and never another generator; commands that are not generators live in commands/.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from './helpers.js';

const GENERATORS = path.join(REPO, 'generators');
const generatorFolders = readdirSync(GENERATORS).filter((d) => d !== 'core' && statSync(path.join(GENERATORS, d)).isDirectory());

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.ts$/.test(f))
    .map((f) => path.join(dir, f));
}

/** Every relative module specifier of a file (static imports, re-exports, dynamic imports), resolved. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]!);
  return specs.map((s) => path.resolve(path.dirname(file), s));
}

/** The generator folder a path lies in (undefined for core, cli.ts, index.ts and anything outside). */
function generatorOf(abs: string): string | undefined {
  const rel = path.relative(GENERATORS, abs).split(path.sep);
  return rel.length > 1 && !rel[0]!.startsWith('..') && generatorFolders.includes(rel[0]!) ? rel[0] : undefined;
}

describe('generator shape', () => {
  it('finds the generators', () => {
    expect(generatorFolders.sort()).toEqual(['add-auth', 'add-health', 'add-realtime', 'add-sync', 'create-api', 'design-database', 'init']);
  });

  it('no generator folder imports another generator folder', () => {
    const crossings: string[] = [];
    for (const g of generatorFolders) {
      for (const file of sourceFiles(path.join(GENERATORS, g))) {
        for (const target of importsOf(file)) {
          const other = generatorOf(target);
          if (other !== undefined && other !== g) crossings.push(`${path.relative(REPO, file)} → ${path.relative(REPO, target)}`);
        }
      }
    }
    expect(crossings).toEqual([]);
  });

  it('core and commands import no generator folder', () => {
    const crossings: string[] = [];
    for (const dir of [path.join(GENERATORS, 'core'), path.join(REPO, 'commands')]) {
      for (const file of sourceFiles(dir)) {
        for (const target of importsOf(file)) if (generatorOf(target)) crossings.push(`${path.relative(REPO, file)} → ${path.relative(REPO, target)}`);
      }
    }
    expect(crossings).toEqual([]);
  });

  it('the check itself catches a crossing', () => {
    // The same resolution the tests above use, on a specifier written the way a crossing would be.
    const file = path.join(GENERATORS, 'add-auth', 'plan.ts');
    const target = path.resolve(path.dirname(file), '../create-api/plan.js');
    expect(generatorOf(target)).toBe('create-api');
    expect(generatorOf(path.resolve(path.dirname(file), '../core/json.js'))).toBeUndefined();
  });

  it.each(generatorFolders)('%s has index.ts, view-model.ts and plan.ts, and index.ts exports its Generator', async (g) => {
    for (const f of ['index.ts', 'view-model.ts', 'plan.ts']) expect(statSync(path.join(GENERATORS, g, f)).isFile()).toBe(true);
    const mod = (await import(path.join(GENERATORS, g, 'index.ts'))) as Record<string, unknown>;
    const generators = Object.values(mod).filter(
      (v): v is { name: string; plan: unknown; target: unknown; outOfDate: unknown } => typeof v === 'object' && v !== null && 'plan' in v && 'target' in v,
    );
    expect(generators.map((x) => x.name)).toEqual([g]);
    expect(typeof generators[0]!.plan).toBe('function');
    expect(typeof generators[0]!.outOfDate).toBe('string');
    const interactive = (generators[0] as unknown as { interactive: { questions: () => { name: string }[]; options: unknown } }).interactive;
    expect(interactive.questions().length).toBeGreaterThan(0);
    expect(typeof interactive.options).toBe('function');
  });

  it('the composition root (CLI, plop, programmatic API) knows every generator folder', async () => {
    const { GENERATORS, loadGenerator } = await import('../generators/index.js');
    expect([...GENERATORS].sort()).toEqual([...generatorFolders].sort());
    for (const name of GENERATORS) expect((await loadGenerator(name)).name).toBe(name);
  });

  it('commands that are not generators live in commands/', () => {
    const commands = readdirSync(path.join(REPO, 'commands')).sort();
    expect(commands).toEqual(expect.arrayContaining(['migrate', 'plop', 'templates']));
    for (const c of commands) expect(generatorFolders).not.toContain(c);
  });
});
