/**
 * JSON Schema 2020-12 for data that modules define at run time (master data, registries): ajv in
 * strict mode with formats, validators compiled once per process and bounded in number, errors as
 * the kernel's field problems.
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { FieldProblem } from '../errors/seva-error.js';

// ajv-formats is CommonJS with a default export; NodeNext sees the module object.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => void;

function makeAjv(coerce: boolean): Ajv2020 {
  // allErrors: whoever fixes a record (or a CSV row) wants every problem at once.
  const ajv = new Ajv2020({ allErrors: true, strict: true, logger: false, coerceTypes: coerce ? 'array' : false });
  addFormats(ajv);
  return ajv;
}

const strictAjv = makeAjv(false);
/** CSV cells are text: they are coerced to the schema's types (`"42"` → 42). */
const coercingAjv = makeAjv(true);
const compiled = new Map<string, { strict: ValidateFunction; coercing: ValidateFunction }>();

/** Compiles a JSON Schema; the message of a schema ajv refuses, or undefined. */
export function jsonSchemaProblem(schema: Record<string, unknown>): string | undefined {
  try {
    const { strict, coercing } = compile(schema);
    // Only a check: the validators used for records are compiled (and cached) on first use.
    strictAjv.removeSchema(strict.schema as object);
    coercingAjv.removeSchema(coercing.schema as object);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

function compile(schema: Record<string, unknown>) {
  // `$id` is dropped: validators are shared by all tenants and ajv refuses a second one.
  const { $id: _id, ...rest } = schema;
  return { strict: strictAjv.compile(rest), coercing: coercingAjv.compile(structuredClone(rest)) };
}

/** Validates `data` (coerced in place when `coerce`), with problems named from `prefix`. */
export function validateJson(cacheKey: string, schema: Record<string, unknown>, data: unknown, prefix: string, coerce = false): FieldProblem[] {
  let entry = compiled.get(cacheKey);
  if (!entry) {
    entry = compile(schema);
    if (compiled.size >= 500) {
      const [oldest, old] = compiled.entries().next().value!;
      strictAjv.removeSchema(old.strict.schema as object);
      coercingAjv.removeSchema(old.coercing.schema as object);
      compiled.delete(oldest);
    }
    compiled.set(cacheKey, entry);
  }
  const validate = coerce ? entry.coercing : entry.strict;
  return validate(data) ? [] : problems(validate.errors, prefix);
}

function problems(errors: readonly ErrorObject[] | null | undefined, prefix: string): FieldProblem[] {
  return (errors ?? []).map((e) => {
    const parts = e.instancePath
      .split('/')
      .slice(1)
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    let message = e.message ?? 'is not valid';
    if (e.keyword === 'required') parts.push(String(e.params.missingProperty));
    if (e.keyword === 'additionalProperties') {
      parts.push(String(e.params.additionalProperty));
      message = 'is not allowed by the schema';
    }
    if (e.keyword === 'enum') message = `must be one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    return { path: [prefix, ...parts].filter(Boolean).join('.'), message };
  });
}
