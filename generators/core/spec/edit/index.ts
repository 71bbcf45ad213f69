/**
 * Editing a spec file in place: JSON keeps its key order, YAML its comments and layout. A `SpecChanges`
 * (what to append where) is written into the text without touching anything else.
 */
import { BackdevError } from '../../errors.js';
import { isObject, type Obj } from '../../json.js';
import type { SpecChanges } from './changes.js';
import { editJson, parseJson, toPlain, type JsonValue } from './json.js';
import { editYaml, parseYaml } from './yaml.js';

export type { SpecChanges } from './changes.js';

/** A spec text parsed for editing: JSON (order kept) or a YAML document (comments and layout kept). */
export interface SpecSource {
  bom: string;
  text: string;
  json: JsonValue | undefined;
  yamlDoc: ReturnType<typeof parseYaml> | undefined;
  root: Obj;
  openapi31: boolean;
}

export function openSpecForEdit(specText: string, fileName: string): SpecSource {
  const bom = specText.startsWith('\uFEFF') ? '\uFEFF' : '';
  const text = specText.slice(bom.length);
  // A `.json` file is JSON; another file is JSON when it starts with `{` and parses as JSON (else it is YAML,
  // possibly in flow style).
  let json: JsonValue | undefined;
  if (/\.json$/i.test(fileName)) json = parseJson(text, fileName);
  else if (text.trimStart().startsWith('{')) {
    try {
      json = parseJson(text, fileName);
    } catch {
      json = undefined;
    }
  }
  const yamlDoc = json !== undefined ? undefined : parseYaml(text, fileName);
  const spec = json !== undefined ? toPlain(json) : (yamlDoc!.toJS({ maxAliasCount: -1 }) as unknown);
  const openapi31 = checkOpenApi(spec, fileName);
  const root = spec as Obj;
  for (const [key, where] of [
    ['paths', root],
    ['components', root],
    ['schemas', root.components],
  ] as const) {
    const value = isObject(where) ? where[key] : undefined;
    if (value !== undefined && value !== null && !isObject(value)) {
      const pointer = key === 'schemas' ? '/components/schemas' : `/${key}`;
      throw new BackdevError('SPEC_INVALID', `"${pointer.slice(1).replace('/', '.')}" must be a mapping in ${fileName}`, {
        location: { file: fileName, pointer },
      });
    }
  }
  return { bom, text, json, yamlDoc, root, openapi31 };
}

/** Applies `plan` to the source text, keeping everything that was there. */
export function writeSpecEdit(source: SpecSource, plan: SpecChanges): string {
  const edited = source.json !== undefined ? editJson(source.text, source.json, plan) : editYaml(source.text, source.yamlDoc!, plan);
  return source.bom + edited;
}

/** Returns true for OpenAPI 3.1+ (type arrays), false for 3.0 (`nullable`). */
export function checkOpenApi(spec: unknown, fileName: string): boolean {
  const location = { file: fileName, line: 1, column: 1, pointer: '' };
  if (!isObject(spec)) {
    throw new BackdevError(
      'SPEC_NOT_OPENAPI',
      `${fileName} is not an OpenAPI document: expected a mapping at the top level`,
      {
        location,
      },
    );
  }
  const version = spec.openapi;
  if (typeof version === 'string') {
    const m = /^3\.(\d+)(\.|$)/.exec(version);
    if (m) return Number(m[1]) >= 1;
  }
  const what =
    spec.swagger !== undefined
      ? `it is a Swagger ${String(spec.swagger)} document; convert it to OpenAPI 3 first`
      : version === undefined
        ? 'it has no "openapi" field'
        : `"openapi" is ${JSON.stringify(version)}, expected a string such as "3.0.3" or "3.1.0"`;
  throw new BackdevError('SPEC_NOT_OPENAPI', `${fileName} is not an OpenAPI 3 document: ${what}`, { location });
}
