/**
 * Rewrites examples/petstore from the example spec, exactly as `backdev init` makes a project (with the
 * dependency on backdev pointing at this checkout). test/e2e/example.test.ts fails when the committed copy
 * differs from what this produces.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { consoleOutput } from '../generators/core/report.js';
import { runInit } from '../generators/index.js';

export const EXAMPLE_DIR = path.resolve(fileURLToPath(new URL('../examples/petstore', import.meta.url)));
/** The example sits two folders below the repo root. */
export const EXAMPLE_BACKDEV_VERSION = 'file:../..';

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const entry of ['src', 'test', '.backdev', 'package.json', 'tsconfig.json', 'backdev.config.json', 'README.md', '.gitignore', '.npmrc', 'openapi.yaml']) {
    rmSync(path.join(EXAMPLE_DIR, entry), { recursive: true, force: true });
  }
  await runInit({ dir: EXAMPLE_DIR, force: true, backdevVersion: EXAMPLE_BACKDEV_VERSION }, consoleOutput);
}
