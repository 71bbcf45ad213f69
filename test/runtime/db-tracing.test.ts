/** `createDatabase({ tracing: true })`: statements become spans under the active span, and only while tracing runs. */
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { sql } from 'kysely';
import { afterAll, expect, it } from 'vitest';
import { createDatabase } from '../../runtime/db/index.js';
import { createTracing, traceOperation } from '../../runtime/tracing/index.js';

interface DB {
  items: { id: number; name: string };
}

const db = createDatabase<DB>({ url: null, dataDir: 'memory://', tracing: true });
afterAll(() => db.destroy());

it('statements (a transaction too) are spans under the operation; none outside a trace; the database works on once tracing is closed', async () => {
  const exporter = new InMemorySpanExporter();
  const tracing = createTracing({ file: false, otlpEndpoint: null, exporters: [exporter], flushIntervalMs: 10 });
  await tracing.start();
  await sql`create table items (id integer primary key, name text not null)`.execute(db); // outside a trace: no span
  await traceOperation('import-items', async () => {
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('items').values({ id: 1, name: 'a' }).execute();
    });
    await db.selectFrom('items').selectAll().execute();
  });
  await tracing.flush();
  const spans = [...exporter.getFinishedSpans()]; // (the exporter forgets them when it shuts down)
  await tracing.close();
  const op = spans.find((s) => s.name === 'import-items')!;
  expect(op).toBeDefined();
  const children = spans.filter((s) => s.parentSpanContext?.spanId === op.spanContext().spanId).map((s) => s.name);
  expect(children).toEqual(['begin', 'insert items', 'commit', 'select items']);
  expect(spans).toHaveLength(5);

  // Closed: the database works on, untraced.
  expect(await traceOperation('after-close', () => db.selectFrom('items').selectAll().execute())).toHaveLength(1);
  expect(await db.selectFrom('items').select('name').execute()).toEqual([{ name: 'a' }]);
});

it('wrapDialect wraps what Kysely uses', async () => {
  const seen: string[] = [];
  const wrapped = createDatabase<DB>({
    url: null,
    dataDir: 'memory://',
    wrapDialect: (dialect) => ({
      ...dialect,
      createAdapter: () => dialect.createAdapter(),
      createIntrospector: (k) => dialect.createIntrospector(k),
      createQueryCompiler: () => dialect.createQueryCompiler(),
      createDriver: () => {
        seen.push('driver');
        return dialect.createDriver();
      },
    }),
  });
  await sql`select 1`.execute(wrapped);
  await wrapped.destroy();
  expect(seen).toEqual(['driver']);
});
