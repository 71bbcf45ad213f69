/** Messages between `corpus.ts` and its generation workers (`corpus-worker.ts`). */

export type GenerationStatus = 'generated' | 'rejected' | 'crashed';

export interface GenerationOutcome {
  status: GenerationStatus;
  /** Time spent in runCreateApi (or until the worker was killed), in milliseconds. */
  ms: number;
  /** Warnings the generator reported. */
  warnings: number;
  /** Files in the generated project (when generated). */
  files?: number;
  /** First line of the error (rejected: `BackdevError.format()`; crashed: `Name: message`). */
  error?: string;
  /** BackdevError code, for rejections. */
  code?: string;
  /** For crashes: first stack frame inside the repo's generator code, `generators/…/file.ts:line`. */
  where?: string | undefined;
  /** For crashes: the top of the stack. */
  stack?: string;
}

export type ToWorker = { type: 'task'; id: number; spec: string; out: string } | { type: 'exit' };

export type ToParent = { type: 'ready' } | { type: 'result'; id: number; outcome: GenerationOutcome; rss: number };
