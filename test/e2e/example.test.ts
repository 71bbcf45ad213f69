/** The committed example project is exactly what backdev generates today (like a snapshot, but a runnable one). */
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { memoryOutput } from '../../generators/core/report.js';
import { runInit } from '../../generators/index.js';
import { EXAMPLE_BACKDEV_VERSION, EXAMPLE_DIR } from '../../scripts/regenerate-example.js';
import { cleanup, snapshotTree, tempDir } from '../helpers.js';

const parent = tempDir('example');
afterAll(() => cleanup(parent));

it('examples/petstore matches a fresh generation (run `npm run example:regenerate` after changing templates)', async () => {
  const dir = path.join(parent, 'petstore');
  await runInit({ dir, backdevVersion: EXAMPLE_BACKDEV_VERSION }, memoryOutput());
  const committed = snapshotTree(EXAMPLE_DIR);
  for (const local of Object.keys(committed)) if (/^(package-lock\.json|\.data\/)/.test(local)) delete committed[local];
  expect(snapshotTree(dir)).toEqual(committed);
});
