/**
 * add-health: `/health/live` and `/health/ready` in the generated server, and named upstreams (failover
 * clients from `backdev/runtime/health`) whose health readiness takes into account, each with a typed client
 * when its OpenAPI spec is given (`--upstream-spec`). Each run merges its `--upstream` values into the ones
 * recorded before.
 */
import path from 'node:path';
import { BackdevError } from '../core/errors.js';
import { optional, projectFolder, projectQuestion } from '../core/generator/prompts.js';
import { resolveTarget } from '../core/generator/target.js';
import type { Generator, PlannedRun, WriteOptions } from '../core/generator/types.js';
import { buildApi } from '../core/ir/build.js';
import { loadSpec } from '../core/spec/load.js';
import { healthOptionProblems, parseUpstreamSpecs, parseUpstreams, probeProblem, upstreamProblems, upstreamSpecProblems, type UpstreamSpecArgument } from './options.js';
import { checkUpstreamNames, GENERATOR, planAddHealth, upstreamSpecRefs } from './plan.js';
import type { UpstreamSpecInput } from './view-model.js';

export interface AddHealthOptions extends WriteOptions {
  spec?: string | undefined;
  out?: string | undefined;
  templates?: string | undefined;
  /** `name=url[,url2…]` values: upstreams to add (or, for a name recorded before, whose URLs to replace). */
  upstreams?: readonly string[] | undefined;
  /** Path probed (GET, 200 expected) on every URL of this run's upstreams. */
  probe?: string | undefined;
  /** Upstreams readiness does not wait for. */
  optional?: readonly string[] | undefined;
  /**
   * `name=path-or-url` values: the OpenAPI spec of an upstream (given now or before), from which its typed
   * client is generated. Paths are relative to `cwd`; the project records them relative to its root.
   */
  upstreamSpecs?: readonly string[] | undefined;
}

const isUrl = (s: string) => /^https?:\/\//i.test(s);

/** A `--upstream-spec` path as the project records it: relative to its root, with `/` (URLs as given). */
function recordedRef(spec: string, cwd: string, root: string): string {
  if (isUrl(spec)) return spec;
  const rel = path.relative(root, path.resolve(cwd, spec)).split(path.sep).join('/');
  return rel === '' ? '.' : rel;
}

/** Loads and validates an upstream's spec (errors located in it), and builds its IR. */
async function loadUpstreamSpec(ref: string, root: string): Promise<UpstreamSpecInput> {
  const spec = await loadSpec(isUrl(ref) ? ref : path.resolve(root, ref));
  return { ref, root: spec.root, document: spec.document, api: buildApi(spec) };
}

export { healthOptionProblems };

export const addHealth: Generator<AddHealthOptions> = {
  name: GENERATOR,
  outOfDate: 'the health routes or upstream settings are out of date; run `backdev add-health` and commit the result',
  target: (options, cwd) => resolveTarget(options, cwd),
  validate(options) {
    const problems = healthOptionProblems(options);
    if (problems.length > 0) throw new BackdevError('OPTION_INVALID', problems[0]!, { details: problems.slice(1) });
  },
  interactive: {
    description: 'Add /health/live and /health/ready, and upstream services with failover (--upstream name=url)',
    questions: () => [
      projectQuestion(true),
      {
        type: 'input',
        name: 'upstream',
        message: 'Upstream to add, name=url[,url2…] (empty: none)',
        default: '',
        validate: (v: string) => (v.trim() === '' ? true : (upstreamProblems([v.trim()])[0] ?? true)),
      },
      {
        type: 'input',
        name: 'probe',
        message: 'Path to probe on its URLs (empty: no active probe)',
        default: '',
        validate: (v: string) => (v.trim() === '' ? true : (probeProblem(v.trim()) ?? true)),
      },
      {
        type: 'input',
        name: 'upstreamSpec',
        message: "The upstream's OpenAPI spec, a path or URL, for a typed client (empty: none)",
        default: '',
        // The same checks as --upstream-spec, named for the answer alone.
        validate: (v: string) => (v.trim() === '' ? true : (upstreamSpecProblems([`spec=${v.trim()}`])[0]?.replace(/^--upstream-spec "[^"]*": /, '') ?? true)),
      },
    ],
    options: (a) => {
      const upstream = optional(a.upstream);
      const spec = upstream === undefined ? undefined : optional(a.upstreamSpec);
      const name = upstream?.slice(0, upstream.indexOf('=')).trim();
      return {
        out: projectFolder(a.out),
        upstreams: upstream === undefined ? [] : [upstream],
        probe: upstream === undefined ? undefined : optional(a.probe),
        upstreamSpecs: spec === undefined || name === undefined ? [] : [`${name}=${spec}`],
      };
    },
  },
  async plan({ target, files }, options): Promise<PlannedRun> {
    const spec = await loadSpec(target.spec!);
    const api = buildApi(spec);
    const cwd = path.resolve(options.cwd ?? process.cwd());
    const upstreams = parseUpstreams(options.upstreams ?? []);
    const upstreamSpecs: UpstreamSpecArgument[] = parseUpstreamSpecs(options.upstreamSpecs ?? []).map((s) => ({ name: s.name, spec: recordedRef(s.spec, cwd, target.root) }));
    // Names first (a usage error), then every upstream spec, given now or recorded: a bad one stops the run.
    checkUpstreamNames(files, { dirs: target.dirs, upstreams, optional: options.optional, upstreamSpecs });
    const specs = new Map<string, UpstreamSpecInput>();
    for (const [name, ref] of [...upstreamSpecRefs(files, target.dirs, upstreamSpecs)].sort(([a], [b]) => (a < b ? -1 : 1))) {
      specs.set(name, await loadUpstreamSpec(ref, target.root));
    }
    const plan = await planAddHealth(api, files, {
      dirs: target.dirs,
      upstreams,
      probe: options.probe,
      optional: options.optional,
      upstreamSpecs,
      specs,
      templates: target.templates,
    });
    return {
      plans: [plan],
      next: () => [
        'add-health: GET /health/live (the process answers) and GET /health/ready (database and required upstreams) are public; ' +
          `upstreams are app.upstreams.<name> (tune them in src/upstreams.ts; URLs from UPSTREAM_<NAME>_URLS, see .env.example)` +
          (specs.size > 0 ? `; typed clients (from their specs) are app.upstreamApis.<name>` : ''),
      ],
    };
  },
};

export { healthFollowUps } from './follow-ups.js';
