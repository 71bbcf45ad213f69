/**
 * The keep / rename / add / drop decision between a previous and a next database design, written once for
 * every kind of object: `pairByName` for tables and columns (renames are given, never guessed) and
 * `reconcile` for indexes, foreign keys and checks (renames follow from content).
 */

/**
 * Pairs previous objects with next ones by name, where `nextNameOf` gives the name a previous object has in
 * the next design (after explicit renames): tables and columns, whose renames are never guessed. `pairs` is
 * in next order, `added` in next order, `dropped` in previous order.
 */
export function pairByName<T extends { readonly name: string }>(
  prev: readonly T[],
  next: readonly T[],
  nextNameOf: (p: T) => string,
): { pairs: { p: T; n: T }[]; added: T[]; dropped: T[] } {
  const source = new Map<string, T>();
  for (const p of prev) {
    const to = nextNameOf(p);
    if (!source.has(to)) source.set(to, p);
  }
  const pairs: { p: T; n: T }[] = [];
  const added: T[] = [];
  for (const n of next) {
    const p = source.get(n.name);
    if (p === undefined) added.push(n);
    else pairs.push({ p, n });
  }
  const paired = new Set(pairs.map((x) => x.p));
  return { pairs, added, dropped: prev.filter((p) => !paired.has(p)) };
}

/** How one kind of named object (index, foreign key, check) is compared and what each outcome emits. */
export interface Reconciler<P, N> {
  prevName(p: P): string;
  nextName(n: N): string;
  /** May the previous object of the same name stay (altered in place by `keep` if need be)? */
  keeps(p: P, n: N): boolean;
  /** Is `p` the same object as `n` under another name (a rename source, or an equivalent that existed)? */
  same(p: P, n: N): boolean;
  /** `n` must be created anew (a column it is built on changes type): no previous object may stand for it. */
  rebuilds(n: N): boolean;
  keep?(p: P, n: N): void;
  rename(p: P, n: N): void;
  /** `hadEquivalent`: some previous object was the same (so existing rows already satisfy it). */
  add(n: N, hadEquivalent: boolean): void;
  drop(p: P): void;
}

/**
 * The keep / rename / add / drop decision for named objects whose renames follow from content: the previous
 * object of the same name is kept when it still fits; a next object with a new name takes over an unclaimed
 * previous object with the same content (a rename); anything else is added; previous objects neither kept
 * nor renamed are dropped. Callbacks run in next order, then drops in previous order.
 */
export function reconcile<P, N>(prev: readonly P[], next: readonly N[], r: Reconciler<P, N>): void {
  const byName = new Map<string, P>();
  for (const p of prev) byName.set(r.prevName(p), p);
  const nextNames = new Set(next.map((n) => r.nextName(n)));
  const kept = new Set<string>();
  const renamed = new Set<string>();
  for (const n of next) {
    const name = r.nextName(n);
    const old = byName.get(name);
    const rebuilds = r.rebuilds(n);
    if (old !== undefined && !rebuilds && r.keeps(old, n)) {
      kept.add(name);
      r.keep?.(old, n);
      continue;
    }
    if (old === undefined && !rebuilds) {
      const source = prev.find((p) => !nextNames.has(r.prevName(p)) && !renamed.has(r.prevName(p)) && r.same(p, n));
      if (source !== undefined) {
        renamed.add(r.prevName(source));
        r.rename(source, n);
        continue;
      }
    }
    r.add(n, prev.some((p) => r.same(p, n)));
  }
  for (const p of prev) if (!kept.has(r.prevName(p)) && !renamed.has(r.prevName(p))) r.drop(p);
}
