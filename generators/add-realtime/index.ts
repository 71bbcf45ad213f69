/**
 * add-realtime: a WebSocket broadcast hub in the generated server (`backdev/runtime/broadcast`), the
 * resources' create/update/delete events published on it after their change commits, and an AsyncAPI 3
 * document of the topics.
 */
import { BackdevError } from '../core/errors.js';
import { projectFolder, projectQuestion } from '../core/generator/prompts.js';
import { resolveTarget } from '../core/generator/target.js';
import type { Generator, PlannedRun, WriteOptions } from '../core/generator/types.js';
import { buildApi } from '../core/ir/build.js';
import { isObject, type Obj } from '../core/json.js';
import { loadSpec } from '../core/spec/load.js';
import { GENERATOR, planAddRealtime } from './plan.js';

export interface AddRealtimeOptions extends WriteOptions {
  spec?: string | undefined;
  out?: string | undefined;
  templates?: string | undefined;
  /** The WebSocket route; default `/ws`. */
  path?: string | undefined;
}

export const addRealtime: Generator<AddRealtimeOptions> = {
  name: GENERATOR,
  outOfDate: 'the real-time wiring is out of date; run `backdev add-realtime` and commit the result',
  target: (options, cwd) => resolveTarget(options, cwd),
  validate(options) {
    if (options.path !== undefined && !/^\/[A-Za-z0-9._~\-/]*$/.test(options.path)) {
      throw new BackdevError('OPTION_INVALID', `--path ${JSON.stringify(options.path)}: expected a route path such as /ws (letters, digits, - . _ ~ /)`);
    }
  },
  interactive: {
    description: 'Publish the resources\' changes over WebSocket (a broadcast hub at /ws)',
    questions: () => [projectQuestion(true)],
    options: (a) => ({ out: projectFolder(a.out) }),
  },
  async plan({ target, files }, options): Promise<PlannedRun> {
    const spec = await loadSpec(target.spec!);
    const api = buildApi(spec);
    const components = isObject(spec.document.components) ? spec.document.components : {};
    const schemas: Obj = isObject(components.schemas) ? components.schemas : {};
    const plan = await planAddRealtime(api, schemas, files, { dirs: target.dirs, path: options.path ?? '/ws', templates: target.templates });
    return {
      plans: [plan],
      next: () => [`add-realtime: clients subscribe at ${options.path ?? '/ws'}; the topics are in ${target.dirs.generated}/asyncapi.gen.ts (served at /docs/asyncapi.json)`],
    };
  },
};
