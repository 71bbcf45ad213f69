/**
 * Handlers for a generated project that answer every operation with a schema-valid sample of one of its
 * declared 2xx responses (a fresh random one per call), for conformance runs of projects whose handlers are
 * stubs. Operations backed by a generated repository (`x-backdev-crud`) keep their real handler.
 */
import { createRng, hashSeed } from './rng.js';
import { specModel, type OperationSpec, type SpecModel } from './spec.js';
import { ValueGenerator } from './values.js';

type AnyHandler = (ctx: { request: { method: string; routeOptions: { url?: string } } }) => unknown;

export interface SampleHandlerOptions {
  seed: number;
  /** Keep the project's own handlers for `x-backdev-crud` operations (default true). */
  keepCrud?: boolean;
}

function routeShape(url: string): string {
  return url.replace(/:[A-Za-z0-9_$]+(?:\([^)]*\))?/g, '{}').replace(/\/+$/, '') || '/';
}

function specShape(path: string): string {
  return path.replace(/\{[^}]*\}/g, '{}').replace(/\/+$/, '') || '/';
}

/**
 * The responses a sample handler answers with: the declared 2xx; else the 3xx (an operation that only
 * redirects); else `default`.
 */
function answers(op: OperationSpec): OperationSpec['responses'] {
  for (const pattern of [/^2(\d\d|XX)$/, /^3(\d\d|XX)$/, /^default$/]) {
    const found = op.responses.filter((r) => pattern.test(r.status));
    if (found.length > 0) return found;
  }
  return [];
}

/** Replacements for every handler in `base` (the project's `handlers` map). */
export function sampleHandlers(
  doc: Record<string, unknown>,
  base: Record<string, unknown>,
  options: SampleHandlerOptions,
): Record<string, AnyHandler> {
  const model = specModel(doc);
  const values = new ValueGenerator(model.schemas);
  const byRoute = new Map<string, OperationSpec>();
  for (const op of model.operations) byRoute.set(`${op.method.toUpperCase()} ${specShape(op.path)}`, op);
  let calls = 0;
  const answer = (op: OperationSpec) => {
    const rng = createRng(hashSeed(options.seed, op.key, calls++));
    const success = answers(op);
    const chosen = success.length > 0 ? rng.pick(success) : undefined;
    if (!chosen) return { status: 204 };
    const status = chosen.status === 'default' || chosen.status === '2XX' ? 200 : chosen.status === '3XX' ? 303 : Number(chosen.status);
    if (chosen.contents.length === 0) return { status };
    // JSON when declared: the check can decode it (an XML media type gets a JSON text, which it does not judge).
    const json = chosen.contents.filter((c) => c.json);
    const media = rng.pick(json.length > 0 ? json : chosen.contents);
    let sample = values.valid(media.schema, rng, { hostile: rng.chance(0.2) });
    // A draw can pick an optional property no value satisfies (an allOf of disjoint types): draw again
    // rather than answer 500 for the harness's own failure.
    for (let i = 0; sample === undefined && i < 8; i++) sample = values.valid(media.schema, rng, { hostile: false });
    if (!sample) throw new Error(`no schema-valid sample for ${op.key} ${chosen.status} ${media.mediaType}`);
    const contentType = media.mediaType.includes('*') ? 'application/json' : media.mediaType;
    const body = media.json || typeof sample.value === 'string' ? sample.value : JSON.stringify(sample.value);
    return { status, body, contentType };
  };
  const out: Record<string, AnyHandler> = {};
  for (const key of Object.keys(base)) {
    const original = base[key] as AnyHandler;
    out[key] = (ctx) => {
      const url = ctx.request.routeOptions.url ?? '';
      const op = byRoute.get(`${ctx.request.method} ${routeShape(url)}`);
      if (!op) throw new Error(`conformance: no operation for ${ctx.request.method} ${url}`);
      if (op.crud && options.keepCrud !== false) return original(ctx);
      return answer(op);
    };
  }
  return out;
}

/**
 * Operations a conformance run can judge: every schema compiles (a spec whose schema does not is the spec's
 * problem, reported, not counted), and, for operations answered by sample handlers, a declared 2xx has a
 * schema-valid sample. The others are returned with the reason; `partly` lists operations with an error
 * response whose body no value satisfies (judged, but not that body).
 */
export function judgeable(
  model: SpecModel,
  options: { keepCrud?: boolean } = {},
): { operations: OperationSpec[]; excluded: { op: string; reason: string }[]; partly: { op: string; reason: string }[] } {
  const values = new ValueGenerator(model.schemas);
  const operations: OperationSpec[] = [];
  const excluded: { op: string; reason: string }[] = [];
  /** Operations judged in part (one of their responses is not). */
  const partly: { op: string; reason: string }[] = [];
  for (const op of model.operations) {
    if (/[#?]/.test(op.path)) {
      excluded.push({ op: op.key, reason: 'its path holds a fragment or query (`#`, `?`): no request reaches it as written' });
      continue;
    }
    const schemas = [
      ...op.params.map((p) => p.schema),
      ...(op.body?.contents.map((c) => c.schema) ?? []),
      ...op.responses.flatMap((r) => r.contents.map((c) => c.schema)),
    ];
    if (!schemas.every((s) => model.schemas.compiles(s))) {
      excluded.push({ op: op.key, reason: 'a schema does not compile' });
      continue;
    }
    if (!(op.crud && options.keepCrud !== false)) {
      const candidates = answers(op);
      const sampleable =
        candidates.length === 0 ||
        candidates.every((r) =>
          r.contents.every((c) => [1, 2, 3].some((n) => values.valid(c.schema, createRng(n), { hostile: false }) !== undefined)),
        );
      if (!sampleable) {
        excluded.push({ op: op.key, reason: 'no schema-valid sample for its success response' });
        continue;
      }
    }
    // An error response no body can satisfy (a oneOf whose alternatives accept the same objects): no server
    // can send it within the spec, so its body is not judged (reported).
    const sampleable = (c: { schema: unknown; json: boolean }) =>
      !c.json || [1, 2, 3].some((n) => values.valid(c.schema as never, createRng(n), { hostile: false }) !== undefined);
    const responses = op.responses.map((r) => (/^[45]|^default$/.test(r.status) && !r.contents.every(sampleable) ? { ...r, unsatisfiable: true } : r));
    for (const r of responses) if (r.unsatisfiable) partly.push({ op: op.key, reason: `no body satisfies the schema of its ${r.status} response: its body is not judged` });
    operations.push(responses.some((r) => r.unsatisfiable) ? { ...op, responses } : op);
  }
  return { operations, excluded, partly };
}
