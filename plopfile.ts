/**
 * Interactive front: `plop <generator>` asks the questions each generator declares (`interactive` in its
 * index.ts) and runs the same code as `backdev <command>`. In a project, `npm run plop` (`backdev plop`) runs
 * it; in a clone of backdev, `npm run plop`. Every generator but init asks for the project folder first
 * (default: the current folder when it is a project, i.e. holds backdev.config.json).
 */
import type { NodePlopAPI } from 'plop';
import { isBackdevError } from './generators/core/errors.js';
import type { Answers } from './generators/core/generator/prompts.js';
import { memoryOutput } from './generators/core/report.js';
import { GENERATORS, loadGenerator, runGeneratorNamed } from './generators/index.js';

/** Runs a generator and turns its output into plop's action result (or a failure with the message). */
async function run(name: string, answers: Answers): Promise<string> {
  const out = memoryOutput();
  try {
    await runGeneratorNamed(name, answers, out);
  } catch (err) {
    throw new Error(isBackdevError(err) ? err.format() : String((err as Error)?.stack ?? err));
  }
  for (const line of out.stderr) process.stderr.write(line + '\n');
  return out.stdout.join('\n');
}

export default async function plopfile(plop: NodePlopAPI): Promise<void> {
  for (const name of GENERATORS) {
    const { interactive } = await loadGenerator(name);
    plop.setGenerator(name, {
      description: interactive.description,
      prompts: interactive.questions(),
      actions: [(answers) => run(name, answers as Answers)],
    });
  }
}
