/**
 * add-auth's templates: the documented context matches the view model, every bundled template is listed,
 * no template prints a field of the view raw unless that field is fixed vocabulary (never spec text), and
 * a broken user template is a clear exit-1 error naming it, with nothing written.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Project } from 'ts-morph';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryOutput } from '../../generators/core/report.js';
import { BUNDLED_TEMPLATES, listTemplates } from '../../generators/core/render/templates.js';
import { runInit } from '../../generators/index.js';
import { backdev, backdevInProcess, cleanup, REPO, snapshotTree, SPECS, tempDir } from '../helpers.js';

const README = readFileSync(path.join(BUNDLED_TEMPLATES, 'add-auth/README.md'), 'utf8');

describe('add-auth template context', () => {
  it('templates/add-auth/README.md names every field of the view model', () => {
    const project = new Project({ skipAddingFilesFromTsConfig: true });
    const file = project.addSourceFileAtPath(path.join(REPO, 'generators/add-auth/view-model.ts'));
    const missing: string[] = [];
    for (const name of ['AddAuthView', 'SchemeView', 'RouteSecurityView', 'RateLimitView']) {
      for (const prop of file.getInterfaceOrThrow(name).getProperties()) {
        if (!README.includes(`\`${prop.getName()}\``)) missing.push(`${name}.${prop.getName()}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('lists every bundled template', () => {
    for (const t of listTemplates('add-auth').filter((f) => f.endsWith('.hbs'))) expect(README).toContain(`\`${t}\``);
  });

  it('prints spec strings only through helpers: bare mustaches name fixed-vocabulary fields only', () => {
    // Fields whose values never come from the spec (numbers, booleans, kinds): printing them bare is safe.
    const fixed = new Set(['max']);
    const bare: string[] = [];
    for (const t of listTemplates('add-auth').filter((f) => f.endsWith('.hbs'))) {
      const text = readFileSync(path.join(BUNDLED_TEMPLATES, 'add-auth', t), 'utf8');
      for (const m of text.matchAll(/\{\{\{?\s*([^#/>!{}\s][^{}\s]*)\s*\}?\}\}/g)) {
        const field = m[1]!;
        if (field === 'else' || field === 'this' || field.startsWith('@')) continue;
        if (!fixed.has(field)) bare.push(`${t}: ${m[0]}`);
      }
      expect(text).not.toContain('{{{');
    }
    expect(bare).toEqual([]);
  });
});

describe('a broken user template', () => {
  let dir: string;
  beforeAll(async () => {
    dir = tempDir('auth-tpl');
    await runInit({ dir, spec: path.join(SPECS, 'auth.yaml'), force: true }, memoryOutput());
    mkdirSync(path.join(dir, 'templates/add-auth'), { recursive: true });
    mkdirSync(path.join(dir, 'templates/create-api/partials'), { recursive: true });
  });
  afterAll(() => cleanup(dir));

  const cases: { name: string; file: string; text: string; message: RegExp }[] = [
    { name: 'a Handlebars syntax error', file: 'add-auth/auth.ts.hbs', text: '{{#each schemes}}\n  unclosed\n', message: /does not compile: Parse error on line/ },
    { name: 'an unknown helper', file: 'add-auth/auth.gen.ts.hbs', text: '// {{shout api.title}}\n', message: /"shout" is neither a field of the context nor a helper/ },
    { name: 'a misspelt field', file: 'add-auth/auth.ts.hbs', text: 'export const t = 1; // {{api.titel}}\n', message: /"titel" is neither a field of the context nor a helper/ },
    { name: 'output that is not TypeScript', file: 'add-auth/auth.ts.hbs', text: 'export const t = {{str api.title}} +;\n', message: /produced TypeScript that does not parse: 1:\d+: Expression expected/ },
    { name: 'a create-api partial whose output is not TypeScript', file: 'create-api/partials/header.hbs', text: '// header\nexport const = ;\n', message: /produced TypeScript that does not parse: 2:14/ },
    { name: 'a missing partial', file: 'add-auth/auth.gen.ts.hbs', text: '{{> nothere}}\n', message: /partial nothere could not be found/ },
  ];
  for (const [i, c] of cases.entries()) {
    it(`${c.name}: exit 1 naming the template, nothing written`, async () => {
      const file = path.join(dir, 'templates', c.file);
      writeFileSync(file, c.text);
      try {
        const before = snapshotTree(dir);
        // The first case through the real binary (what reaches the terminal besides the command's own
        // output), the others in this process: the same command line code, without a node start each.
        const args = ['add-auth', '--templates', 'templates'];
        const r = i === 0 ? await backdev(args, dir) : await backdevInProcess(args, dir);
        expect(r.code, r.stderr).toBe(1);
        expect(r.stderr).not.toContain('internal error');
        expect(r.stderr).toContain('BACKDEV_TEMPLATE_INVALID');
        expect(r.stderr).toMatch(c.message);
        expect(r.stderr).toContain(c.file.includes('/partials/') ? path.join(dir, 'templates', 'create-api') : file);
        expect(snapshotTree(dir)).toEqual(before);
      } finally {
        cleanup(file);
      }
    });
  }
});
