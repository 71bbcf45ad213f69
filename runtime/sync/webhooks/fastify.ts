/**
 * A webhook endpoint on a Fastify app:
 *
 *   registerWebhook(app, { path: '/webhooks/stripe', scheme: 'stripe', secrets: [secret], db,
 *     onEvent: async (event, { apply }) => { … } });
 *
 * The route lives in its own encapsulated context, so what it changes stays on it: its body is kept as the
 * raw bytes (any content type; signatures are over those bytes), up to `bodyLimit`, and its errors are
 * answered as RFC 9457 problems (`application/problem+json`) whatever the app's error handler does. It is
 * marked `public` for `installAuth` of `backdev/runtime/auth`: the signature is its authentication.
 * Answers: 200 `{ id, duplicate }`; 400 (signature header missing or unreadable, body not JSON, no event id);
 * 401 (no signature matches, stale timestamp); 413 (body over the limit); 500 (`onEvent` failed, nothing
 * kept, the sender retries); 503 while the app closes.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { classifyError, problemDetails, PROBLEM_CONTENT_TYPE, type ProblemDetails } from '../../http/index.js';
import { createWebhookReceiver, type WebhookReceiver, type WebhookReceiverOptions } from './receiver.js';

export interface RegisterWebhookOptions<P = any> extends WebhookReceiverOptions<P> {
  /** The route's path (POST). */
  path: string;
  /** The largest body accepted, in bytes; default 1 MiB. (GitHub sends payloads of up to 25 MB.) */
  bodyLimit?: number;
}

export const DEFAULT_WEBHOOK_BODY_LIMIT = 1024 * 1024;

function sendProblem(request: FastifyRequest, reply: FastifyReply, problem: ProblemDetails, headers?: Record<string, string>): FastifyReply {
  if (headers) reply.headers(headers);
  return reply
    .code(problem.status)
    .type(PROBLEM_CONTENT_TYPE)
    .serializer((value: unknown) => JSON.stringify(value))
    .send({ ...problem, instance: problem.instance ?? `urn:request:${request.id}` });
}

/**
 * Registers the webhook route on `app` (a child context of it) and returns its receiver (events, `prune`).
 * The receiver starts when the app loads its plugins (creating the table with `createTables`) and closes
 * with the app, after the deliveries in progress.
 */
export function registerWebhook<P = any>(app: FastifyInstance, options: RegisterWebhookOptions<P>): WebhookReceiver {
  if (typeof options.path !== 'string' || !options.path.startsWith('/')) throw new TypeError(`registerWebhook: path must start with /, got ${JSON.stringify(options.path)}`);
  const bodyLimit = options.bodyLimit ?? DEFAULT_WEBHOOK_BODY_LIMIT;
  if (!Number.isInteger(bodyLimit) || bodyLimit <= 0) throw new TypeError(`registerWebhook: bodyLimit must be a positive integer, got ${String(options.bodyLimit)}`);
  const receiver = createWebhookReceiver(options);

  void app.register(async function webhookRoute(scope) {
    await receiver.start();
    scope.addHook('onClose', () => receiver.close());
    // The raw bytes for this route only: whatever the content type, the body is a Buffer.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_request, body, done) => done(null, body));
    scope.setErrorHandler((error, request, reply) => {
      const c = classifyError(error);
      if (c.level === 'error') request.log.error({ err: error }, 'webhook request failed');
      else request.log.info({ err: error }, 'webhook request refused');
      return sendProblem(request, reply, problemDetails(c.status, c.detail), c.headers as Record<string, string> | undefined);
    });
    scope.post(options.path, { bodyLimit, config: { public: true } as Record<string, unknown> }, async (request, reply) => {
      const outcome = await receiver.receive({ body: request.body as Buffer | undefined, headers: request.headers });
      if (!('problem' in outcome)) return reply.code(200).send({ id: outcome.id, duplicate: outcome.duplicate });
      if (outcome.reason === 'failed' && outcome.status >= 500) request.log.error({ err: outcome.error, source: receiver.source }, 'webhook event failed; nothing of it was kept');
      else request.log.info({ source: receiver.source, status: outcome.status, reason: outcome.reason, detail: outcome.problem.detail }, 'webhook delivery refused');
      return sendProblem(request, reply, outcome.problem, outcome.headers);
    });
  });
  return receiver;
}
