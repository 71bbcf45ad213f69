/** Templates: the documented context matches the view model; user overrides win; eject copies them out. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Project } from 'ts-morph';
import { afterAll, describe, expect, it } from 'vitest';
import { BackdevError } from '../../generators/core/errors.js';
import { BUNDLED_TEMPLATES, listTemplates, loadTemplates } from '../../generators/core/render/templates.js';
import { memoryOutput } from '../../generators/core/report.js';
import { runCreateApi } from '../../generators/index.js';
import { ejectTemplates } from '../../commands/templates/eject.js';
import { cleanup, REPO, SPECS, tempDir } from '../helpers.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach(cleanup));

describe('template context documentation', () => {
  it('templates/create-api/README.md names every field of the view model', () => {
    const project = new Project({ skipAddingFilesFromTsConfig: true });
    const file = project.addSourceFileAtPath(path.join(REPO, 'generators/create-api/view-model.ts'));
    const readme = readFileSync(path.join(BUNDLED_TEMPLATES, 'create-api/README.md'), 'utf8');
    const names = ['CreateApiView', 'ImportsView', 'GroupView', 'OperationView', 'TestView'];
    const missing: string[] = [];
    for (const name of names) {
      for (const prop of file.getInterfaceOrThrow(name).getProperties()) {
        if (!readme.includes(`\`${prop.getName()}\``)) missing.push(`${name}.${prop.getName()}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('lists every bundled template', () => {
    const readme = readFileSync(path.join(BUNDLED_TEMPLATES, 'create-api/README.md'), 'utf8');
    for (const t of listTemplates('create-api').filter((f) => f.endsWith('.hbs'))) expect(readme).toContain(`\`${t}\``);
  });
});

describe('template overrides', () => {
  it('a user template replaces the bundled one by relative path', async () => {
    const dir = tempDir('tpl');
    dirs.push(dir);
    mkdirSync(path.join(dir, 'templates/create-api/partials'), { recursive: true });
    writeFileSync(
      path.join(dir, 'templates/create-api/partials/handler-stub.hbs'),
      "// custom stub template\nexport const {{ident id}}: Handlers[{{str id}}] = async () => notImplemented({{str id}});\n",
    );
    await runCreateApi({ spec: path.join(SPECS, 'petstore.yaml'), out: dir, templates: path.join(dir, 'templates') }, memoryOutput());
    const handlers = readFileSync(path.join(dir, 'src/handlers/pets.ts'), 'utf8');
    expect(handlers).toContain('// custom stub template');
    expect(handlers).toContain("export const listPets: Handlers['listPets'] = async () => notImplemented('listPets');");
  });

  it('a broken user template is a located error, not a crash', () => {
    const dir = tempDir('tpl-bad');
    dirs.push(dir);
    mkdirSync(path.join(dir, 'create-api'), { recursive: true });
    writeFileSync(path.join(dir, 'create-api/routes.gen.ts.hbs'), '{{#each operations}} unclosed');
    const templates = loadTemplates('create-api', dir);
    expect(() => templates.render('routes.gen.ts.hbs', {})).toThrow(BackdevError);
    try {
      templates.render('routes.gen.ts.hbs', {});
    } catch (err) {
      expect((err as BackdevError).code).toBe('TEMPLATE_INVALID');
      expect((err as BackdevError).location?.file).toBe(path.join(dir, 'create-api/routes.gen.ts.hbs'));
    }
  });

  it('a misspelt field fails instead of printing nothing (strict mode)', () => {
    const dir = tempDir('tpl-strict');
    dirs.push(dir);
    mkdirSync(path.join(dir, 'create-api'), { recursive: true });
    writeFileSync(path.join(dir, 'create-api/docs.gen.ts.hbs'), '{{apii.title}}');
    expect(() => loadTemplates('create-api', dir).render('docs.gen.ts.hbs', { api: { title: 't' } })).toThrow(/docs.gen.ts.hbs failed: "title" not defined .* 1:2/);
  });

  it('templates eject copies every bundled template and refuses to overwrite', () => {
    const dir = tempDir('eject');
    dirs.push(dir);
    const out = memoryOutput();
    const files = ejectTemplates({ generator: 'create-api', to: 'templates', cwd: dir }, out);
    expect(files).toEqual(listTemplates('create-api'));
    for (const f of files) {
      expect(readFileSync(path.join(dir, 'templates/create-api', f), 'utf8')).toBe(readFileSync(path.join(BUNDLED_TEMPLATES, 'create-api', f), 'utf8'));
    }
    expect(() => ejectTemplates({ generator: 'create-api', to: 'templates', cwd: dir }, out)).toThrow(BackdevError);
  });
});
