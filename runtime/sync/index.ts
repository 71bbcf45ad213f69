/**
 * `backdev/runtime/sync`: keeps tables equal to external APIs (pull) and delivers local changes to them
 * (push). The pull side pages through lists with a pagination adapter, maps records to rows with your
 * mapping, and stores each page together with its checkpoint in one transaction, so a crash replays at most
 * one page and duplicates nothing. What is promised and how: docs/sync.md.
 */
export {
  createPullJob,
  createStreamWriter,
  defineStream,
  type PullJob,
  type PullJobEvents,
  type PullJobOptions,
  type PullStream,
  type RunResult,
  type RunStatus,
  type StreamResult,
  type StreamRows,
  type StreamStatus,
  type StreamWriter,
} from './pull.js';
export {
  cursorParam,
  keyset,
  linkHeader,
  nextLink,
  offsetLimit,
  pageNumber,
  parseLinkNext,
  stripe,
  type CursorParamOptions,
  type KeysetOptions,
  type NextLinkOptions,
  type OffsetOptions,
  type PageCursor,
  type PageNumberOptions,
  type PageResponse,
  type PageValue,
  type Pagination,
  type StripeOptions,
} from './pagination.js';
export {
  createSyncHttp,
  SyncHttpError,
  type FetchedPage,
  type PauseStore,
  type SyncHttp,
  type SyncHttpEvents,
  type SyncHttpOptions,
  type SyncRetryOptions,
  type UpstreamLike,
} from './http.js';
export { createTokenBucket, type TokenBucket, type TokenBucketOptions } from './token-bucket.js';
export { CheckpointTooLargeError, MAX_CHECKPOINT_BYTES, type Checkpoint, type PassState, type WatermarkValue } from './checkpoint.js';
export { jobLockKey } from './job-lock.js';
export {
  ensureSyncPullTables,
  syncPullMigration,
  SYNC_PAUSES_TABLE,
  SYNC_RUNS_TABLE,
  SYNC_STATE_TABLE,
  type SyncPauseRow,
  type SyncPullTables,
  type SyncRunRow,
  type SyncStateRow,
} from './pull-tables.js';
export { publishSyncChanges, type PublishSyncOptions, type SyncChange } from './publish.js';
export * from './outbox/index.js';
export * from './webhooks/index.js';
