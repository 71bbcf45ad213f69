/**
 * Inbound webhooks of `backdev/runtime/sync`: a verified endpoint (Stripe's and GitHub's signature schemes,
 * or your own) that applies each event once, through the pull side's mapping and upsert. What is promised
 * and why: docs/sync.md, "Webhooks".
 */
export {
  createWebhookReceiver,
  type WebhookContext,
  type WebhookEvent,
  type WebhookOutcome,
  type WebhookReceiver,
  type WebhookReceiverEvents,
  type WebhookReceiverOptions,
  type WebhookRejection,
  type WebhookSecrets,
} from './receiver.js';
export { DEFAULT_WEBHOOK_BODY_LIMIT, registerWebhook, type RegisterWebhookOptions } from './fastify.js';
export {
  githubScheme,
  githubSignatureHeader,
  headerValue,
  stripeScheme,
  stripeSignatureHeader,
  type EventIdentity,
  type StripeSchemeOptions,
  type VerifyFailureReason,
  type VerifyInput,
  type VerifyResult,
  type WebhookHeaders,
  type WebhookScheme,
} from './signatures.js';
export {
  createWebhookTables,
  DEFAULT_WEBHOOK_TABLE,
  dropWebhookTables,
  webhookMigration,
  webhookSchemaSql,
  type WebhookEventRow,
  type WebhookTableOptions,
} from './schema.js';
