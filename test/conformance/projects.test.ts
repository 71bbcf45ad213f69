/**
 * Generated servers obey their spec: seeded, schema-derived valid, edge and invalid requests for every
 * operation, over real HTTP, against (a) the example pet store project (its stubs replaced by handlers that
 * answer schema-valid samples) and (b) a CRUD project with two related resources and its real handlers, on
 * PGlite and on PostgreSQL. No 5xx, every invalid request a 4xx, every response as the spec declares it.
 * `npm run conformance` is the long version (≥ 50,000 requests, plus real specs).
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  crudProject,
  initProject,
  migrate,
  projectsDir,
  projectSpec,
  startProjectServer,
  throwawayDatabase,
} from '../../scripts/lib/conformance/project.js';
import { judgeable } from '../../scripts/lib/conformance/handlers.js';
import { failureTable, runConformance, type RunResult } from '../../scripts/lib/conformance/runner.js';
import { specModel } from '../../scripts/lib/conformance/spec.js';
import { cleanup } from '../helpers.js';

const SEED = 20_260_701;
const parent = path.join(projectsDir('tests'), `conformance-${process.pid}`);
const example = path.join(parent, 'petstore');
const shop = path.join(parent, 'shop');
afterAll(() => cleanup(parent));

beforeAll(async () => {
  await initProject(example);
  await crudProject(shop);
}, 240_000);

async function conformance(target: string, dir: string, requests: number, databaseUrl?: string): Promise<RunResult> {
  const server = await startProjectServer(dir, { seed: SEED, databaseUrl });
  try {
    const model = specModel(projectSpec(dir));
    const { operations, excluded } = judgeable(model);
    expect(excluded, 'operations the run cannot judge').toEqual([]);
    return await runConformance({ target, baseUrl: server.url, model: { ...model, operations }, requests, seed: SEED, concurrency: 6 });
  } finally {
    await server.stop();
  }
}

function expectConformant(result: RunResult, requests: number): void {
  const table = `\n${failureTable(result.failures, 25)}\nby category: ${JSON.stringify(result.byCategory)}`;
  expect(result.requests).toBe(requests);
  expect(result.skipped, 'operations with no possible request').toEqual([]);
  expect(result.byKind.invalid).toBeGreaterThan(requests / 5);
  expect(result.byKind.edge).toBeGreaterThan(requests / 10);
  expect(result.fiveXX, `5xx answers${table}`).toBe(0);
  expect(result.byCategory['invalid accepted'] ?? 0, `invalid requests not answered 4xx${table}`).toBe(0);
  expect(result.violations, `spec violations${table}`).toBe(0);
}

describe('conformance of generated servers to their spec', () => {
  it('the example project (pet store), handlers answering schema-valid samples', async () => {
    const result = await conformance('petstore', example, 1400);
    expectConformant(result, 1400);
  }, 120_000);

  it('a CRUD project with two related resources, on PGlite', async () => {
    await migrate(shop, undefined);
    const result = await conformance('crud/pglite', shop, 800);
    expectConformant(result, 800);
    // The resources were really exercised: rows created, found, updated and deleted.
    for (const status of ['200', '201', '204']) expect(result.byStatus[status] ?? 0).toBeGreaterThan(20);
  }, 150_000);

  it('the same CRUD project on PostgreSQL', async () => {
    // A server that is down fails here, in CI and locally alike.
    const db = await throwawayDatabase(process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test', 'backdev_conformance');
    try {
      await migrate(shop, db.url);
      const result = await conformance('crud/postgres', shop, 800, db.url);
      expectConformant(result, 800);
      for (const status of ['200', '201', '204']) expect(result.byStatus[status] ?? 0).toBeGreaterThan(10);
    } finally {
      await db.drop();
    }
  }, 150_000);
});
