/**
 * The template context of `add-health` (templates/add-health/README.md documents it field by field; a test
 * keeps the two in step): the project's named upstreams — the ones recorded by earlier runs merged with this
 * run's `--upstream` values — and what readiness checks. URLs and paths are raw text: templates print them
 * only through the escaping helpers.
 */
import type { ApiIR } from '../core/ir/types.js';
import { upstreamEnvName } from './options.js';

/** One upstream as recorded in `upstreams.gen.json` (what the next run merges into). */
export interface UpstreamRecord {
  name: string;
  urls: string[];
  /** The probe path, if the upstream is probed. */
  probe?: string | undefined;
  /** Readiness needs one of its URLs healthy. */
  required: boolean;
}

export interface AddHealthView {
  /** Title and version from the spec's `info` (for the "do not edit" header). */
  api: { title: string; version: string };
  /** Every upstream, sorted by name. */
  upstreams: UpstreamView[];
  /** The project has a database (src/db.ts exports `db`): readiness pings it. */
  database: boolean;
  /** The module specifier of src/db.ts from the generated folder (`../db.js`). */
  dbModule: string;
  /** Register `GET /health/live` (false when the spec has that route itself). */
  live: boolean;
  /** Register `GET /health/ready` (false when the spec has that route itself). */
  ready: boolean;
}

export interface UpstreamView {
  name: string;
  /** The variable that overrides its URLs (comma-separated): `UPSTREAM_<NAME>_URLS`. */
  env: string;
  urls: string[];
  /** The URLs joined with commas (for .env.example). */
  urlList: string;
  probe: string | undefined;
  required: boolean;
}

/** Earlier upstreams, with this run's added or replaced (same name) and `optional` ones marked so. */
export function mergeUpstreams(
  earlier: readonly UpstreamRecord[],
  given: readonly { name: string; urls: string[] }[],
  probe: string | undefined,
  optional: readonly string[],
): UpstreamRecord[] {
  const byName = new Map(earlier.map((u) => [u.name, { ...u, urls: [...u.urls] }]));
  for (const g of given) {
    const before = byName.get(g.name);
    byName.set(g.name, { name: g.name, urls: [...g.urls], probe: probe ?? before?.probe, required: before?.required ?? true });
  }
  for (const name of optional) {
    const u = byName.get(name);
    if (u) u.required = false;
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function buildHealthView(api: ApiIR, upstreams: readonly UpstreamRecord[], database: boolean, dbModule: string): AddHealthView {
  const routes = new Set(api.operations.map((op) => `${op.method.toUpperCase()} ${op.url}`));
  return {
    api: { title: api.title, version: api.version },
    upstreams: upstreams.map((u) => ({ name: u.name, env: upstreamEnvName(u.name), urls: u.urls, urlList: u.urls.join(','), probe: u.probe, required: u.required })),
    database,
    dbModule,
    live: !routes.has('GET /health/live'),
    ready: !routes.has('GET /health/ready'),
  };
}
