/** What Fastify's JSON body parser refuses before validation (prototype-poisoning keys). */
import { has } from './common.js';

/**
 * Why Fastify's JSON body parser refuses `value` (sent as JSON) before validation ever sees it, or undefined.
 * Its defaults, `onProtoPoisoning` and `onConstructorPoisoning: 'error'`, answer 400 for a body with an own
 * `__proto__` key, or a `constructor` key holding an object with a `prototype` key, at any depth: such a body
 * never reaches a handler, whatever the schema says. The reason names the key and where it is
 * (`the key "__proto__" at /`, a JSON pointer into the body).
 */
export function jsonParserRefusal(value: unknown): string | undefined {
  const seen = new Set<object>();
  const visit = (node: unknown, at: string): string | undefined => {
    if (node === null || typeof node !== 'object' || seen.has(node)) return undefined;
    seen.add(node);
    const record = node as Record<string, unknown>;
    if (!Array.isArray(node)) {
      if (has(node, '__proto__')) return `the key "__proto__" at ${at || '/'}`;
      const ctor = has(node, 'constructor') ? record['constructor'] : undefined;
      if (ctor !== null && typeof ctor === 'object' && has(ctor, 'prototype')) return `the key "constructor" holding a "prototype" at ${at || '/'}`;
    }
    for (const key of Object.keys(node)) {
      const found = visit(record[key], `${at}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`);
      if (found) return found;
    }
    return undefined;
  };
  return visit(value, '');
}
