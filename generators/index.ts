/** Programmatic API: the same entry points the CLI and plop use. */
export { runCreateApi, type CreateApiOptions, type CreateApiResult } from './create-api/run.js';
export { runInit, type InitOptions } from './init/run.js';
export { BackdevError, type ErrorCode, type SourceLocation, type Warning } from './core/errors.js';
export { consoleOutput, memoryOutput, type Output } from './core/report.js';
