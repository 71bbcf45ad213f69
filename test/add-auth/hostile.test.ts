/**
 * add-auth prints spec text only through the escaping helpers: a security scheme whose key, header /
 * query / cookie name, scopes, bearerFormat or OpenID Connect URL holds quotes and code comes out as the
 * same string in src/auth.ts and auth.gen.ts (checked on the syntax tree, not by searching text), the
 * project type-checks, and `.env.example` / the README gain no line from the spec.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Node, Project, SyntaxKind, type ObjectLiteralExpression, type SourceFile } from 'ts-morph';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAddAuth, runInit } from '../../generators/index.js';
import { memoryOutput } from '../../generators/core/report.js';
import { cleanup, linkBackdev, tempDir, typecheck } from '../helpers.js';

/** The payload of the report: a quote ends the literal, then code runs when src/auth.ts is imported. */
const HEADER_NAME = "k', x: globalThis.process.exit(7), y: '";
const SCHEMES: Record<string, Record<string, unknown>> = {
  "key', evil: globalThis.process.exit(7), '": { type: 'apiKey', in: 'header', name: HEADER_NAME },
  'q"\n`${globalThis.process.exit(8)}`': { type: 'apiKey', in: 'query', name: "it's \"${x}\" `y`\u2028" },
  '../c\u2029*/': { type: 'apiKey', in: 'cookie', name: "c'); globalThis.process.exit(9); ('" },
  "jwt\nAUTH_EVIL=1\n# '": { type: 'http', scheme: 'bearer', bearerFormat: "*/ ' \" ` ${globalThis.process.exit(7)} \u2028 </script>" },
  "basic'": { type: 'http', scheme: 'basic' },
  "oauth'": {
    type: 'oauth2',
    flows: {
      clientCredentials: {
        tokenUrl: "https://x.example/'+globalThis.process.exit(7)+'",
        scopes: { "read'); globalThis.process.exit(7); ('": 'r', '`${globalThis.process.exit(7)}`': 'b', '*/\n\u2028': 'c' },
      },
    },
  },
  "oidc'": { type: 'openIdConnect', openIdConnectUrl: "https://id.example/`${globalThis.process.exit(7)}`'</script>" },
};
const HEADER_SCHEME = Object.keys(SCHEMES)[0]!;

const SPEC = {
  openapi: '3.0.3',
  info: { title: 'secured', version: '1.0.0' },
  paths: {
    '/things': {
      get: {
        operationId: 'listThings',
        security: [{ [HEADER_SCHEME]: [], "oauth'": ["read'); globalThis.process.exit(7); ('", '*/\n\u2028'] }, { "jwt\nAUTH_EVIL=1\n# '": [] }],
        responses: { '204': { description: 'ok' } },
      },
    },
  },
  components: { securitySchemes: SCHEMES },
};

let dir: string;
const read = (p: string) => readFileSync(path.join(dir, p), 'utf8');

beforeAll(async () => {
  dir = tempDir('auth-hostile');
  const spec = path.join(dir, 'spec.json');
  writeFileSync(spec, JSON.stringify(SPEC, null, 2));
  await runInit({ dir: path.join(dir, 'p'), spec }, memoryOutput());
  dir = path.join(dir, 'p');
  linkBackdev(dir);
  const { exitCode } = await runAddAuth({ cwd: dir }, memoryOutput());
  expect(exitCode).toBe(0);
});
afterAll(() => cleanup(path.dirname(dir)));

/** The string value of a property of an object literal (fails when it is anything but a string literal). */
function stringProperty(object: ObjectLiteralExpression, name: string): string {
  const init = object.getPropertyOrThrow(name).asKindOrThrow(SyntaxKind.PropertyAssignment).getInitializerOrThrow();
  expect(Node.isStringLiteral(init) || Node.isNoSubstitutionTemplateLiteral(init), `${name}: ${init.getText()}`).toBe(true);
  return (init as unknown as { getLiteralValue(): string }).getLiteralValue();
}

/** Property name → initializer of an object literal, names as their runtime values. */
function entries(object: ObjectLiteralExpression): Map<string, Node> {
  const out = new Map<string, Node>();
  for (const p of object.getProperties()) {
    const assignment = p.asKindOrThrow(SyntaxKind.PropertyAssignment);
    const nameNode = assignment.getNameNode();
    const name = Node.isStringLiteral(nameNode) ? nameNode.getLiteralValue() : nameNode.getText();
    out.set(name, assignment.getInitializerOrThrow());
  }
  return out;
}

