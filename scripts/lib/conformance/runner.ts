/**
 * Sends seeded requests for every operation of a spec to a running server and checks every response.
 * Requests are generated when sent (so ids returned by earlier responses are reused); with `concurrency: 1`
 * a seed reproduces a run exactly.
 */
import { checkResponse, type FailureCategory } from './check.js';
import { IdPool, RequestPlanner, type PlannedRequest, type RequestKind } from './requests.js';
import { createRng, hashSeed } from './rng.js';
import type { OperationSpec, SpecModel } from './spec.js';

export interface Failure {
  target: string;
  op: string;
  kind: RequestKind;
  request: string;
  status: number | undefined;
  category: FailureCategory;
  problem: string;
}

export interface RunResult {
  target: string;
  requests: number;
  byKind: Record<RequestKind, number>;
  byStatus: Record<string, number>;
  fiveXX: number;
  violations: number;
  byCategory: Partial<Record<FailureCategory, number>>;
  /** 4xx answers to invalid requests on operations that declare no status to refuse them with (400, 422, 4XX, default). */
  undeclarable: number;
  /**
   * Valid or edge requests answered 4xx by operations whose handler always succeeds (sample handlers): the
   * server rejected input its spec allows. Reported, not counted as violations (a declared 4xx is a
   * conforming answer); `rejectedExamples` keeps a few.
   */
  validRejected: number;
  rejectedExamples: Failure[];
  /** Operations no request could be made for (e.g. a required parameter no value fits). */
  skipped: string[];
  /** The first `keepFailures` failures, plus the first of every (operation, category, problem kind). */
  failures: Failure[];
}

export interface RunOptions {
  target: string;
  baseUrl: string;
  model: SpecModel;
  requests: number;
  seed: number;
  concurrency?: number;
  /** Share of invalid and edge requests (default 0.3 and 0.2). */
  invalidShare?: number;
  edgeShare?: number;
  keepFailures?: number;
  timeoutMs?: number;
  /** Called after each response is checked, with the number checked so far. */
  onProgress?: (done: number, result: RunResult) => void;
  /** Operations whose handler answers a schema-valid 2xx sample whatever the input (see `validRejected`). */
  alwaysSucceeds?: (op: OperationSpec) => boolean;
}

const ORDER: Record<string, number> = { post: 0, put: 1, get: 2, patch: 3, delete: 4 };

export async function runConformance(options: RunOptions): Promise<RunResult> {
  const { model, baseUrl } = options;
  const pool = new IdPool();
  const planner = new RequestPlanner(model.schemas, pool);
  const result: RunResult = {
    target: options.target,
    requests: 0,
    byKind: { valid: 0, edge: 0, invalid: 0 },
    byStatus: {},
    fiveXX: 0,
    violations: 0,
    byCategory: {},
    undeclarable: 0,
    validRejected: 0,
    rejectedExamples: [],
    skipped: [],
    failures: [],
  };
  const keep = options.keepFailures ?? 50;
  const seenProblems = new Set<string>();
  // Creating operations first in each round, so that reads, updates and deletes find rows.
  const ops = [...model.operations].sort(
    (a, b) => (ORDER[a.method] ?? 9) - (ORDER[b.method] ?? 9) || a.path.length - b.path.length || a.path.localeCompare(b.path),
  );
  if (ops.length === 0) return result;
  const unplannable = new Map<OperationSpec, number>();
  const invalidShare = options.invalidShare ?? 0.3;
  const edgeShare = options.edgeShare ?? 0.2;
  let next = 0;
  let completed = 0;
  let attempts = 0;
  const maxAttempts = options.requests * 4 + 100;

  const take = (): { req: PlannedRequest; index: number } | undefined => {
    while (next < options.requests && attempts < maxAttempts) {
      const index = next;
      const a = attempts++;
      const op = ops[a % ops.length]!;
      if ((unplannable.get(op) ?? 0) >= 20) continue;
      const rng = createRng(hashSeed(options.seed, options.target, a));
      const roll = rng.next();
      const wanted: RequestKind = roll < invalidShare ? 'invalid' : roll < invalidShare + edgeShare ? 'edge' : 'valid';
      let req: PlannedRequest | undefined;
      for (const kind of [wanted, 'valid'] as RequestKind[]) {
        req = planner.plan(op, kind, rng);
        if (req) break;
      }
      if (!req) {
        unplannable.set(op, (unplannable.get(op) ?? 0) + 1);
        continue;
      }
      unplannable.delete(op);
      next++;
      return { req, index };
    }
    return undefined;
  };

  const worker = async () => {
    for (let item = take(); item; item = take()) {
      const { req } = item;
      await send(req);
      options.onProgress?.(++completed, result);
    }
  };

  const send = async (req: PlannedRequest) => {
    result.requests++;
    result.byKind[req.kind]++;
    let status: number | undefined;
    let contentType: string | undefined;
    let text = '';
    try {
      const res = await fetch(baseUrl + req.url, {
        method: req.method,
        headers: req.headers,
        body: req.body,
        signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
      });
      status = res.status;
      contentType = res.headers.get('content-type') ?? undefined;
      text = await res.text();
    } catch (error) {
      record(req, undefined, 'no response', (error as Error).message);
      return;
    }
    result.byStatus[String(status)] = (result.byStatus[String(status)] ?? 0) + 1;
    const verdict = checkResponse(model.schemas, req.op, req.kind, req.method, { status, contentType, body: text });
    if (verdict.undeclarable) result.undeclarable++;
    if (req.kind !== 'invalid' && status >= 400 && status < 500 && options.alwaysSucceeds?.(req.op)) {
      result.validRejected++;
      if (result.rejectedExamples.length < 20) {
        result.rejectedExamples.push({
          target: options.target,
          op: req.op.key,
          kind: req.kind,
          request: describe(req),
          status,
          category: 'undeclared status',
          problem: `a ${req.kind} request got ${status}: ${text.slice(0, 120)}`,
        });
      }
    }
    if (!verdict.ok) {
      record(req, status, verdict.category!, verdict.problem!);
      return;
    }
    if (status >= 200 && status < 300) {
      if (req.method === 'DELETE') {
        const id = lastPathValue(req);
        if (id !== undefined) pool.forget(id);
      } else if (text && contentType?.includes('json')) {
        try {
          pool.harvest(req.op, JSON.parse(text));
        } catch {
          // checked above
        }
      }
    }
  };

  const record = (req: PlannedRequest, status: number | undefined, category: FailureCategory, problem: string) => {
    if (category === '5xx') result.fiveXX++;
    else result.violations++;
    result.byCategory[category] = (result.byCategory[category] ?? 0) + 1;
    const signature = `${req.op.key}|${category}|${problem.replace(/[0-9a-f]{8}-[0-9a-f-]{27}|\d+/g, '#').slice(0, 80)}`;
    const fresh = !seenProblems.has(signature);
    seenProblems.add(signature);
    if (result.failures.length < keep || (fresh && result.failures.length < keep * 4)) {
      result.failures.push({ target: options.target, op: req.op.key, kind: req.kind, request: describe(req), status, category, problem });
    }
  };

  await Promise.all(Array.from({ length: options.concurrency ?? 4 }, worker));
  for (const [op, n] of unplannable) if (n >= 20) result.skipped.push(op.key);
  return result;
}

