/**
 * `backdev trace summary | errors | show` on a trace file written by the test with known durations; the
 * counts and percentiles are computed again here, independently (nearest rank: the ⌈p/100 · n⌉-th smallest).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../generators/cli.js';
import { memoryOutput } from '../../generators/core/report.js';
import type { SpanRecord } from '../../runtime/tracing/constants.js';

const dir = mkdtempSync(path.join(tmpdir(), 'backdev-trace-cmd-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T0 = Date.UTC(2026, 10, 30, 12, 0, 0);
const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');

// A deterministic generator (LCG) for durations: no two runs differ, and nothing here knows the percentiles.
let seed = 12345;
const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;

const records: SpanRecord[] = [];
let spanCounter = 0;
function span(over: Partial<SpanRecord> & Pick<SpanRecord, 'traceId' | 'name' | 'startMs' | 'durationMs'>): SpanRecord {
  const r: SpanRecord = {
    spanId: hex(++spanCounter, 16),
    parentSpanId: null,
    kind: 'server',
    endMs: over.startMs + over.durationMs,
    status: 'unset',
    error: null,
    service: 'svc',
    attributes: {},
    ...over,
  };
  records.push(r);
  return r;
}

const plan = [
  { name: 'listPets', n: 137, failEvery: 0 },
  { name: 'getPet', n: 41, failEvery: 7 },
  { name: 'nightly-report', n: 3, failEvery: 0 },
];
let traceCounter = 0;
for (const { name, n, failEvery } of plan) {
  for (let i = 0; i < n; i++) {
    const traceId = hex(++traceCounter, 32);
    const startMs = T0 + traceCounter * 1000;
    const durationMs = Math.round(random() * 500_000) / 1000 + 1; // 1 .. 501 ms, microsecond steps
    const failed = failEvery > 0 && i % failEvery === 0;
    const root = span({
      traceId,
      name,
      kind: name === 'nightly-report' ? 'internal' : 'server',
      startMs,
      durationMs,
      status: failed ? 'error' : 'unset',
      error: failed ? `pet ${i} exploded` : null,
    });
    // A database span under each: never counted as an operation.
    span({
      traceId,
      parentSpanId: root.spanId,
      name: 'select pets',
      kind: 'client',
      startMs: startMs + 0.5,
      durationMs: durationMs / 4,
      status: failed ? 'error' : 'unset',
      error: failed ? 'relation "pets" does not exist' : null,
    });
  }
}
// A trace continued from another process: its root's parent is not in the file, it still is an operation.
const remoteParent = 'aaaaaaaaaaaaaaaa';
const continued = span({ traceId: 'f'.repeat(32), parentSpanId: remoteParent, name: 'getPet', startMs: T0 + 999_000, durationMs: 2 });
span({ traceId: continued.traceId, parentSpanId: continued.spanId, name: 'GET stock:8080', kind: 'client', startMs: T0 + 999_000.5, durationMs: 1.25, status: 'error', error: 'HTTP 503' });
span({ traceId: continued.traceId, parentSpanId: continued.spanId, name: 'select pets', kind: 'client', startMs: T0 + 999_000.2, durationMs: 0.25 });

const file = path.join(dir, 'traces.jsonl');
writeFileSync(file, records.map((r) => JSON.stringify(r)).join('\n') + '\n');

async function run(...args: string[]) {
  const output = memoryOutput();
  const code = await main(args, output);
  return { code, stdout: output.stdout.join('\n'), stderr: output.stderr.join('\n') };
}

/** Independent nearest-rank percentile. */
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil((p * sorted.length) / 100) - 1]!;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('backdev trace summary', () => {
  it('matches counts, error rates and nearest-rank percentiles computed independently', async () => {
    const { code, stdout } = await run('trace', 'summary', file, '--json');
    expect(code).toBe(0);
    const result = JSON.parse(stdout) as {
      spans: number;
      operations: { name: string; count: number; errors: number; errorRate: number; p50: number; p95: number; p99: number; slowest: { traceId: string; durationMs: number }[] }[];
    };
    expect(result.spans).toBe(records.length);
    for (const name of ['listPets', 'getPet', 'nightly-report']) {
      const roots = records.filter((r) => r.name === name);
      const durations = roots.map((r) => r.durationMs);
      const errors = roots.filter((r) => r.status === 'error').length;
      const got = result.operations.find((o) => o.name === name)!;
      expect(got).toMatchObject({ count: roots.length, errors, p50: percentile(durations, 50), p95: percentile(durations, 95), p99: percentile(durations, 99) });
      expect(got.errorRate).toBeCloseTo(errors / roots.length, 12);
      const max = Math.max(...durations);
      expect(got.slowest[0]).toEqual({ traceId: roots.find((r) => r.durationMs === max)!.traceId, durationMs: max });
      expect(got.slowest).toHaveLength(3);
    }
    // Known figures, as a guard against both sides agreeing on something wrong.
    expect(result.operations.map((o) => [o.name, o.count, o.errors])).toEqual([
      ['listPets', 137, 0],
      ['getPet', 42, 6],
      ['nightly-report', 3, 0],
    ]);
    // For 3 values nearest rank gives the 2nd smallest as p50 and the largest as p95 and p99.
    const nightly = records.filter((r) => r.name === 'nightly-report').map((r) => r.durationMs).sort((a, b) => a - b);
    expect(result.operations.find((o) => o.name === 'nightly-report')).toMatchObject({ p50: nightly[1], p95: nightly[2], p99: nightly[2] });
  });

  it('prints a table, and --since keeps only later operations', async () => {
    const text = await run('trace', 'summary', file);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/operation\s+count\s+errors\s+p50 ms\s+p95 ms\s+p99 ms\s+slowest traces/);
    expect(text.stdout).toMatch(/^getPet\s+42\s+14\.3%/m);
    // Since T0 + 169.5 s, as an ISO date: traces 170 and later (the last getPets, the nightly reports, the continued one).
    const since = new Date(T0 + 169_500).toISOString();
    const { stdout } = await run('trace', 'summary', file, '--json', '--since', since);
    const ops = (JSON.parse(stdout) as { operations: { name: string; count: number }[] }).operations;
    expect(ops.map((o) => [o.name, o.count])).toEqual([
      ['getPet', 41 - (169 - 137) + 1],
      ['nightly-report', 3],
    ]);
  });

  it('rejects a --since it cannot read', async () => {
    const { code, stderr } = await run('trace', 'summary', file, '--since', 'yesterday');
    expect(code).toBe(1);
    expect(stderr).toMatch(/--since takes a duration .*got "yesterday"/);
  });
});

