/**
 * Template lookup and rendering. Bundled templates live in `<repo>/templates/<generator>/`; a user
 * directory overrides any of them by the same relative path. Handlebars runs with `noEscape` (we emit
 * code, not HTML) and `strict` (a misspelt field is an error, not an empty string); spec text reaches
 * output only through the escaping helpers registered here.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import { BackdevError } from '../errors.js';
import { docText, identifier, jsonLiteral, lineComment, propertyKey, stringLiteral } from './escape.js';

export const BUNDLED_TEMPLATES = path.resolve(fileURLToPath(new URL('../../../templates', import.meta.url)));

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
      try {
        return tpl(context);
      } catch (err) {
        throw new BackdevError('TEMPLATE_INVALID', `template ${file} failed: ${(err as Error).message}`, {
          location: { file },
          cause: err,
        });
      }
    },
  };
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
