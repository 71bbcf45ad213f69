/**
 * `backdev templates eject <generator>`: copies the bundled templates of a generator into the user's
 * template folder, with the README that documents the template context. Later runs use any file found
 * there instead of the bundled one with the same relative path.
 */
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { BackdevError } from '../../generators/core/errors.js';
import { BUNDLED_TEMPLATES, listTemplates } from '../../generators/core/render/templates.js';
import type { Output } from '../../generators/core/report.js';

export const GENERATORS_WITH_TEMPLATES = ['add-auth', 'create-api', 'design-database', 'init'];

export interface EjectOptions {
  generator: string;
  to: string;
  force?: boolean;
  cwd?: string;
}

export function ejectTemplates(options: EjectOptions, output: Output): string[] {
  if (!GENERATORS_WITH_TEMPLATES.includes(options.generator)) {
    throw new BackdevError('OPTION_INVALID', `no templates for "${options.generator}" (choose one of: ${GENERATORS_WITH_TEMPLATES.join(', ')})`);
  }
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const dest = path.resolve(cwd, options.to, options.generator);
  const files = listTemplates(options.generator);
  const clashes = files.filter((f) => existsSync(path.join(dest, f)));
  if (clashes.length > 0 && !options.force) {
    throw new BackdevError('OUTPUT_CONFLICT', `templates already ejected to ${dest}; nothing was copied (--force overwrites)`, {
      details: clashes,
    });
  }
  for (const f of files) {
    const target = path.join(dest, f);
    mkdirSync(path.dirname(target), { recursive: true });
    copyFileSync(path.join(BUNDLED_TEMPLATES, options.generator, f), target);
  }
  output.out(`templates: copied ${files.length} ${options.generator} templates to ${path.relative(cwd, dest) || '.'}`);
  output.out(`  set "templates": ${JSON.stringify(options.to)} in backdev.config.json (or pass --templates) so runs use them;`);
  output.out(`  delete any file you did not change, so it keeps following backdev's version.`);
  return files;
}
