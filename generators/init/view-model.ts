/** init's view: the project's name, spec file and dependencies, for templates/init. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { kebabCase } from '../core/ir/names.js';
import { PACKAGE_ROOT } from '../core/package-root.js';

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
  return JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8'));
}

/** npm package name from a folder name. */
export function packageName(dir: string): string {
  const name = kebabCase(path.basename(dir)).slice(0, 200);
  return name === '' ? 'api' : name;
}

/** `backdev`: the version spec of backdev in the project's package.json (see ./dependencies.ts). */
export function buildInitView(root: string, specFile: string, empty: boolean, backdev: string): InitView {
  const pkg = toolkitPackage();
  const dep = (name: string): Dep => {
    const version = pkg.dependencies[name] ?? pkg.devDependencies[name];
    if (!version) throw new Error(`bug: backdev's package.json has no version for ${name}`);
    return { name, version };
  };
  return {
    name: packageName(root),
    spec: specFile,
    empty,
    dependencies: [
      { name: 'backdev', version: backdev },
      dep('@electric-sql/pglite'),
      dep('@fastify/rate-limit'),
      dep('@fastify/swagger'),
      dep('@fastify/swagger-ui'),
      dep('@opentelemetry/api'),
      dep('fastify'),
      dep('kysely'),
      dep('pg'),
    ],
    devDependencies: [
      dep('@types/node'),
      dep('@types/pg'),
      dep('pino-pretty'),
      dep('tsx'),
      { name: 'typescript', version: pkg.devDependencies['typescript-7']!.replace(/^npm:typescript@/, '') },
      dep('vitest'),
    ],
    overridesJson: JSON.stringify(pkg.overrides ?? {}, null, 2).replace(/\n/g, '\n  '),
  };
}
