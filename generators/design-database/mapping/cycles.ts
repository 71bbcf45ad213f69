/** Reference cycles between models (a foreign key inside a cycle must be nullable, or no row could be inserted). */
import { compareStrings } from './order.js';

/** Tarjan's algorithm over the sorted model names: model → strongly connected component id. */
export function stronglyConnected(nodes: string[], edges: Map<string, Set<string>>): Map<string, number> {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const component = new Map<string, number>();
  let counter = 0;
  let components = 0;
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of [...(edges.get(v) ?? [])].sort(compareStrings)) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      for (;;) {
        const w = stack.pop()!;
        onStack.delete(w);
        component.set(w, components);
        if (w === v) break;
      }
      components++;
    }
  };
  for (const n of nodes) if (!index.has(n)) visit(n);
  return component;
}
