/**
 * `npm run bench`: every benchmark, one after the other, then BENCHMARKS.md.
 *
 *   npm run bench                       # all of them (30-60 minutes on a 2-core machine)
 *   npm run bench -- --only server,db   # some of them
 *   npm run bench -- --out /tmp/B.md    # write the report elsewhere
 *
 * Each benchmark is its own script (`npm run bench:<name>`), measuring backdev against a baseline in the
 * same run (interleaved rounds, medians); this one runs them as child processes, passes their output
 * through, and collects the lines that start with `bench `. The report gives the machine, the versions, the
 * date, a table of the headline figures (the lines of the form `bench <name>: <ratio>x <baseline>`), and
 * under each benchmark every line it printed, with the command that reproduces it. A benchmark that fails
 * is reported as failed (with the end of its output) and the exit status is 1; the others still run.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { formatDuration, REPO_ROOT } from './lib/paths.js';

interface Bench {
  name: string;
  /** What it measures, one line for the report. */
  what: string;
  /** The npm script that runs it. */
  script: string;
}

const BENCHES: Bench[] = [
  { name: 'generate', script: 'bench:generate', what: "create-api on GitHub's and Stripe's specs against openapi-typescript (types only) and @hey-api/openapi-ts; a no-change rerun" },
  { name: 'server', script: 'bench:server', what: 'a generated server (compiled) against the same routes hand-written in Fastify, fastify-openapi-glue, and Express with express-openapi-validator' },
  { name: 'db', script: 'bench:db', what: "design-database --all on Stripe's spec: planning, and applying the migration on PostgreSQL and PGlite" },
  { name: 'broadcast', script: 'bench:broadcast', what: 'the broadcast hub against a naive ws loop and socket.io, 1,000 and 5,000 clients; slow consumers' },
  { name: 'sync', script: 'bench:sync', what: 'a pull sync of a paginated API into PostgreSQL against a naive page-by-page insert loop' },
  { name: 'tracing', script: 'bench:tracing', what: 'a generated server with tracing on against the same server with TRACING=off' },
];

/** `bench <name>: <ratio>x <baseline>`: a headline figure. */
const HEADLINE = /^bench ([\w.-]+): ([\d.]+)x (.+)$/;

interface Outcome {
  bench: Bench;
  ok: boolean;
  ms: number;
  lines: string[];
  tail: string;
}

function runBench(bench: Bench): Promise<Outcome> {
  const started = performance.now();
  process.stderr.write(`\n== npm run ${bench.script}\n`);
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', '--silent', bench.script], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      process.stderr.write(d);
    });
    child.stderr.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-20_000);
      process.stderr.write(d);
    });
    const finish = (ok: boolean) => {
      const lines = out.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('bench '));
      const tail = (err.trim() || out.trim()).split('\n').slice(-8).join('\n');
      resolve({ bench, ok, ms: performance.now() - started, lines, tail });
    };
    child.on('error', () => finish(false));
    child.on('exit', (code) => finish(code === 0));
  });
}

function version(pkg: string): string {
  try {
    return (JSON.parse(readFileSync(path.join(REPO_ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

function machine(): string[] {
  const cpus = os.cpus();
  let npm = '?';
  try {
    npm = execFileSync('npm', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    // npm not on PATH: left as '?'
  }
  const own = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  let commit = '?';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
  } catch {
    // not a git checkout
  }
  return [
    `- Machine: ${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ${os.type()} ${os.release()}; load average at the start ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`,
    `- Node.js ${process.version}, npm ${npm}; backdev ${own.version} (${commit})`,
    `- Versions: ${['openapi-typescript', '@hey-api/openapi-ts', 'fastify', 'fastify-openapi-glue', 'express', 'express-openapi-validator', 'kysely', 'pg', '@electric-sql/pglite', 'ws', 'socket.io', '@opentelemetry/sdk-trace-base'].map((p) => `${p} ${version(p)}`).join(', ')}`,
  ];
}

function report(outcomes: Outcome[], startedAt: Date, header: string[]): string {
  const out: string[] = [
    '# Benchmarks',
    '',
    `Written by \`npm run bench\` on ${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC. Every figure compares backdev with a baseline measured in the same run (interleaved rounds, medians), so the ratios hold better across machines than the absolute numbers, which depend on this machine and on what else it was doing.`,
    '',
    ...header,
    '',
    '## Headline figures',
    '',
    'A ratio reads as "backdev is this many times the baseline": for times and memory lower is better, for throughput higher is better (each benchmark\'s own lines below say which it is).',
    '',
    '| figure | ratio | baseline | reproduce with |',
    '|---|---|---|---|',
  ];
  for (const o of outcomes) {
    for (const line of o.lines) {
      const m = HEADLINE.exec(line);
      if (m) out.push(`| ${m[1]} | ${m[2]}× | ${m[3]} | \`npm run ${o.bench.script}\` |`);
    }
  }
  for (const o of outcomes) {
    out.push('', `## ${o.bench.name}`, '', `${o.bench.what}. \`npm run ${o.bench.script}\` (${o.ok ? 'took' : 'FAILED after'} ${formatDuration(o.ms)}).`, '', '```');
    out.push(...(o.lines.length ? o.lines : ['(no bench lines)']));
    out.push('```');
    if (!o.ok) out.push('', 'End of its output:', '', '```', o.tail, '```');
  }
  return out.join('\n') + '\n';
}

const { values } = parseArgs({ options: { only: { type: 'string' }, out: { type: 'string' } } });
const only = values.only?.split(',').map((s) => s.trim());
const unknown = only?.filter((n) => !BENCHES.some((b) => b.name === n)) ?? [];
if (unknown.length) {
  console.error(`bench: no benchmark named ${unknown.join(', ')} (known: ${BENCHES.map((b) => b.name).join(', ')})`);
  process.exit(1);
}
const chosen = only ? BENCHES.filter((b) => only.includes(b.name)) : BENCHES;
// The benchmarks run backdev as installed (dist/): built from this checkout first, so a figure never
// describes an older build.
console.error('bench: npm run build');
execFileSync('npm', ['run', '--silent', 'build'], { cwd: REPO_ROOT, stdio: ['ignore', 2, 2] });
const startedAt = new Date();
const header = machine();
const outcomes: Outcome[] = [];
for (const bench of chosen) outcomes.push(await runBench(bench));
const file = path.resolve(values.out ?? path.join(REPO_ROOT, 'BENCHMARKS.md'));
writeFileSync(file, report(outcomes, startedAt, header));
for (const o of outcomes) for (const line of o.lines) if (HEADLINE.test(line)) console.log(line);
const failed = outcomes.filter((o) => !o.ok);
console.error(`\nbench: ${outcomes.length - failed.length} of ${outcomes.length} benchmarks ran${failed.length ? `; failed: ${failed.map((o) => o.bench.name).join(', ')}` : ''}; report in ${path.relative(process.cwd(), file) || file}`);
process.exitCode = failed.length ? 1 : 0;
