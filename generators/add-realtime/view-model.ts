/**
 * The template context of `add-realtime` (templates/add-realtime/README.md documents it field by field; a
 * test keeps the two in step): which operations publish which event on which topic, and the AsyncAPI 3
 * document describing the topics. Names from the spec are raw data: templates print them only through the
 * escaping helpers.
 */
import type { ApiIR, CrudAction } from '../core/ir/types.js';
import { kebabCase } from '../core/ir/names.js';
import type { Obj } from '../core/json.js';
import { pluralize } from '../core/resource/inflect.js';

export interface AddRealtimeView {
  /** Title and version from the spec's `info` (for the "do not edit" header). */
  api: { title: string; version: string };
  /** The WebSocket route (`--path`, default `/ws`). */
  path: string;
  /** One per create, update or delete operation of a resource, in spec order. */
  events: EventView[];
  /** One per resource that publishes, sorted by topic. */
  topics: TopicView[];
  /** The AsyncAPI 3 document of the topics, as data (printed with `{{json}}`). */
  asyncapi: Obj;
  /** add-auth has run (src/auth.ts exports `createVerifiers`): the hub asks for the API's credentials too. */
  auth: boolean;
}

export interface EventView {
  /** The Fastify route: `'METHOD url'`. */
  key: string;
  topic: string;
  /** `<topic>.created`, `<topic>.updated` or `<topic>.deleted`. */
  type: string;
  /** For deletes: the path parameter that holds the id (the event carries `{ id }`); else undefined. */
  idParam: string | undefined;
}

export interface TopicView {
  topic: string;
  /** The component schema of the resource. */
  model: string;
  /** The event types published on it, sorted. */
  types: string[];
}

const PAST: Partial<Record<CrudAction, string>> = { create: 'created', update: 'updated', delete: 'deleted' };

/** The topic of a model's events: its plural, kebab-cased (`BlogPost` → `blog-posts`). */
export function topicOf(model: string): string {
  return pluralize(kebabCase(model)) || 'events';
}

export function buildRealtimeView(api: ApiIR, path: string, schemas: Obj, auth: boolean): AddRealtimeView {
  const events: EventView[] = [];
  const byTopic = new Map<string, TopicView>();
  for (const op of api.operations) {
    const past = op.crud ? PAST[op.crud.action] : undefined;
    if (!op.crud || past === undefined) continue;
    const topic = topicOf(op.crud.model);
    const type = `${topic}.${past}`;
    const idParam = op.crud.action === 'delete' ? op.parameters.find((p) => p.in === 'path')?.routeName : undefined;
    events.push({ key: `${op.method.toUpperCase()} ${op.url}`, topic, type, idParam });
    const t = byTopic.get(topic) ?? { topic, model: op.crud.model, types: [] };
    if (!t.types.includes(type)) t.types.push(type);
    byTopic.set(topic, t);
  }
  const topics = [...byTopic.values()].sort((a, b) => (a.topic < b.topic ? -1 : 1)).map((t) => ({ ...t, types: [...t.types].sort() }));
  return { api: { title: api.title, version: api.version }, path, events, topics, asyncapi: asyncapiDocument(api, path, topics, schemas), auth };
}

/** AsyncAPI 3: one channel per topic, one message per event type, payload schemas from the OpenAPI document. */
function asyncapiDocument(api: ApiIR, path: string, topics: TopicView[], schemas: Obj): Obj {
  const channels: Obj = {};
  const operations: Obj = {};
  const messages: Obj = {};
  const used = new Set<string>();
  for (const t of topics) {
    const channelMessages: Obj = {};
    for (const type of t.types) {
      const name = type.replace(/[^A-Za-z0-9_.-]/g, '_');
      const deleted = type.endsWith('.deleted');
      messages[name] = {
        name: type,
        contentType: 'application/json',
        payload: {
          type: 'object',
          required: ['type', 'data'],
          properties: {
            type: { const: type },
            data: deleted ? { type: 'object', required: ['id'], properties: { id: { type: 'string' } } } : { $ref: `#/components/schemas/${t.model}` },
          },
        },
      };
      if (!deleted) used.add(t.model);
      channelMessages[name] = { $ref: `#/components/messages/${name}` };
    }
    const channel = t.topic.replace(/[^A-Za-z0-9_.-]/g, '_');
    channels[channel] = { address: t.topic, messages: channelMessages, description: `Changes of ${t.model}, in the order they were committed.` };
    operations[`receive_${channel}`] = { action: 'receive', channel: { $ref: `#/channels/${channel}` } };
  }
  // Every component schema (payloads refer to models, which may refer to others).
  const componentSchemas: Obj = used.size > 0 ? { ...schemas } : {};
  return {
    asyncapi: '3.0.0',
    info: {
      title: `${api.title} (real-time events)`,
      version: api.version,
      description: `Subscribe over WebSocket at ${path}: send {"type":"subscribe","topic":"<address>"}; see backdev's docs/realtime-protocol.md.`,
    },
    defaultContentType: 'application/json',
    channels,
    operations,
    components: { messages, schemas: componentSchemas },
  };
}
