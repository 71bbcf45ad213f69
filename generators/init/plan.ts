/** init: the project's own files (package.json, tsconfig, config, README, src/app.ts, src/server.ts, …). */
import { CONFIG_FILE } from '../core/config.js';
import { formatTypeScript } from '../core/render/format.js';
import { loadTemplates } from '../core/render/templates.js';
import type { FilePlan, Plan } from '../core/plan/types.js';
import type { InitView } from './view-model.js';

export const GENERATOR = 'init';

export async function planInit(view: InitView, specText: string, templateDir: string | undefined): Promise<Plan> {
  const templates = loadTemplates(GENERATOR, templateDir);
  const ts = (name: string, file: string) => formatTypeScript(templates.render(name, view), file);
  const files: FilePlan[] = [
    { path: 'package.json', ownership: 'scaffold', content: templates.render('package.json.hbs', view) },
    { path: 'tsconfig.json', ownership: 'scaffold', content: templates.render('tsconfig.json.hbs', view) },
    { path: 'tsconfig.build.json', ownership: 'scaffold', content: templates.render('tsconfig.build.json.hbs', view) },
    { path: 'Dockerfile', ownership: 'scaffold', content: templates.render('Dockerfile.hbs', view) },
    { path: '.dockerignore', ownership: 'scaffold', content: templates.render('dockerignore.hbs', view) },
    { path: CONFIG_FILE, ownership: 'scaffold', content: templates.render('backdev.config.json.hbs', view) },
    { path: '.gitignore', ownership: 'scaffold', content: templates.render('gitignore.hbs', view) },
    { path: 'README.md', ownership: 'scaffold', content: templates.render('README.md.hbs', view) },
    { path: 'src/app.ts', ownership: 'scaffold', content: await ts('app.ts.hbs', 'src/app.ts') },
    { path: 'src/server.ts', ownership: 'scaffold', content: await ts('server.ts.hbs', 'src/server.ts') },
    { path: 'vitest.config.ts', ownership: 'scaffold', content: await ts('vitest.config.ts.hbs', 'vitest.config.ts') },
    { path: view.spec, ownership: 'scaffold', content: specText },
  ];
  const backdev = view.dependencies.find((d) => d.name === 'backdev');
  if (backdev?.version.startsWith('file:')) {
    // npm links a `file:` folder by default, and a linked backdev resolves kysely and fastify from its own
    // folder: two copies of their types would meet in the project. Installed as a copy, its peer
    // dependencies resolve to the project's.
    files.push({ path: '.npmrc', ownership: 'scaffold', content: "; backdev is a file: dependency: install it as a copy, so its peer dependencies are this project's\ninstall-links=true\n" });
  }
  return { generator: GENERATOR, files, warnings: [] };
}
