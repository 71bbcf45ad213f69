/** Worker thread entry: openapi-typescript's types for the prepared document it is given (openapi-types.ts). */
import { parentPort, workerData } from 'node:worker_threads';
import { typesText } from './openapi-types-transform.js';

try {
  parentPort!.postMessage({ text: await typesText(workerData as string) });
} catch (err) {
  parentPort!.postMessage({ error: err instanceof Error ? err.message : String(err) });
}