describe('backdev trace errors', () => {
  it('lists failing operations with their messages, trace ids and failing calls', async () => {
    const { code, stdout } = await run('trace', 'errors', file);
    expect(code).toBe(0);
    const failing = records.filter((r) => r.name === 'getPet' && r.status === 'error');
    expect(failing).toHaveLength(6);
    expect(stdout).toContain(`${failing.length + 1} failing operations`);
    for (const f of failing) expect(stdout).toMatch(new RegExp(`${f.traceId}  ${escape(f.error!)}\\n\\s+in select pets: relation "pets" does not exist`));
    // The continued trace succeeded, but the upstream call in it failed.
    expect(stdout).toMatch(new RegExp(`${continued.traceId}  \\(succeeded; a call inside it failed\\)\\n\\s+in GET stock:8080: HTTP 503`));
    expect(stdout).not.toContain('listPets');
    const json = JSON.parse((await run('trace', 'errors', file, '--json')).stdout) as { failures: { traceId: string }[] };
    expect(json.failures.map((f) => f.traceId).sort()).toEqual([...failing.map((f) => f.traceId), continued.traceId].sort());
  });
});

describe('backdev trace show', () => {
  it('prints the span tree with durations, children in start order', async () => {
    const { code, stdout } = await run('trace', 'show', continued.traceId, file);
    expect(code).toBe(0);
    expect(stdout.split('\n')).toEqual([
      `trace ${continued.traceId}: 3 spans, 2.00 ms, started ${new Date(T0 + 999_000).toISOString()}`,
      `(continues span ${remoteParent} of another process)`,
      'getPet  server  2.00 ms  (+0.00 ms)',
      '├─ select pets  client  0.25 ms  (+0.20 ms)',
      '└─ GET stock:8080  client  1.25 ms  (+0.50 ms)  ERROR: HTTP 503',
    ]);
  });

  it('accepts a unique prefix and refuses an unknown id', async () => {
    expect((await run('trace', 'show', 'ffffffff', file)).stdout).toContain(`trace ${continued.traceId}`);
    const missing = await run('trace', 'show', 'abcdef0123456789abcdef0123456789', file);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no trace abcdef0123456789abcdef0123456789');
  });
});

describe('a missing or malformed trace file', () => {
  it('exits 1 naming the file when it is missing', async () => {
    const missing = path.join(dir, 'nope.jsonl');
    const { code, stderr } = await run('trace', 'summary', missing);
    expect(code).toBe(1);
    expect(stderr).toContain(`${missing}: no trace file here`);
    expect(stderr).toContain('BACKDEV_TRACE_FILE_INVALID');
  });

  it('exits 1 naming file:line for a line that is not JSON or not a span', async () => {
    const broken = path.join(dir, 'broken.jsonl');
    const lines = records.slice(0, 4).map((r) => JSON.stringify(r));
    writeFileSync(broken, [...lines.slice(0, 2), '', '{"traceId": "abc", "spanId"', ...lines.slice(2)].join('\n'));
    for (const command of ['summary', 'errors']) {
      const { code, stderr } = await run('trace', command, broken);
      expect(code).toBe(1);
      expect(stderr).toMatch(new RegExp(`${escape(broken)}:4: not a JSON line`));
    }
    writeFileSync(broken, [lines[0], JSON.stringify({ ...records[1], durationMs: 'slow' })].join('\n'));
    const { code, stderr } = await run('trace', 'show', records[0]!.traceId, broken);
    expect(code).toBe(1);
    expect(stderr).toContain(`${broken}:2: not a span record: "durationMs" must be a number`);
  });
});