/** Identifiers with these names in the file's code (text inside string literals and comments is not code). */
function codeNamed(file: SourceFile, names: string[]): string[] {
  return file
    .getDescendantsOfKind(SyntaxKind.Identifier)
    .filter((i) => names.includes(i.getText()) && !(i.getText() === 'process' && i.getParent()?.getText() === 'process.env'))
    .map((i) => i.getParent()?.getText() ?? i.getText());
}

describe('add-auth with hostile security schemes', () => {
  const project = new Project({ useInMemoryFileSystem: true });

  it('src/auth.ts: one verifier per scheme, names and parameter names as string literals', () => {
    const file = project.createSourceFile('auth.ts', read('src/auth.ts'));
    const auth = file
      .getDescendantsOfKind(SyntaxKind.PropertyAssignment)
      .find((p) => p.getName() === 'verifiers')!
      .getInitializerIfKindOrThrow(SyntaxKind.ObjectLiteralExpression);
    const verifiers = entries(auth);
    expect([...verifiers.keys()].sort()).toEqual(Object.keys(SCHEMES).sort());
    for (const [name, scheme] of Object.entries(SCHEMES)) {
      const init = verifiers.get(name)!;
      if (scheme.type === 'apiKey') {
        const call = init.asKindOrThrow(SyntaxKind.CallExpression);
        expect(call.getExpression().getText()).toBe('apiKeyScheme');
        const options = call.getArguments()[1]!.asKindOrThrow(SyntaxKind.ObjectLiteralExpression);
        expect(options.getProperties().map((p) => p.asKindOrThrow(SyntaxKind.PropertyAssignment).getName())).toEqual(['in', 'name']);
        expect(stringProperty(options, 'in')).toBe(scheme.in);
        const want = scheme.in === 'header' ? String(scheme.name).toLowerCase() : scheme.name;
        expect(stringProperty(options, 'name')).toBe(want);
      } else if (scheme.type === 'http' && scheme.scheme === 'basic') {
        expect(init.getText()).toBe('basic');
      } else {
        const call = init.asKindOrThrow(SyntaxKind.CallExpression);
        expect(call.getExpression().getText()).toBe('bearerScheme');
        expect(call.getArguments()[0]!.getText()).toBe('jwt');
      }
    }
    expect(codeNamed(file, ['globalThis', 'globalthis', 'process', 'exit'])).toEqual([]);
  });

  it('auth.gen.ts: the schemes and the route requirements as data', () => {
    const file = project.createSourceFile('auth.gen.ts', read('src/generated/auth.gen.ts'));
    const schemes = file.getVariableDeclarationOrThrow('securitySchemes').getInitializerOrThrow().getFirstDescendantByKindOrThrow(SyntaxKind.ObjectLiteralExpression);
    const declared = entries(schemes);
    expect([...declared.keys()].sort()).toEqual(Object.keys(SCHEMES).sort());
    const bearer = declared.get("jwt\nAUTH_EVIL=1\n# '")!.asKindOrThrow(SyntaxKind.ObjectLiteralExpression);
    expect(stringProperty(bearer, 'bearerFormat')).toBe(SCHEMES["jwt\nAUTH_EVIL=1\n# '"]!.bearerFormat);
    const oidc = declared.get("oidc'")!.asKindOrThrow(SyntaxKind.ObjectLiteralExpression);
    expect(stringProperty(oidc, 'url')).toBe(SCHEMES["oidc'"]!.openIdConnectUrl);
    const scopes = declared.get("oauth'")!.asKindOrThrow(SyntaxKind.ObjectLiteralExpression).getPropertyOrThrow('scopes').getFirstDescendantByKindOrThrow(SyntaxKind.ArrayLiteralExpression);
    expect(scopes.getElements().map((e) => e.asKindOrThrow(SyntaxKind.StringLiteral).getLiteralValue())).toEqual(['*/\n\u2028', '`${globalThis.process.exit(7)}`', "read'); globalThis.process.exit(7); ('"]);
    const routes = entries(file.getVariableDeclarationOrThrow('routeSecurity').getInitializerIfKindOrThrow(SyntaxKind.ObjectLiteralExpression));
    expect([...routes.keys()]).toEqual(['GET /things']);
    expect(codeNamed(file, ['globalThis', 'globalthis', 'exit'])).toEqual([]);
  });

  it('.env.example and the README gain no line from the spec', () => {
    const env = read('.env.example');
    const variables = env.split('\n').filter((l) => !l.startsWith('#') && l.trim() !== '');
    for (const line of variables) expect(line).toMatch(/^AUTH_[A-Z_]+=[0-9]*$/);
    expect(env).not.toContain('AUTH_EVIL');
    expect(read('README.md')).not.toContain('AUTH_EVIL');
  });

  it('the project type-checks', async () => {
    expect(await typecheck(dir)).toBe('');
  });
});
