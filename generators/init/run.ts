/**
 * `backdev init <dir>`: a runnable project — package.json, tsconfig, backdev.config.json, the spec (the
 * example pet store when none is given), src/app.ts and src/server.ts (yours), and everything create-api
 * generates — written as one all-or-nothing change.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { CONFIG_FILE, DEFAULT_OUTPUT } from '../core/config.js';
import { BackdevError } from '../core/errors.js';
import { buildApi } from '../core/ir/build.js';
import { kebabCase } from '../core/ir/names.js';
import { applyPlan, projectFiles, type ApplyReport } from '../core/plan/apply.js';
import type { FilePlan, Plan } from '../core/plan/types.js';
import { BUNDLED_TEMPLATES, loadTemplates } from '../core/render/templates.js';
import { formatTypeScript } from '../core/render/format.js';
import { printSummary, printWarnings, type Output } from '../core/report.js';
import { loadSpec, readSpecText } from '../core/spec/load.js';
import { planCreateApi } from '../create-api/plan.js';

export const GENERATOR = 'init';
const TOOLKIT_ROOT = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const EXAMPLE_SPEC = path.join(BUNDLED_TEMPLATES, GENERATOR, 'openapi.yaml');

export interface InitOptions {
  dir: string;
  spec?: string | undefined;
  /** Start from an empty API (no paths) instead of the example spec; not with `spec`. */
  empty?: boolean | undefined;
  templates?: string | undefined;
  force?: boolean | undefined;
  dryRun?: boolean | undefined;
  verbose?: boolean | undefined;
  /** How the project depends on backdev: a version range, or `file:<path>` (default: this checkout). */
  backdevVersion?: string | undefined;
  cwd?: string | undefined;
}

interface Dep {
  name: string;
  version: string;
}

function toolkitPackage(): {
  version: string;
  devDependencies: Record<string, string>;
  dependencies: Record<string, string>;
  overrides?: Record<string, unknown>;
} {
  return JSON.parse(readFileSync(path.join(TOOLKIT_ROOT, 'package.json'), 'utf8'));
}

/** npm package name from a folder name. */
function packageName(dir: string): string {
  const name = kebabCase(path.basename(dir)).slice(0, 200);
  return name === '' ? 'api' : name;
}

/** The spec of `init --empty`: an OpenAPI 3.1 document with no paths, to grow with `create-api --endpoint`. */
export function emptySpec(title: string): string {
  return stringify({ openapi: '3.1.0', info: { title, version: '0.1.0' }, paths: {} });
}

