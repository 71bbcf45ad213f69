/**
 * openapi-typescript's transform run on a document as it is. Its `openapiTS` entry point would first parse
 * the text again and lint and bundle it with Redocly (a walk over the whole document, a third of its time on
 * large specs); the document here is already loaded, bundled and checked, every `$ref` in it local, so the
 * transform gets it directly, with the options `openapiTS` uses by default. Runs in a worker thread
 * (openapi-types-worker.ts) or in the caller's.
 */
import type { GlobalContext, OpenAPI3 } from 'openapi-typescript';

/** openapi-typescript's types (`paths`, `components`, `operations`) for a prepared document's JSON. */
export async function typesText(documentJson: string): Promise<string> {
  const ots = await typesTransform();
  const schema = JSON.parse(documentJson) as OpenAPI3;
  return ots.astToString(ots.transformSchema(schema, typesContext(ots, schema)));
}

type TypesTransform = Pick<typeof import('openapi-typescript'), 'transformSchema' | 'astToString' | 'scanDiscriminators' | 'resolveRef'>;

/**
 * The four functions of openapi-typescript used here, from the modules that define them: its main entry
 * also loads all of Redocly's (its CLI and lint/bundle steps), which costs a second of startup here for
 * nothing. Should its layout change, the main entry serves.
 */
async function typesTransform(): Promise<TypesTransform> {
  const dist = 'openapi-typescript/dist/';
  try {
    const [transform, utils, ts] = await Promise.all([import(`${dist}transform/index.mjs`), import(`${dist}lib/utils.mjs`), import(`${dist}lib/ts.mjs`)]);
    const found = { transformSchema: transform.default, astToString: ts.astToString, scanDiscriminators: utils.scanDiscriminators, resolveRef: utils.resolveRef };
    if (Object.values(found).every((f) => typeof f === 'function')) return found as TypesTransform;
  } catch {
    // fall through to the main entry
  }
  return import('openapi-typescript');
}

/** `openapiTS`'s context for `{ silent: true }` and no other option (its defaults, field by field). */
function typesContext(ots: TypesTransform, schema: OpenAPI3): GlobalContext {
  const options = { silent: true };
  return {
    additionalProperties: false,
    alphabetize: false,
    arrayLength: false,
    defaultNonNullable: true,
    discriminators: ots.scanDiscriminators(schema, options),
    emptyObjectsUnknown: false,
    enum: false,
    enumValues: false,
    conditionalEnums: false,
    dedupeEnums: false,
    excludeDeprecated: false,
    exportType: false,
    immutable: false,
    rootTypes: false,
    rootTypesNoSchemaPrefix: false,
    rootTypesKeepCasing: false,
    injectFooter: [],
    pathParamsAsTypes: false,
    postTransform: undefined,
    propertiesRequiredByDefault: false,
    // Only its lint and bundle steps, skipped here, read the Redocly configuration.
    redoc: undefined as unknown as GlobalContext['redoc'],
    silent: true,
    inject: undefined,
    transform: undefined,
    transformProperty: undefined,
    makePathsEnum: false,
    generatePathParams: false,
    readWriteMarkers: false,
    resolve<T>($ref: string) {
      return ots.resolveRef<T>(schema, $ref, { silent: true });
    },
  };
}
