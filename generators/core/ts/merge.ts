/**
 * Every ts-morph call lives here. Used to merge into files the user owns: find what a file already has
 * (exported names, test suites, imports) and append what is missing, leaving every existing line as it is.
 */
import { Project, SyntaxKind, type SourceFile } from 'ts-morph';

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
  const file = parse(text);
  const have = new Set<string>();
  for (const decl of file.getImportDeclarations()) {
    for (const spec of decl.getNamedImports()) have.add(spec.getAliasNode()?.getText() ?? spec.getName());
    const ns = decl.getNamespaceImport();
    if (ns) have.add(ns.getText());
  }
  const missing = imports.filter((i) => !have.has(i.name));
  let out = text;
  if (missing.length > 0) {
    const lines = missing.map((i) => `import ${i.typeOnly ? 'type ' : ''}{ ${i.name} } from ${JSON.stringify(i.from)};`).join('\n');
    const lastImport = file.getImportDeclarations().at(-1);
    if (lastImport) {
      const end = lastImport.getEnd();
      out = `${out.slice(0, end)}\n${lines}${out.slice(end)}`;
    } else {
      out = `${lines}\n${out}`;
    }
  }
  if (!out.endsWith('\n')) out += '\n';
  return out + sections.map((s) => `\n${s.trimEnd()}\n`).join('');
}
