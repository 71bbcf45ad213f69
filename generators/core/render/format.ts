/** Formats rendered TypeScript with prettier, with fixed options so output never depends on the machine. */
import type { Options } from 'prettier';

export const PRETTIER_OPTIONS: Options = {
  parser: 'typescript',
  printWidth: 100,
  singleQuote: true,
  trailingComma: 'all',
  semi: true,
  tabWidth: 2,
  endOfLine: 'lf',
};

export async function formatTypeScript(code: string, file: string): Promise<string> {
  try {
    const prettier = await import('prettier'); // loaded on first use: most regenerations format nothing
    return await prettier.format(code, { ...PRETTIER_OPTIONS, filepath: file });
  } catch (err) {
    // A template produced code that does not parse: report it as a template problem with the file name.
    throw new Error(`generated ${file} is not valid TypeScript: ${(err as Error).message}`, { cause: err });
  }
}

/** Collapses runs of blank lines left by template blocks and ends the text with one newline. */
export function tidy(text: string): string {
  // trimEnd drops the same characters as /\s*$/, without the regex's quadratic scan over megabytes of text.
  return text.replace(/\n{3,}/g, '\n\n').trimEnd() + '\n';
}
