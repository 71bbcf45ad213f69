/**
 * A table keeps its name: when backdev's naming of a model changes (a better plural), a model that already
 * has a table keeps that table, and the next design-database plans no rename, drop or create for it.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DB_SNAPSHOT_PATH } from '../../generators/core/db/drift.js';
import { memoryOutput } from '../../generators/core/report.js';
import { runDesignDatabase, runInit } from '../../generators/index.js';
import { cleanup, tempDir } from '../helpers.js';

let dir: string;
const MODELS = `    Hero:
      type: object
      x-backdev-table: true
      required: [name]
      properties:
        name: { type: string, 'x-backdev-unique': true }
    Quest:
      type: object
      x-backdev-table: true
      required: [hero]
      properties:
        hero: { $ref: '#/components/schemas/Hero' }
`;

beforeAll(async () => {
  dir = path.join(tempDir('table-names'), 'project');
  await runInit({ dir, empty: true }, memoryOutput());
  const specFile = path.join(dir, 'openapi.yaml');
  writeFileSync(specFile, `${readFileSync(specFile, 'utf8')}components:\n  schemas:\n${MODELS}`);
}, 60_000);
afterAll(() => cleanup(path.dirname(dir)));

it('a model designed under an older plural keeps its table, its constraints and its foreign keys', async () => {
  const first = await runDesignDatabase({ out: dir }, memoryOutput());
  expect(first.details.migration).toMatch(/0001_/);
  const snapshotFile = path.join(dir, DB_SNAPSHOT_PATH);
  const snapshot = readFileSync(snapshotFile, 'utf8');
  expect(snapshot).toContain('"heroes"');
  // As an older backdev named it: every name derived from the table says "heros".
  writeFileSync(snapshotFile, snapshot.replaceAll('heroes', 'heros'));
  const out = memoryOutput();
  const again = await runDesignDatabase({ out: dir, force: true }, out);
  expect(out.stdout.join('\n')).toContain('the models match the last design; no migration');
  expect(again.details.migration).toBeNull();
  expect(readdirSync(path.join(dir, 'db/migrations'))).toHaveLength(1);
  expect(readFileSync(snapshotFile, 'utf8')).toContain('"heros"');
  expect(readFileSync(snapshotFile, 'utf8')).not.toContain('"heroes"');
});
