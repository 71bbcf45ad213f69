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
  /** Its OpenAPI spec (`--upstream-spec`): a path relative to the project root, or an http(s) URL. */
  spec?: string | undefined;
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
  /** The upstreams that have a typed client (an OpenAPI spec), sorted by name. */
  clients: UpstreamView[];
  /** The topic upstream state changes are published on when the project has a broadcast hub (add-realtime). */
  healthTopic: string;
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
  /** Its typed client, generated from its OpenAPI spec; undefined without one. */
  client: UpstreamClientView | undefined;
}

/** The typed client of one upstream (`<generated>/upstreams/<name>.gen.ts` and its `<name>.openapi.gen.ts` types). */
export interface UpstreamClientView {
  /** The client module from the generated folder (`./upstreams/users.gen.js`). */
  module: string;
  /** The types module from the client module (`./users.openapi.gen.js`). */
  typesModule: string;
  /** A safe identifier for importing the client module (`upstreamApi0`, by position). */
  alias: string;
  /** Where the spec was read from (project-relative path or URL), raw. */
  spec: string;
  /** Title and version from the upstream spec's `info`, raw. */
  title: string;
  version: string;
  /** One per operation, in path then method order. */
  operations: UpstreamOperationView[];
}

export interface UpstreamOperationView {
  /** A safe, unique identifier (the operationId made into one): the key of `operations` and of `client.op`. */
  name: string;
  /** Lower-case HTTP method. */
  method: string;
  /** The path template as written in the upstream spec (`/users/{id}`), raw. */
  path: string;
  /** Summary (or the operationId) for the doc comment, raw. */
  summary: string | undefined;
}

/** The parsed upstream spec a client is generated from. */
export interface UpstreamSpecInput {
  /** As recorded: a project-relative path or a URL. */
  ref: string;
  /** Where it was loaded from (absolute path or URL), for located errors. */
  root: string;
  /** The bundled document (for openapi-typescript). */
  document: Record<string, unknown>;
  api: ApiIR;
}

/** Earlier upstreams, with this run's added or replaced (same name) and `optional` ones marked so. */
export function mergeUpstreams(
  earlier: readonly UpstreamRecord[],
  given: readonly { name: string; urls: string[] }[],
  probe: string | undefined,
  optional: readonly string[],
  specs: readonly { name: string; spec: string }[] = [],
): UpstreamRecord[] {
  const byName = new Map(earlier.map((u) => [u.name, { ...u, urls: [...u.urls] }]));
  for (const g of given) {
    const before = byName.get(g.name);
    byName.set(g.name, { name: g.name, urls: [...g.urls], probe: probe ?? before?.probe, required: before?.required ?? true, spec: before?.spec });
  }
  for (const { name, spec } of specs) {
    const u = byName.get(name);
    if (u) u.spec = spec;
  }
  for (const name of optional) {
    const u = byName.get(name);
    if (u) u.required = false;
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function buildHealthView(
  api: ApiIR,
  upstreams: readonly UpstreamRecord[],
  database: boolean,
  dbModule: string,
  specs: ReadonlyMap<string, UpstreamSpecInput> = new Map(),
): AddHealthView {
  const routes = new Set(api.operations.map((op) => `${op.method.toUpperCase()} ${op.url}`));
  let n = 0;
  const views: UpstreamView[] = upstreams.map((u) => {
    const spec = specs.get(u.name);
    return {
      name: u.name,
      env: upstreamEnvName(u.name),
      urls: u.urls,
      urlList: u.urls.join(','),
      probe: u.probe,
      required: u.required,
      client: spec === undefined ? undefined : clientView(u.name, spec, `upstreamApi${n++}`),
    };
  });
  return {
    api: { title: api.title, version: api.version },
    upstreams: views,
    database,
    dbModule,
    live: !routes.has('GET /health/live'),
    ready: !routes.has('GET /health/ready'),
    clients: views.filter((v) => v.client !== undefined),
    healthTopic: HEALTH_TOPIC,
  };
}

/** The hub topic of upstream state changes. */
export const HEALTH_TOPIC = 'health.upstreams';

/** The file stem of an upstream's client files: its name (letters, digits, `-`, `_`; see options.ts). */
export const clientStem = (name: string) => name;

function clientView(name: string, spec: UpstreamSpecInput, alias: string): UpstreamClientView {
  return {
    module: `./upstreams/${clientStem(name)}.gen.js`,
    typesModule: `./${clientStem(name)}.openapi.gen.js`,
    alias,
    spec: spec.ref,
    title: spec.api.title,
    version: spec.api.version,
    operations: spec.api.operations.map((op) => ({ name: op.id, method: op.method, path: op.path, summary: op.summary ?? op.operationId })),
  };
}
