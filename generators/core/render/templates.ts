/**
 * Template lookup and rendering. Bundled templates live in `<repo>/templates/<generator>/`; a user
 * directory overrides any of them by the same relative path. Handlebars runs with `noEscape` (we emit
 * code, not HTML) and `strict` (a misspelt field is an error, not an empty string); spec text reaches
 * output only through the escaping helpers registered here.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import Handlebars from 'handlebars';
import { BackdevError } from '../errors.js';
import { PACKAGE_ROOT } from '../package-root.js';
import { docText, identifier, jsonLiteral, lineComment, propertyKey, stringLiteral } from './escape.js';
import { isTsType, printType } from './ts-type.js';

export const BUNDLED_TEMPLATES = path.join(PACKAGE_ROOT, 'templates');

export interface TemplateSet {
  /** Renders `<generator>/<name>` (e.g. `create-api/routes.gen.ts.hbs`) with the given context. */
  render(name: string, context: object): string;
  /** Where a template was found (user override or bundled). */
  source(name: string): string;
}

/** Lists the template files of a generator, relative to its folder, sorted. */
export function listTemplates(generator: string, root = BUNDLED_TEMPLATES): string[] {
  const base = path.join(root, generator);
  const out: string[] = [];
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir).sort()) {
      const full = path.join(dir, entry);
      if (statSync(full).isDirectory()) walk(full);
      else out.push(path.relative(base, full).split(path.sep).join('/'));
    }
  };
  walk(base);
  return out;
}

function registerHelpers(hbs: typeof Handlebars): void {
  hbs.registerHelper('str', (v: unknown) => stringLiteral(v));
  // A JSON string (double-quoted), for templates of JSON files such as package.json.
  hbs.registerHelper('jsonstr', (v: unknown) => JSON.stringify(String(v ?? '')));
  hbs.registerHelper('ident', (v: unknown) => identifier(v));
  hbs.registerHelper('key', (v: unknown) => propertyKey(String(v)));
  hbs.registerHelper('doc', (v: unknown, options: Handlebars.HelperOptions) => {
    const indent = typeof options?.hash?.indent === 'string' ? options.hash.indent : ' * ';
    return docText(v, indent);
  });
  hbs.registerHelper('comment', (v: unknown) => lineComment(v));
  // `{{json x depth=2}}`: nested lines are indented as if the literal started two levels deep.
  hbs.registerHelper('json', (v: unknown, options: Handlebars.HelperOptions) =>
    jsonLiteral(v, 2, typeof options?.hash?.depth === 'number' ? options.hash.depth : 0),
  );
  // `{{type t}}`: a TypeScript type built as data (core/render/ts-type.ts), printed once.
  hbs.registerHelper('type', (v: unknown) => {
    if (!isTsType(v)) throw new TypeError(`not a type structure: ${JSON.stringify(v)} (build it with core/render/ts-type.ts)`);
    return printType(v);
  });
  hbs.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  hbs.registerHelper('and', (...args: unknown[]) => args.slice(0, -1).every(Boolean));
  hbs.registerHelper('or', (...args: unknown[]) => args.slice(0, -1).some(Boolean));
  hbs.registerHelper('not', (a: unknown) => !a);
  hbs.registerHelper('concat', (...args: unknown[]) => args.slice(0, -1).map((a) => String(a ?? '')).join(''));
}

export function loadTemplates(generator: string, userDir?: string): TemplateSet {
  const hbs = Handlebars.create();
  registerHelpers(hbs);
  const cache = new Map<string, Handlebars.TemplateDelegate>();
  const locate = (name: string): string => {
    if (userDir) {
      const user = path.resolve(userDir, generator, name);
      if (existsSync(user)) return user;
    }
    const bundled = path.join(BUNDLED_TEMPLATES, generator, name);
    if (!existsSync(bundled)) {
      throw new BackdevError('TEMPLATE_INVALID', `no template "${generator}/${name}"`, { location: { file: bundled } });
    }
    return bundled;
  };
  // The user's templates in play for this generator: when one of them is, a rendered TypeScript file
  // that does not parse is their template's doing (a clear error naming it), not a bug of backdev.
  const overrides = userDir ? listTemplates(generator, path.resolve(userDir)).filter((f) => f.endsWith('.hbs')) : [];
  // Partials: every template under `partials/`, user overrides included, by file name without `.hbs`.
  const partialNames = new Set<string>();
  for (const root of [BUNDLED_TEMPLATES, ...(userDir ? [path.resolve(userDir)] : [])]) {
    for (const rel of listTemplates(generator, root)) if (rel.startsWith('partials/')) partialNames.add(rel);
  }
  for (const rel of [...partialNames].sort()) {
    const file = locate(rel);
    const name = rel.slice('partials/'.length).replace(/\.hbs$/, '');
    hbs.registerPartial(name, compile(hbs, file));
  }
  return {
    source: locate,
    render(name, context) {
      let tpl = cache.get(name);
      const file = locate(name);
      if (!tpl) {
        tpl = compile(hbs, file);
        cache.set(name, tpl);
      }
      let text: string;
      try {
        text = tpl(context);
      } catch (err) {
        throw new BackdevError('TEMPLATE_INVALID', `template ${file} failed: ${renderMessage(err)}`, {
          location: { file },
          cause: err,
        });
      }
      if (overrides.length > 0 && name.endsWith('.ts.hbs')) {
        const problem = typeScriptSyntaxError(text, name.replace(/\.hbs$/, ''));
        if (problem) {
          throw new BackdevError('TEMPLATE_INVALID', `template ${file} produced TypeScript that does not parse: ${problem}`, {
            location: { file },
            details: [`your templates in ${path.resolve(userDir!, generator)}: ${overrides.join(', ')}`],
          });
        }
      }
      return text;
    },
  };
}

/** Handlebars' strict-mode message names the context as `[object Object]`; say what is missing instead. */
function renderMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/^"([^"]+)" not defined in \[object Object\]/, '"$1" is neither a field of the context nor a helper');
}

let typescript: typeof import('typescript') | undefined;

/** The first syntax error of a TypeScript text (`line:column: message` and the line), or undefined. */
function typeScriptSyntaxError(text: string, fileName: string): string | undefined {
  typescript ??= createRequire(import.meta.url)('typescript') as typeof import('typescript');
  const ts = typescript;
  const { diagnostics = [] } = ts.transpileModule(text, { fileName, reportDiagnostics: true, compilerOptions: { target: ts.ScriptTarget.ES2022 } });
  const first = diagnostics.find((d) => d.category === ts.DiagnosticCategory.Error);
  if (!first) return undefined;
  const message = ts.flattenDiagnosticMessageText(first.messageText, ' ');
  if (first.start === undefined) return message;
  const before = text.slice(0, first.start).split('\n');
  const line = before.length;
  const column = before[before.length - 1]!.length + 1;
  return `${line}:${column}: ${message} in \`${(text.split('\n')[line - 1] ?? '').trim().slice(0, 120)}\``;
}

function compile(hbs: typeof Handlebars, file: string): Handlebars.TemplateDelegate {
  const text = readFileSync(file, 'utf8');
  try {
    hbs.parse(text); // compile() is lazy: parse now so a broken template fails before anything is rendered
    return hbs.compile(text, { noEscape: true, strict: true });
  } catch (err) {
    throw new BackdevError('TEMPLATE_INVALID', `template ${file} does not compile: ${(err as Error).message}`, {
      location: { file },
      cause: err,
    });
  }
}
