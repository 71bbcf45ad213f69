/** init's view: the project's name, spec file and dependencies, for templates/init. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { kebabCase } from '../core/ir/names.js';

export const TOOLKIT_ROOT = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));

export interface Dep {
  name: string;
  version: string;
}

export interface InitView {
  name: string;
  spec: string;
  /** No operations yet, so no generated tests: `npm test` passes until the first ones arrive. */
  empty: boolean;
  dependencies: Dep[];
  devDependencies: Dep[];
  /** backdev's own overrides (transitive dependencies that would ask for a newer Node than ours), as JSON. */
  overridesJson: string;
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
export function packageName(dir: string): string {
  const name = kebabCase(path.basename(dir)).slice(0, 200);
  return name === '' ? 'api' : name;
}

export function buildInitView(root: string, specFile: string, empty: boolean, backdevVersion: string | undefined): InitView {
  const pkg = toolkitPackage();
  const dep = (name: string): Dep => {
    const version = pkg.dependencies[name] ?? pkg.devDependencies[name];
    if (!version) throw new Error(`bug: backdev's package.json has no version for ${name}`);
    return { name, version };
  };
  const relToolkit = path.relative(root, TOOLKIT_ROOT).split(path.sep).join('/') || '.';
  return {
    name: packageName(root),
    spec: specFile,
    empty,
    dependencies: [
      { name: 'backdev', version: backdevVersion ?? `file:${relToolkit}` },
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
    overridesJson: JSON.stringify(pkg.overrides ?? {}, null, 2).replace(/\n/g, '\n  '),
  };
}
