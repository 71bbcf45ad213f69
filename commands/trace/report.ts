/**
 * What `backdev trace summary | errors | show` compute from span records: pure functions, tested directly.
 *
 * An operation is a span that starts work in this process: a server span (a request) or a span whose parent
 * is not in the file (`traceOperation` at the top, a job). Percentiles use the nearest-rank method: the p-th
 * percentile of n sorted durations is the ⌈p/100 · n⌉-th smallest.
 */
import type { SpanRecord } from '../../runtime/tracing/constants.js';

export interface OperationSummary {
  name: string;
  count: number;
  errors: number;
  /** errors / count, 0..1. */
  errorRate: number;
  p50: number;
  p95: number;
  p99: number;
  /** The slowest instances, slowest first. */
  slowest: { traceId: string; durationMs: number }[];
}

/** Nearest rank: the ⌈p/100 · n⌉-th smallest of `sorted` (ascending); NaN when empty. */
export function nearestRank(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

export function operations(records: readonly SpanRecord[]): SpanRecord[] {
  const ids = new Set(records.map((r) => `${r.traceId}/${r.spanId}`));
  return records.filter((r) => r.kind === 'server' || !r.parentSpanId || !ids.has(`${r.traceId}/${r.parentSpanId}`));
}

export function summarize(records: readonly SpanRecord[], slowest = 3): OperationSummary[] {
  const groups = new Map<string, SpanRecord[]>();
  for (const op of operations(records)) {
    const list = groups.get(op.name) ?? [];
    list.push(op);
    groups.set(op.name, list);
  }
  return [...groups]
    .map(([name, list]) => {
      const durations = list.map((r) => r.durationMs).sort((a, b) => a - b);
      const errors = list.filter((r) => r.status === 'error').length;
      return {
        name,
        count: list.length,
        errors,
        errorRate: errors / list.length,
        p50: nearestRank(durations, 50),
        p95: nearestRank(durations, 95),
        p99: nearestRank(durations, 99),
        slowest: [...list]
          .sort((a, b) => b.durationMs - a.durationMs || a.traceId.localeCompare(b.traceId))
          .slice(0, slowest)
          .map((r) => ({ traceId: r.traceId, durationMs: r.durationMs })),
      };
    })
    .sort((a, b) => b.count - a.count || a.name.localeCompare(b.name));
}

export interface FailedOperation {
  name: string;
  traceId: string;
  spanId: string;
  startMs: number;
  error: string;
  /** Failing spans under it (database statement, upstream call), outermost first: where it went wrong. */
  causes: { name: string; error: string }[];
}

export function failures(records: readonly SpanRecord[]): FailedOperation[] {
  const byParent = new Map<string, SpanRecord[]>();
  for (const r of records) {
    if (!r.parentSpanId) continue;
    const key = `${r.traceId}/${r.parentSpanId}`;
    byParent.set(key, [...(byParent.get(key) ?? []), r]);
  }
  const failedBelow = (span: SpanRecord): { name: string; error: string }[] =>
    (byParent.get(`${span.traceId}/${span.spanId}`) ?? [])
      .sort((a, b) => a.startMs - b.startMs)
      .flatMap((child) => [...(child.status === 'error' ? [{ name: child.name, error: child.error ?? 'error' }] : []), ...failedBelow(child)]);
  return operations(records)
    .filter((r) => r.status === 'error' || failedBelow(r).length > 0)
    .map((r) => ({
      name: r.name,
      traceId: r.traceId,
      spanId: r.spanId,
      startMs: r.startMs,
      error: r.status === 'error' ? (r.error ?? 'error') : '(succeeded; a call inside it failed)',
      causes: failedBelow(r),
    }))
    .sort((a, b) => a.name.localeCompare(b.name) || a.startMs - b.startMs);
}

/** The spans of one trace (`traceId` or a unique prefix of at least 8 hex digits); undefined when none. */
export function findTrace(records: readonly SpanRecord[], traceId: string): { traceId: string; spans: SpanRecord[] } | { ambiguous: string[] } | undefined {
  const id = traceId.toLowerCase();
  const exact = records.filter((r) => r.traceId === id);
  if (exact.length > 0) return { traceId: id, spans: exact };
  if (id.length < 8) return undefined;
  const ids = [...new Set(records.filter((r) => r.traceId.startsWith(id)).map((r) => r.traceId))];
  if (ids.length > 1) return { ambiguous: ids };
  return ids.length === 1 ? { traceId: ids[0]!, spans: records.filter((r) => r.traceId === ids[0]) } : undefined;
}

const ms = (n: number) => `${n.toFixed(n >= 100 ? 0 : n >= 10 ? 1 : 2)} ms`;

/** The span tree, one line per span: name, kind, duration, offset from the trace start, error. */
export function renderTree(spans: readonly SpanRecord[]): string[] {
  const ids = new Set(spans.map((s) => s.spanId));
  const start = Math.min(...spans.map((s) => s.startMs));
  const kids = (id: string) => spans.filter((s) => s.parentSpanId === id).sort((a, b) => a.startMs - b.startMs);
  const roots = spans.filter((s) => !s.parentSpanId || !ids.has(s.parentSpanId)).sort((a, b) => a.startMs - b.startMs);
  const lines: string[] = [];
  const line = (s: SpanRecord) =>
    `${s.name}  ${s.kind}  ${ms(s.durationMs)}  (+${ms(s.startMs - start)})${s.status === 'error' ? `  ERROR: ${s.error ?? 'error'}` : ''}`;
  const walk = (s: SpanRecord, prefix: string, last: boolean, root: boolean) => {
    lines.push(root ? line(s) : `${prefix}${last ? '└─ ' : '├─ '}${line(s)}`);
    const next = root ? '' : `${prefix}${last ? '   ' : '│  '}`;
    const children = kids(s.spanId);
    children.forEach((c, i) => walk(c, next, i === children.length - 1, false));
  };
  for (const r of roots) {
    if (r.parentSpanId) lines.push(`(continues span ${r.parentSpanId} of another process)`);
    walk(r, '', true, true);
  }
  return lines;
}

/** `--since`: a duration back from now (`90s`, `15m`, `2h`, `7d`, `500ms`) or an ISO 8601 date; epoch ms. */
export function parseSince(value: string, now: number): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(value.trim());
  if (m) return now - Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  if (!/^\d{4}-\d{2}-\d{2}/.test(value.trim())) return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : t;
}
