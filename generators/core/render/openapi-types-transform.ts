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
  const context = typesContext(ots, schema);
  const operations = operationsCollector(context.injectFooter);
  const print = (node: unknown) => ots.astToString(node as Parameters<TypesTransform['astToString']>[0]);

  // `paths`, a few hundred path items at a time: each part's syntax tree (and the operations it adds) is
  // printed and let go before the next is made. Whole, the tree of a spec with 22,000 operations held about
  // 600 MB at once; the text is the same, since every member of an interface is printed on lines of its own.
  const pathsText: string[] = [];
  const operationsText: string[] = [];
  let pathsFrame: Frame | undefined;
  const paths = schema.paths;
  if (paths !== null && typeof paths === 'object') {
    const entries = Object.entries(paths);
    for (let i = 0; i < entries.length; i += PATHS_PER_PART) {
      const part = Object.fromEntries(entries.slice(i, i + PATHS_PER_PART));
      const node = ots.transformSchema({ paths: part } as unknown as OpenAPI3, context)[0];
      if (isInterfaceNamed(node, 'paths')) {
        const framed = frame(print(node));
        pathsFrame ??= framed;
        pathsText.push(framed.body);
      }
      const printed = operations.print(print);
      if (printed !== undefined) operationsText.push(printed);
    }
  }
  // The rest (webhooks, components, and what openapi-typescript adds at the end, `operations` among it)
  // as one part, in openapi-typescript's order.
  const rest = ots.transformSchema({ ...schema, paths: undefined } as unknown as OpenAPI3, context);
  const last = operations.print(print);
  if (last !== undefined) operationsText.push(last);
  const out: string[] = [];
  rest.forEach((node, i) => {
    if (i === 0 && pathsFrame !== undefined) out.push(pathsFrame.head, ...pathsText, pathsFrame.tail);
    else if (node === operations.node() && operationsText.length > 0) {
      const framed = operations.frame(print);
      out.push(framed.head, ...operationsText, framed.tail);
    } else out.push(print(node));
  });
  return out.join('');
}

/** Path items transformed (and printed) at a time. */
const PATHS_PER_PART = 256;

/** A printed interface: its first line, its members' lines, its closing line. */
interface Frame {
  head: string;
  body: string;
  tail: string;
}

function frame(text: string): Frame {
  const open = text.indexOf('\n') + 1;
  const close = text.lastIndexOf('}');
  if (open === 0 || close < open || text.slice(close) !== '}\n') throw new Error(`bug: unexpected interface text ${JSON.stringify(text.slice(0, 80))}`);
  return { head: text.slice(0, open), body: text.slice(open, close), tail: text.slice(close) };
}

const isInterfaceNamed = (node: unknown, name: string) =>
  (node as { members?: unknown; name?: { escapedText?: unknown } } | undefined)?.name?.escapedText === name &&
  Array.isArray((node as { members?: unknown }).members);

interface OperationsCollector {
  /** The `operations` interface openapi-typescript made, if it made one yet. */
  node(): object | undefined;
  /** The members added since the last call, printed (their lines only), and let go; none: undefined. */
  print(print: (node: unknown) => string): string | undefined;
  /** The interface's first and last lines (printed with one of its members). */
  frame(print: (node: unknown) => string): Frame;
}

/**
 * openapi-typescript adds each operation to its `operations` interface (in the list of nodes it appends
 * at the end) by replacing the interface's member list with a copy one longer, and TypeScript's factory then
 * walks the whole new list: time and garbage grow with the square of the number of operations (a spec with
 * 22,000 of them spent a minute there). Here that interface hands it an empty list to copy each time and
 * collects the one new member it sets; the collected members are printed part by part (`print`).
 * This relies on how openapi-typescript 7.13.0 builds that list: package.json pins the version exactly, and
 * test/create-api/types-text.test.ts compares the text with openapi-typescript's own one-shot transform, so
 * an upgrade that changes it fails there.
 */
function operationsCollector(footer: unknown[]): OperationsCollector {
  let node: { members: unknown } | undefined;
  let collected: unknown[] = [];
  // A TypeScript node list (an array with a text range) openapi-typescript made: what the printer is given.
  let list: unknown[] = [];
  let printing = false;
  const isOperations = (n: unknown) => isInterfaceNamed(n, 'operations');
  const takeOver = (found: { members: unknown }) => {
    node = found;
    list = found.members as unknown[];
    collected = [...list];
    Object.defineProperty(found, 'members', {
      configurable: true,
      enumerable: true,
      get: () => (printing ? list : []),
      set(value: unknown[]) {
        for (const member of value) collected.push(member);
        list = value;
      },
    });
  };
  // openapi-typescript looks the interface up with `find` (nothing else does) before adding each operation.
  Object.defineProperty(footer, 'find', {
    configurable: true,
    writable: true,
    value(this: unknown[], predicate: (value: unknown, index: number, array: unknown[]) => boolean) {
      const found = Array.prototype.find.call(this, predicate) as { members: unknown } | undefined;
      if (found !== undefined && node === undefined && isOperations(found)) takeOver(found);
      return found;
    },
  });
  const current = () => {
    if (node === undefined) {
      const found = Array.prototype.find.call(footer, isOperations) as { members: unknown } | undefined;
      if (found !== undefined) takeOver(found);
    }
    return node;
  };
  const printWith = (members: unknown[], print: (n: unknown) => string): Frame => {
    list.length = 0;
    for (const m of members) list.push(m);
    printing = true;
    try {
      return frame(print(node));
    } finally {
      printing = false;
      list.length = 0;
    }
  };
  let first: unknown;
  return {
    node: current,
    print(print) {
      if (current() === undefined || collected.length === 0) return undefined;
      first ??= collected[0];
      const body = printWith(collected, print).body;
      collected = [];
      return body;
    },
    frame(print) {
      if (current() === undefined || first === undefined) throw new Error('bug: no operations to frame');
      return printWith([first], print);
    },
  };
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
export function typesContext(ots: TypesTransform, schema: OpenAPI3): GlobalContext {
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
