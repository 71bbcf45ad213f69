/**
 * `backdev templates eject <generator>`: copies the bundled templates of a generator into the user's
 * template folder, with the README that documents the template context. Later runs use any file found
 * there instead of the bundled one with the same relative path. The copies are written by apply, like every
 * other change: all or nothing.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { BackdevError } from '../../generators/core/errors.js';
import { applyPlan } from '../../generators/core/plan/apply.js';
import type { Plan } from '../../generators/core/plan/types.js';
import { BUNDLED_TEMPLATES, listTemplates } from '../../generators/core/render/templates.js';
import type { Output } from '../../generators/core/report.js';
import { GENERATORS_WITH_TEMPLATES } from './generators.js';

export { GENERATORS_WITH_TEMPLATES };

export interface EjectOptions {
  generator: string;
  to: string;
  force?: boolean | undefined;
  cwd?: string | undefined;
}

export function ejectTemplates(options: EjectOptions, output: Output): string[] {
  if (!GENERATORS_WITH_TEMPLATES.includes(options.generator)) {
    throw new BackdevError('OPTION_INVALID', `no templates for "${options.generator}" (choose one of: ${GENERATORS_WITH_TEMPLATES.join(', ')})`);
  }
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const root = path.resolve(cwd, options.to);
  const dest = path.join(root, options.generator);
  const files = listTemplates(options.generator);
  const clashes = files.filter((f) => existsSync(path.join(dest, f)));
  if (clashes.length > 0 && !options.force) {
    throw new BackdevError('OUTPUT_CONFLICT', `templates already ejected to ${dest}; nothing was copied (--force overwrites)`, {
      details: clashes,
    });
  }
  // The copies are the user's from now on: written like a spec edit, never recorded in a manifest.
  const plan: Plan = {
    generator: 'templates',
    files: files.map((f) => ({ path: `${options.generator}/${f}`, ownership: 'user-edit', content: readFileSync(path.join(BUNDLED_TEMPLATES, options.generator, f), 'utf8') })),
    warnings: [],
  };
  applyPlan(plan, { root });
  output.out(`templates: copied ${files.length} ${options.generator} templates to ${path.relative(cwd, dest) || '.'}`);
  output.out(`  set "templates": ${JSON.stringify(options.to)} in backdev.config.json (or pass --templates) so runs use them;`);
  output.out(`  delete any file you did not change, so it keeps following backdev's version.`);
  return files;
}
