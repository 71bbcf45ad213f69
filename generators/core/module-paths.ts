/** Paths between the files a generator writes, as the import specifiers of generated code use them. */
import path from 'node:path';

/** Relative module specifier from directory `fromDir` to file `toFile` (both relative to the root). */
export function moduleSpecifier(fromDir: string, toFile: string): string {
  let rel = path.posix.relative(fromDir, toFile);
  if (!rel.startsWith('.')) rel = `./${rel}`;
  return rel;
}
