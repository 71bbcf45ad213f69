/**
 * The bench's two routes served by fastify-openapi-glue from the spec (openapi.json beside this file): it
 * turns each operation into a Fastify route with the spec's schemas and calls the method of the handler
 * object named by its operationId. Logging as in fastify.mjs (LOG_LEVEL, default info).
 * Run by node: PORT=… LOG_LEVEL=… node scripts/lib/bench-server/glue.mjs
 */
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import openapiGlue from 'fastify-openapi-glue';

const handlers = {
  async createItem(request, reply) {
    const { name, price, tags } = request.body;
    reply.code(201);
    return { id: 1, name, price, tags: tags ?? [] };
  },
  async getItem(request) {
    return { id: request.params.itemId, name: 'item', price: 9.5, tags: request.query.tags ?? [] };
  },
};

const app = Fastify({ logger: { level: process.env.LOG_LEVEL || 'info' } });
await app.register(openapiGlue, {
  specification: fileURLToPath(new URL('./openapi.json', import.meta.url)),
  serviceHandlers: handlers,
});
await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' });
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => app.close().then(() => process.exit(0)));
