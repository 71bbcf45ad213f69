/**
 * The push side of `backdev/runtime/sync`: a transactional outbox and its dispatcher. What is promised
 * and why: docs/sync-outbox.md.
 */
export {
  createOutbox,
  toOutboxEntry,
  type Outbox,
  type OutboxCounts,
  type OutboxEntry,
  type OutboxEvent,
  type OutboxOptions,
  type OutboxRow,
  type OutboxStatus,
} from './outbox.js';
export {
  createOutboxDispatcher,
  type OutboxDispatcher,
  type OutboxDispatcherEvents,
  type OutboxDispatcherOptions,
  type OutboxRequest,
  type ReconcileResult,
} from './dispatcher.js';
export {
  DEFAULT_OUTBOX_TABLE,
  createOutboxTables,
  dropOutboxTables,
  outboxMigration,
  outboxSchemaSql,
  type OutboxTableOptions,
} from './schema.js';
export { classifyDeliveryStatus, readDeliveryFailure, resolveOutboxBackoff, outboxRetryDelay, type DeliveryVerdict, type OutboxBackoffOptions, type ResolvedOutboxBackoff } from './retry.js';
