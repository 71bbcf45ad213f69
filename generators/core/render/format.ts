/** Formats rendered TypeScript with prettier, with fixed options so output never depends on the machine. */
import * as prettier from 'prettier';

export const PRETTIER_OPTIONS: prettier.Options = {
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
    return await prettier.format(code, { ...PRETTIER_OPTIONS, filepath: file });
  } catch (err) {
    // A template produced code that does not parse: report it as a template problem with the file name.
    throw new Error(`generated ${file} is not valid TypeScript: ${(err as Error).message}`, { cause: err });
  }
}
