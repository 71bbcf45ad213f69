/**
 * `backdev init <dir>`: a runnable project — package.json, tsconfig, backdev.config.json, the spec (the
 * example pet store when none is given), src/app.ts and src/server.ts (yours), and everything create-api
 * generates — written as one all-or-nothing change.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { DEFAULT_OUTPUT } from '../core/config.js';
import { BackdevError } from '../core/errors.js';
import type { Generator, PlannedRun, WriteOptions } from '../core/generator/types.js';
import { optional } from '../core/generator/prompts.js';
import { buildApi } from '../core/ir/build.js';
import { BUNDLED_TEMPLATES } from '../core/render/templates.js';
import { loadSpec, readSpecText } from '../core/spec/load.js';
import { backdevDependency, cloneNote } from './dependencies.js';
import { GENERATOR, planInit } from './plan.js';
import { buildInitView, packageName } from './view-model.js';

export const EXAMPLE_SPEC = path.join(BUNDLED_TEMPLATES, GENERATOR, 'openapi.yaml');

export interface InitOptions extends WriteOptions {
  dir: string;
  spec?: string | undefined;
  /** Start from an empty API (no paths) instead of the example spec; not with `spec`. */
  empty?: boolean | undefined;
  templates?: string | undefined;
  /** How the project depends on backdev (`--backdev`): see ./dependencies.ts (default: `^<this version>`). */
  backdevVersion?: string | undefined;
}

/** The spec of `init --empty`: an OpenAPI 3.1 document with no paths, to grow with `create-api --endpoint`. */
export function emptySpec(title: string): string {
  return stringify({ openapi: '3.1.0', info: { title, version: '0.1.0' }, paths: {} });
}

const isUrl = (p: string) => /^https?:\/\//i.test(p);

export const init: Generator<InitOptions> = {
  name: GENERATOR,
  outOfDate: 'the folder differs from a new project; run `backdev init` to create it',
  target: (options, cwd) => ({
    root: path.resolve(cwd, options.dir),
    dirs: DEFAULT_OUTPUT,
    spec: options.spec ? (isUrl(options.spec) ? options.spec : path.resolve(cwd, options.spec)) : undefined,
    templates: options.templates ? path.resolve(cwd, options.templates) : undefined,
  }),
  validate(options) {
    if (options.empty && options.spec) throw new BackdevError('OPTION_INVALID', '--empty and --spec do not go together: --empty starts from a spec with no paths');
  },
  interactive: {
    description: 'Create a runnable Fastify project from an OpenAPI spec',
    questions: () => [
      { type: 'input', name: 'dir', message: 'Project folder', validate: (v) => v.trim() !== '' || 'a folder is required' },
      { type: 'input', name: 'spec', message: 'OpenAPI spec file or URL (empty: the example pet store)', default: '' },
    ],
    options: (a) => ({ dir: String(a.dir), spec: optional(a.spec) }),
  },
  async plan({ target, files, planners, output }, options): Promise<PlannedRun> {
    const { root } = target;
    if (existsSync(root) && readdirSync(root).length > 0 && !options.force) {
      throw new BackdevError('INIT_TARGET_NOT_EMPTY', `${root} is not empty; choose a new folder (or --force to write into it)`);
    }
    let specFile: string;
    let specText: string;
    if (options.empty) {
      specFile = 'openapi.yaml';
      specText = emptySpec(packageName(root));
    } else {
      const specSource = target.spec ?? EXAMPLE_SPEC;
      const spec = await loadSpec(specSource);
      // A single-file spec is copied as written; a multi-file or converted one is stored bundled.
      const ext = /\.json$/i.test(specSource) ? '.json' : '.yaml';
      specFile = `openapi${spec.pointersMatchRoot ? ext : '.yaml'}`;
      specText = spec.pointersMatchRoot ? await readSpecText(specSource) : stringify(spec.document, { aliasDuplicateObjects: false });
      if (!spec.pointersMatchRoot) {
        output.err(`init: ${path.basename(specSource)} was bundled into one file, ${specFile} (the project's spec from now on)`);
      }
    }
    const note = cloneNote(options.backdevVersion);
    if (note) output.err(note);
    const backdev = backdevDependency(options.backdevVersion, root, path.resolve(options.cwd ?? process.cwd()));
    const view = buildInitView(root, specFile, options.empty === true, backdev);
    const initPlan = await planInit(view, specText, target.templates);
    // Generated code comes from the copy that will live in the project, so paths in it are the project's.
    const projectSpec = await loadSpec(path.join(root, specFile), { rootText: specText });
    const apiPlan = await planners.api(projectSpec, buildApi(projectSpec), files, { dirs: target.dirs, templates: target.templates });
    const cwd = path.resolve(options.cwd ?? process.cwd());
    return {
      plans: [initPlan, apiPlan],
      next: () => [`\nNext:\n  cd ${path.relative(cwd, root) || '.'}\n  npm install\n  npm run dev     # http://127.0.0.1:3000/docs`],
      details: { spec: specFile },
    };
  },
};
