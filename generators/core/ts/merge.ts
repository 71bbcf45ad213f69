/**
 * Every ts-morph call lives here. Used to merge into files the user owns: find what a file already has
 * (exported names, test suites, imports) and append what is missing, leaving every existing line as it is.
 */
import { Project, SyntaxKind, type SourceFile } from 'ts-morph';
import { stringLiteral } from '../render/escape.js';

let project: Project | undefined;

function parse(text: string, fileName = 'file.ts'): SourceFile {
  project ??= new Project({
    useInMemoryFileSystem: true,
    skipLoadingLibFiles: true,
    compilerOptions: { allowJs: false, noLib: true },
  });
  return project.createSourceFile(`/${fileName}`, text, { overwrite: true });
}

/** Names the module exports (`export const/function/class/…`, `export { a as b }`; not `default`). */
export function exportedNames(text: string): Set<string> {
  const file = parse(text);
  const names = new Set<string>();
  // Syntax only: binding the whole file to ask the type checker would cost far more on large projects.
  for (const stmt of file.getStatements()) {
    const variable = stmt.asKind(SyntaxKind.VariableStatement);
    if (variable?.isExported()) {
      for (const decl of variable.getDeclarations()) names.add(decl.getName());
      continue;
    }
    const named = stmt.asKind(SyntaxKind.FunctionDeclaration) ?? stmt.asKind(SyntaxKind.ClassDeclaration);
    if (named?.isExported() && !named.isDefaultExport()) {
      const name = named.getName();
      if (name) names.add(name);
      continue;
    }
    const exportDecl = stmt.asKind(SyntaxKind.ExportDeclaration);
    if (exportDecl) {
      for (const spec of exportDecl.getNamedExports()) names.add(spec.getAliasNode()?.getText() ?? spec.getName());
    }
  }
  return names;
}

/** Titles of top-level `describe('title', …)` calls whose title is a plain string literal. */
export function suiteTitles(text: string): Set<string> {
  const file = parse(text);
  const titles = new Set<string>();
  for (const stmt of file.getStatements()) {
    const call = stmt.asKind(SyntaxKind.ExpressionStatement)?.getExpression().asKind(SyntaxKind.CallExpression);
    if (!call || call.getExpression().getText() !== 'describe') continue;
    const first = call.getArguments()[0];
    const literal = first?.asKind(SyntaxKind.StringLiteral) ?? first?.asKind(SyntaxKind.NoSubstitutionTemplateLiteral);
    if (literal) titles.add(literal.getLiteralText());
  }
  return titles;
}

export interface NamedImport {
  /** Module specifier, e.g. `../generated/handlers.gen.js`. */
  from: string;
  name: string;
  typeOnly?: boolean;
}

/**
 * Appends `sections` to `text` and adds any of `imports` the file lacks, as new lines after its last
 * import. Existing lines are never modified; the result is `text` itself when there is nothing to add.
 */
export function appendToModule(text: string, sections: readonly string[], imports: readonly NamedImport[] = []): string {
  if (sections.length === 0) return text;
  let out = addImports(text, imports);
  if (!out.endsWith('\n')) out += '\n';
  return out + sections.map((s) => `\n${s.trimEnd()}\n`).join('');
}

/**
 * Adds `statement` just before the last top-level `return` of function `functionName` (a shutdown hook in
 * the user's `buildApp`), plus the imports it needs. Returns undefined when the function or its return
 * cannot be found, so the caller can tell the user what to add instead.
 */
export function insertBeforeReturn(
  text: string,
  functionName: string,
  statement: string,
  imports: readonly NamedImport[],
): string | undefined {
  const file = parse(text);
  const fn = file.getFunction(functionName);
  const body = fn?.getBody()?.asKind(SyntaxKind.Block);
  const ret = body?.getStatements().filter((s) => s.isKind(SyntaxKind.ReturnStatement)).at(-1);
  if (!ret) return undefined;
  const lineStart = text.lastIndexOf('\n', ret.getStart()) + 1;
  const indent = text.slice(lineStart, ret.getStart());
  const withStatement = `${text.slice(0, lineStart)}${statement.split('\n').map((l) => indent + l).join('\n')}\n${text.slice(lineStart)}`;
  return addImports(withStatement, imports);
}

/** Adds the named imports a module lacks, as new lines after its last import. */
export function addImports(text: string, imports: readonly NamedImport[]): string {
  const file = parse(text);
  const have = new Set<string>();
  for (const decl of file.getImportDeclarations()) {
    for (const spec of decl.getNamedImports()) have.add(spec.getAliasNode()?.getText() ?? spec.getName());
    const ns = decl.getNamespaceImport();
    if (ns) have.add(ns.getText());
  }
  const missing = imports.filter((i) => !have.has(i.name));
  if (missing.length === 0) return text;
  const lines = missing.map((i) => `import ${i.typeOnly ? 'type ' : ''}{ ${i.name} } from ${stringLiteral(i.from)};`).join('\n');
  const lastImport = file.getImportDeclarations().at(-1);
  if (!lastImport) return `${lines}\n${text}`;
  const end = lastImport.getEnd();
  return `${text.slice(0, end)}\n${lines}${text.slice(end)}`;
}

/**
 * Adds `statement` just before the first top-level statement of function `functionName` that calls
 * `callee` (e.g. the auth layer before `await registerRoutes(app, options)`), plus the imports it needs.
 * Undefined when there is no such call.
 */
export function insertBeforeCall(
  text: string,
  functionName: string,
  callee: string,
  statement: string,
  imports: readonly NamedImport[],
): string | undefined {
  const file = parse(text);
  const body = file.getFunction(functionName)?.getBody()?.asKind(SyntaxKind.Block);
  const target = body?.getStatements().find((s) =>
    s.getDescendantsOfKind(SyntaxKind.CallExpression).some((c) => c.getExpression().getText() === callee),
  );
  if (!target) return undefined;
  const lineStart = text.lastIndexOf('\n', target.getStart()) + 1;
  const indent = text.slice(lineStart, target.getStart());
  const withStatement = `${text.slice(0, lineStart)}${statement.split('\n').map((l) => indent + l).join('\n')}\n${text.slice(lineStart)}`;
  return addImports(withStatement, imports);
}

/**
 * Property names of the object literals assigned to a property `key` anywhere in the module (e.g. the
 * `verifiers: { … }` of src/auth.ts); undefined when there is no such object literal.
 */
export function objectLiteralKeys(text: string, key: string): Set<string> | undefined {
  const file = parse(text);
  let found: Set<string> | undefined;
  for (const prop of file.getDescendantsOfKind(SyntaxKind.PropertyAssignment)) {
    if (prop.getName() !== key && prop.getName() !== JSON.stringify(key)) continue;
    const literal = prop.getInitializer()?.asKind(SyntaxKind.ObjectLiteralExpression);
    if (!literal) continue;
    found ??= new Set();
    for (const p of literal.getProperties()) {
      const named = p.asKind(SyntaxKind.PropertyAssignment) ?? p.asKind(SyntaxKind.ShorthandPropertyAssignment);
      if (!named) continue;
      const name = named.getNameNode();
      found.add(name.asKind(SyntaxKind.StringLiteral)?.getLiteralText() ?? name.asKind(SyntaxKind.NoSubstitutionTemplateLiteral)?.getLiteralText() ?? name.getText());
    }
  }
  return found;
}

/** The source text of the top-level function `name` (with its JSDoc), or undefined. */
export function functionText(text: string, name: string): string | undefined {
  const fn = parse(text).getFunction(name);
  if (!fn) return undefined;
  return text.slice(fn.getStart(true), fn.getEnd());
}
