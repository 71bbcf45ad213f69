/**
 * The validator every sample is checked with: an Ajv instance configured like fastify's request validation,
 * one per `defs` object (cached), with each schema compiled once.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { JsonSchema } from '../../core/ir/json-schema.js';
import { lazyRefs } from './lazy-refs.js';

/** The `$id` under which `defs` are registered (as `$defs`) in the validator. */
export const SAMPLES_SCHEMA_ID = 'backdev-schemas';

const addFormats = addFormatsModule.default;

interface Compiler {
  compile(schema: JsonSchema): ValidateFunction;
}

const compilers = new WeakMap<object, Compiler>();

function compilerFor(defs: Record<string, JsonSchema>): Compiler {
  const cached = compilers.get(defs);
  if (cached) return cached;
  // fastify 5's defaults (@fastify/ajv-compiler) + all ajv-formats; strict mode stays on. Only the logger is
  // silenced (strict "log" findings such as union types are not errors).
  const ajv = new Ajv({
    coerceTypes: 'array',
    useDefaults: true,
    removeAdditional: true,
    // As the generated server validates bodies: `required` and `properties` look at a body's own keys only.
    ownProperties: true,
    addUsedSchema: false,
    allErrors: false,
    logger: false,
    // These validators run a handful of times each: compiling fast matters more than running fast (code
    // optimisation was most of the time on specs with thousands of operations).
    code: { optimize: false },
  });
  addFormats(ajv);
  ajv.addSchema({ $id: SAMPLES_SCHEMA_ID, $defs: defs });
  // Component schemas are compiled when a sample first reaches them, not all at the first check.
  const lazy = lazyRefs(ajv, defs, SAMPLES_SCHEMA_ID);
  const byObject = new WeakMap<object, ValidateFunction>();
  const byBoolean = new Map<boolean, ValidateFunction>();
  const byText = new Map<string, ValidateFunction>();
  const compiler: Compiler = {
    compile(schema) {
      if (typeof schema === 'boolean') {
        let fn = byBoolean.get(schema);
        if (!fn) byBoolean.set(schema, (fn = ajv.compile(schema)));
        return fn;
      }
      let fn = byObject.get(schema);
      if (!fn) {
        // Equal schemas met as different objects (each operation converts its own) compile once.
        const key = JSON.stringify(schema);
        fn = byText.get(key);
        if (fn) {
          byObject.set(schema, fn);
          return fn;
        }
        // A root `default` never applies and Ajv's strict mode rejects it; it does not change what is valid.
        let root = schema;
        if (Object.prototype.hasOwnProperty.call(schema, 'default')) {
          root = { ...schema };
          delete root['default'];
        }
        fn = ajv.compile(lazy.prepare(root));
        byObject.set(schema, fn);
        byText.set(key, fn);
      }
      return fn;
    },
  };
  compilers.set(defs, compiler);
  return compiler;
}

/**
 * A validator configured like fastify's request validation (Ajv 8, `coerceTypes: 'array'`, `useDefaults`,
 * `removeAdditional`, ajv-formats, strict mode) with `defs` registered under `$id: 'backdev-schemas'` as
 * `$defs`; cached per `defs` object. Values are validated as a `structuredClone` (Ajv mutates what it checks).
 * Throws when the schema does not compile.
 */
export function createValidator(defs: Record<string, JsonSchema>): (schema: JsonSchema, value: unknown) => boolean {
  const compiler = compilerFor(defs);
  return (schema, value) => compiler.compile(schema)(structuredClone(value)) === true;
}

export const COMPILE_ERROR = 'the schema does not compile';

export type Check = { valid: true } | { valid: false; message: string };

export function checker(defs: Record<string, JsonSchema>): (schema: JsonSchema, value: unknown) => Check {
  const compiler = compilerFor(defs);
  return (schema, value) => {
    let fn: ValidateFunction;
    try {
      fn = compiler.compile(schema);
    } catch (error) {
      return { valid: false, message: `${COMPILE_ERROR}: ${(error as Error).message}` };
    }
    if (fn(structuredClone(value)) === true) return { valid: true };
    return { valid: false, message: errorText(fn.errors) };
  };
}

function errorText(errors: ErrorObject[] | null | undefined): string {
  const first = errors?.[0];
  if (!first) return 'rejected';
  return `${first.instancePath === '' ? 'the value' : first.instancePath} ${first.message ?? 'is invalid'}`;
}
