/**
 * The bundled `repository.ts.hbs` renders code that is already formatted as prettier formats it (with
 * PRETTIER_OPTIONS), except for the lines that long model names push past the print width: those are broken
 * here the way prettier breaks them. Running prettier on each of several hundred repositories cost most of a
 * large design's run; test/design-database/repository-layout.test.ts checks the result against prettier.
 * A template of the user's is still formatted with prettier.
 */

const PRINT_WIDTH = 100;

/** Breaks the lines of a rendered bundled repository that are wider than the print width. */
export function layoutRepository(text: string): string {
  return text
    .split('\n')
    .map((line) => (line.length > PRINT_WIDTH ? breakLine(line) : line))
    .join('\n');
}

function breakLine(line: string): string {
  // export type { A, B, C } from './x.gen.js';
  const exported = /^export type \{ (.+) \} from ('[^']*');$/.exec(line);
  if (exported) return `export type {\n${exported[1]!.split(', ').map((name) => `  ${name},\n`).join('')}} from ${exported[2]};`;
  // export function name(db: Kysely<Database>) {
  const fn = /^export function (\w+)\((.+)\) \{$/.exec(line);
  if (fn) return `export function ${fn[1]}(\n  ${fn[2]},\n) {`;
  // ...createNameRepository(db),
  const spread = /^( *)\.\.\.(\w+)\((\w+)\),$/.exec(line);
  if (spread) return `${spread[1]}...${spread[2]}(\n${spread[1]}  ${spread[3]},\n${spread[1]}),`;
  // Comment lines and single-name imports stay as they are (prettier keeps them on one line too).
  return line;
}
