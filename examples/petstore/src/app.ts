/**
 * Builds the Fastify app: Swagger UI at /docs and one route per operation of the spec. This file is yours
 * (backdev created it and never rewrites it): add plugins, hooks and error handlers here.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, {
  LogController,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';
import { openapiDocument } from './generated/docs.gen.js';
import { frameworkErrors } from './generated/http.gen.js';
import { registerRoutes, type RegisterRoutesOptions } from './generated/routes.gen.js';

export interface AppOptions extends RegisterRoutesOptions {
  logger?: FastifyServerOptions['logger'];
  /** Serve Swagger UI at /docs and the spec at /docs/json (default true). */
  docs?: boolean;
  /**
   * /docs and /docs/json answer without credentials whatever the spec's `security` says (default true);
   * false: they need what the document's `security` asks for, like the operations without their own.
   */
  docsPublic?: boolean;
  /** Enforce the spec's security once `backdev add-auth` has wired it in (default true; tests of validation turn it off). */
  auth?: boolean;
  /** Request spans (src/server.ts passes it while tracing is on; see backdev's docs/tracing.md). */
  tracing?: { register(app: FastifyInstance): void };
}

/**
 * One log line per request (Fastify writes two: one when it arrives, one when it is answered): written when
 * it is answered, with the request, the status and the time taken, at `info` (LOG_LEVEL=warn: none).
 */
class RequestLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    if (this.isLogDisabled(request)) return;
    const line = { req: request, res: reply, responseTime: reply.elapsedTime };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else reply.log.info(line, 'request completed');
  }
}

export async function buildApp(options: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? true,
    logController: new RequestLog(),
    // Path parameters up to 8192 characters reach validation (the spec's maxLength decides; Node's 16 KiB
    // header limit bounds the whole URL anyway); a malformed URL or a longer parameter is answered as a
    // problem, like every other error.
    routerOptions: { maxParamLength: 8192 },
    frameworkErrors,
  });
  // First, so that every later hook runs inside the request's span.
  options.tracing?.register(app);
  if (options.docs !== false) {
    await app.register(async (docs) => {
      if (options.docsPublic !== false) {
        // Marked public: the auth hook (backdev add-auth) lets the docs through.
        docs.addHook('onRoute', (route) => {
          route.config = Object.assign({}, route.config, { public: true });
        });
      }
      await docs.register(swagger, {
        mode: 'static',
        specification: { document: openapiDocument() as never },
      });
      await docs.register(swaggerUi, { routePrefix: '/docs' });
    });
  }
  await registerRoutes(app, options);
  return app;
}
