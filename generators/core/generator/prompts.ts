/**
 * The interactive front's questions, as each generator declares them (`Generator.interactive`), in the
 * shape plop (inquirer) asks them. Helpers for the questions most generators share.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { CONFIG_FILE } from '../config.js';

/** One question: free text or yes/no. */
export interface Question {
  type: 'input' | 'confirm';
  name: string;
  message: string;
  default?: string | boolean;
  validate?: (value: string) => true | string;
}

/** What the person answered, by question name. */
export type Answers = Record<string, string | boolean | undefined>;

/** A generator's interactive form: its questions, and the options its answers mean. */
export interface Interactive<O> {
  description: string;
  questions(): Question[];
  options(answers: Answers): O;
}

/** A trimmed answer, or undefined when it was left empty. */
export function optional(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

const isProject = (dir: string) => existsSync(path.join(path.resolve(dir), CONFIG_FILE));

/** The project folder question: `.` by default when the current folder is a project. */
export function projectQuestion(required: boolean): Question {
  const here = isProject(process.cwd());
  return {
    type: 'input',
    name: 'out',
    message: here ? 'Project folder' : `Project folder (the one holding ${CONFIG_FILE})`,
    default: here ? '.' : '',
    validate: (v: string) => {
      const dir = v.trim() === '' ? (here ? '.' : '') : v.trim();
      if (dir === '') return required ? `a project folder is required (the current folder has no ${CONFIG_FILE})` : true;
      if (!existsSync(path.resolve(dir))) return `${dir} does not exist`;
      return !required || isProject(dir) || `${dir} is not a backdev project (it has no ${CONFIG_FILE})`;
    },
  };
}

/** The project folder answered (`.` when left empty in a project); undefined: let the command look for one. */
export function projectFolder(answer: unknown): string | undefined {
  return optional(answer) ?? (isProject(process.cwd()) ? '.' : undefined);
}
