/**
 * add-health: `/health/live` and `/health/ready` in the generated server, and named upstreams (failover
 * clients from `backdev/runtime/health`) whose health readiness takes into account. Each run merges its
 * `--upstream` values into the ones recorded before.
 */
import { BackdevError } from '../core/errors.js';
import { optional, projectFolder, projectQuestion } from '../core/generator/prompts.js';
import { resolveTarget } from '../core/generator/target.js';
import type { Generator, PlannedRun, WriteOptions } from '../core/generator/types.js';
import { buildApi } from '../core/ir/build.js';
import { loadSpec } from '../core/spec/load.js';
import { healthOptionProblems, parseUpstreams, probeProblem, upstreamProblems } from './options.js';
import { GENERATOR, planAddHealth } from './plan.js';

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
    ],
    options: (a) => {
      const upstream = optional(a.upstream);
      return { out: projectFolder(a.out), upstreams: upstream === undefined ? [] : [upstream], probe: upstream === undefined ? undefined : optional(a.probe) };
    },
  },
  async plan({ target, files }, options): Promise<PlannedRun> {
    const spec = await loadSpec(target.spec!);
    const api = buildApi(spec);
    const plan = await planAddHealth(api, files, {
      dirs: target.dirs,
      upstreams: parseUpstreams(options.upstreams ?? []),
      probe: options.probe,
      optional: options.optional,
      templates: target.templates,
    });
    return {
      plans: [plan],
      next: () => [
        'add-health: GET /health/live (the process answers) and GET /health/ready (database and required upstreams) are public; ' +
          `upstreams are app.upstreams.<name> (tune them in src/upstreams.ts; URLs from UPSTREAM_<NAME>_URLS, see .env.example)`,
      ],
    };
  },
};