function lastPathValue(req: PlannedRequest): string | undefined {
  const path = req.url.split('?')[0]!;
  if (!/\}$/.test(req.op.path)) return undefined;
  try {
    return decodeURIComponent(path.slice(path.lastIndexOf('/') + 1));
  } catch {
    return undefined;
  }
}

export function describe(req: PlannedRequest): string {
  let text = `${req.method} ${req.url}`;
  if (req.body !== undefined) text += ` ${req.headers['content-type'] ?? ''} ${req.body}`;
  if (req.what) text += `  [${req.what}]`;
  return text.length > 160 ? `${text.slice(0, 157)}...` : text;
}

/** Sums runs (for the summary line). */
export function total(results: RunResult[]): {
  requests: number;
  fiveXX: number;
  violations: number;
  byCategory: Partial<Record<FailureCategory, number>>;
  undeclarable: number;
  validRejected: number;
} {
  const out = {
    requests: 0,
    fiveXX: 0,
    violations: 0,
    byCategory: {} as Partial<Record<FailureCategory, number>>,
    undeclarable: 0,
    validRejected: 0,
  };
  for (const r of results) {
    out.requests += r.requests;
    out.fiveXX += r.fiveXX;
    out.violations += r.violations;
    out.undeclarable += r.undeclarable;
    out.validRejected += r.validRejected;
    for (const [k, v] of Object.entries(r.byCategory) as [FailureCategory, number][]) out.byCategory[k] = (out.byCategory[k] ?? 0) + v;
  }
  return out;
}

/** A compact table of failures: target, operation, kind, status, what was violated, the request. */
export function failureTable(failures: Failure[], limit = 30): string {
  const rows = failures
    .slice(0, limit)
    .map((f) => [f.target, f.op, f.kind, f.status === undefined ? '-' : String(f.status), `${f.category}: ${f.problem}`.slice(0, 140), f.request]);
  if (rows.length === 0) return '(no failures)';
  const head = ['target', 'operation', 'kind', 'status', 'violation', 'request'];
  const widths = head.slice(0, 4).map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => [...r.slice(0, 4).map((c, i) => c.padEnd(widths[i]!)), r[4], '\n    ' + r[5]].join('  ');
  return (
    [line(head).replace('\n    request', ''), ...rows.map(line)].join('\n') +
    (failures.length > limit ? `\n… ${failures.length - limit} more kept` : '')
  );
}