export async function runInit(options: InitOptions, output: Output): Promise<{ report: ApplyReport; root: string }> {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const root = path.resolve(cwd, options.dir);
  if (existsSync(root) && readdirSync(root).length > 0 && !options.force) {
    throw new BackdevError('INIT_TARGET_NOT_EMPTY', `${root} is not empty; choose a new folder (or --force to write into it)`);
  }
  if (options.empty && options.spec) throw new BackdevError('OPTION_INVALID', '--empty and --spec do not go together: --empty starts from a spec with no paths');
  let specFile: string;
  let specText: string;
  if (options.empty) {
    specFile = 'openapi.yaml';
    specText = emptySpec(packageName(root));
  } else {
    const specSource = options.spec ? (/^https?:\/\//i.test(options.spec) ? options.spec : path.resolve(cwd, options.spec)) : EXAMPLE_SPEC;
    const spec = await loadSpec(specSource);
    // A single-file spec is copied as written; a multi-file or converted one is stored bundled.
    const ext = /\.json$/i.test(specSource) ? '.json' : '.yaml';
    specFile = `openapi${spec.pointersMatchRoot ? ext : '.yaml'}`;
    specText = spec.pointersMatchRoot ? await readSpecText(specSource) : stringify(spec.document, { aliasDuplicateObjects: false });
    if (!spec.pointersMatchRoot) {
      output.err(`init: ${path.basename(specSource)} was bundled into one file, ${specFile} (the project's spec from now on)`);
    }
  }

  const pkg = toolkitPackage();
  const dep = (name: string): Dep => {
    const version = pkg.dependencies[name] ?? pkg.devDependencies[name];
    if (!version) throw new Error(`bug: backdev's package.json has no version for ${name}`);
    return { name, version: name === 'typescript-7' ? version : version };
  };
  const relToolkit = path.relative(root, TOOLKIT_ROOT).split(path.sep).join('/') || '.';
  const backdevVersion = options.backdevVersion ?? `file:${relToolkit}`;
  const view = {
    name: packageName(root),
    spec: specFile,
    // No operations yet, so no generated tests: `npm test` passes until the first ones arrive.
    empty: options.empty === true,
    dependencies: [
      { name: 'backdev', version: backdevVersion },
      dep('@electric-sql/pglite'),
      dep('@fastify/rate-limit'),
      dep('@fastify/swagger'),
      dep('@fastify/swagger-ui'),
      dep('fastify'),
      dep('kysely'),
      dep('pg'),
      dep('tsx'),
    ],
    devDependencies: [
      dep('@types/node'),
      dep('@types/pg'),
      dep('pino-pretty'),
      { name: 'typescript', version: pkg.devDependencies['typescript-7']!.replace(/^npm:typescript@/, '') },
      dep('vitest'),
    ],
    // The same pins as backdev's own: transitive dependencies that would ask for a newer Node than ours.
    overridesJson: JSON.stringify(pkg.overrides ?? {}, null, 2).replace(/\n/g, '\n  '),
  };
  const templates = loadTemplates(GENERATOR, options.templates);
  const files: FilePlan[] = [
    { path: 'package.json', ownership: 'scaffold', content: templates.render('package.json.hbs', view) },
    { path: 'tsconfig.json', ownership: 'scaffold', content: templates.render('tsconfig.json.hbs', view) },
    { path: CONFIG_FILE, ownership: 'scaffold', content: templates.render('backdev.config.json.hbs', view) },
    { path: '.gitignore', ownership: 'scaffold', content: templates.render('gitignore.hbs', view) },
    { path: 'README.md', ownership: 'scaffold', content: templates.render('README.md.hbs', view) },
    { path: 'src/app.ts', ownership: 'scaffold', content: await formatTypeScript(templates.render('app.ts.hbs', view), 'src/app.ts') },
    { path: 'src/server.ts', ownership: 'scaffold', content: await formatTypeScript(templates.render('server.ts.hbs', view), 'src/server.ts') },
    { path: 'vitest.config.ts', ownership: 'scaffold', content: await formatTypeScript(templates.render('vitest.config.ts.hbs', view), 'vitest.config.ts') },
    { path: specFile, ownership: 'scaffold', content: specText },
  ];
  if (backdevVersion.startsWith('file:')) {
    // npm links a `file:` folder by default, and a linked backdev resolves kysely and fastify from its own
    // folder: two copies of their types would meet in the project. Installed as a copy, its peer
    // dependencies resolve to the project's.
    files.push({ path: '.npmrc', ownership: 'scaffold', content: '; backdev is a file: dependency: install it as a copy, so its peer dependencies are this project\'s\ninstall-links=true\n' });
  }
  const initPlan: Plan = { generator: GENERATOR, files, warnings: [] };
  // Generated code comes from the copy that will live in the project, so paths in it are the project's.
  const projectSpec = await loadSpec(path.join(root, specFile), { rootText: specText });
  const apiPlan = await planCreateApi(projectSpec, buildApi(projectSpec), projectFiles(root), {
    dirs: DEFAULT_OUTPUT,
    templates: options.templates,
  });
  const report = applyPlan([initPlan, apiPlan], { root, force: options.force, dryRun: options.dryRun });
  printWarnings(report.warnings, output, options.verbose);
  if (options.dryRun && report.diff) output.out(report.diff.trimEnd());
  printSummary(GENERATOR, report, output, options.dryRun ? 'dry-run' : 'write');
  if (!options.dryRun) {
    const rel = path.relative(cwd, root) || '.';
    output.out(`\nNext:\n  cd ${rel}\n  npm install\n  npm run dev     # http://127.0.0.1:3000/docs`);
  }
  return { report, root };
}
