/** Groups corpus failures into categories: the error line with its spec-specific details blanked out. */

/** Blanks quoted text and long numbers, so the same failure on different specs reads the same. */
export function normalizeMessage(message: string): string {
  return message
    .replace(/'(?:[^'\\]|\\.)*'/g, "'…'")
    .replace(/"(?:[^"\\]|\\.)*"/g, '"…"')
    .replace(/`(?:[^`\\]|\\.)*`/g, '`…`')
    .replace(/\b\d{3,}\b/g, 'N')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Category of a type error: the error code and message, and the kind of file it is in. */
export function typeErrorCategory(first: string): string {
  const match = /^(.*?)\(\d+,\d+\): (error TS\d+: .*)$/.exec(first);
  if (!match?.[1] || !match[2]) return normalizeMessage(first);
  const file = match[1].startsWith('src/handlers/') ? 'src/handlers/*.ts' : match[1].replace(/^.*\//, '');
  return `${normalizeMessage(match[2])} [in ${file}]`;
}

/** Category of a crash: the message and the generator frame it was thrown from. */
export function crashCategory(error: string, where: string | undefined): string {
  const message = normalizeMessage(error);
  return where ? `${message} @ ${where}` : message;
}

export interface Category {
  name: string;
  count: number;
  examples: { spec: string; error: string }[];
}

/** Counts categories, most common first (ties by name); keeps a couple of examples of each. */
export function topCategories(items: readonly { category: string; spec: string; error: string }[], limit: number, examples = 2): Category[] {
  const byName = new Map<string, Category>();
  for (const item of items) {
    let cat = byName.get(item.category);
    if (!cat) byName.set(item.category, (cat = { name: item.category, count: 0, examples: [] }));
    cat.count++;
    if (cat.examples.length < examples) cat.examples.push({ spec: item.spec, error: item.error });
  }
  return [...byName.values()].sort((a, b) => b.count - a.count || a.name.localeCompare(b.name)).slice(0, limit);
}
