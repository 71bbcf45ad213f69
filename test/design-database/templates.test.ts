/** An ejected and edited design-database template is what the next design-database run uses. */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ejectTemplates } from '../../commands/templates/eject.js';
import { memoryOutput } from '../../generators/core/report.js';
import { runDesignDatabase, runInit } from '../../generators/index.js';
import { cleanup, tempDir } from '../helpers.js';

let dir: string;
beforeAll(async () => {
  dir = path.join(tempDir('design-templates'), 'project');
  await runInit({ dir }, memoryOutput());
}, 60_000);
afterAll(() => cleanup(path.dirname(dir)));

/** A first line no bundled template has, naming the folder it was written in. */
const mark = (folder: string) => `// Edited in ${folder}: the project keeps its own header.`;

it.each([
  ['from backdev.config.json', true],
  ['from --templates', false],
])('uses the edited template %s', async (_, viaConfig) => {
  const folder = viaConfig ? 'templates' : 'my-templates';
  ejectTemplates({ generator: 'design-database', to: folder, cwd: dir, force: true }, memoryOutput());
  const template = path.join(dir, folder, 'design-database', 'schema.gen.ts.hbs');
  writeFileSync(template, `${mark(folder)}\n${readFileSync(template, 'utf8')}`);
  if (viaConfig) {
    const configFile = path.join(dir, 'backdev.config.json');
    const config = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
    writeFileSync(configFile, JSON.stringify({ ...config, templates: folder }, null, 2));
  }
  const out = memoryOutput();
  const result = await runDesignDatabase(
    { out: dir, models: ['Pet'], ...(viaConfig ? {} : { templates: folder }), cwd: dir, force: true },
    out,
  );
  expect(result.exitCode).toBe(0);
  expect(readFileSync(path.join(dir, 'db/schema.gen.ts'), 'utf8').split('\n')[0]).toBe(mark(folder));
});
