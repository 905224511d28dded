import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { FieldProblem } from '../../kernel/index.js';
import { ReferenceErrors } from './errors.js';

// ajv-formats is CommonJS with a default export; NodeNext sees the module object.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => void;

function makeAjv(coerce: boolean): Ajv2020 {
  // allErrors: an administrator fixing a record wants every problem at once, not the first.
  const ajv = new Ajv2020({ allErrors: true, strict: true, logger: false, coerceTypes: coerce ? 'array' : false });
  addFormats(ajv);
  return ajv;
}

/** Records sent as JSON are checked as they are; CSV cells are text and are coerced to the schema's types. */
const strictAjv = makeAjv(false);
const coercingAjv = makeAjv(true);
const compiled = new Map<string, { strict: ValidateFunction; coercing: ValidateFunction }>();

/**
 * Compiles a schema definition, or throws MASTERDATA_SCHEMA_INVALID. `$id` is dropped: the
 * validators are shared by all tenants, and ajv refuses a second schema with the same `$id`.
 */
export function checkSchemaDefinition(definition: Record<string, unknown>): void {
  if (definition.type !== 'object') throw ReferenceErrors.schemaInvalid('the root must be "type": "object" (a record is an object)');
  compile(definition);
}

function compile(definition: Record<string, unknown>) {
  const { $id: _id, ...rest } = definition;
  try {
    return { strict: strictAjv.compile(rest), coercing: coercingAjv.compile(structuredClone(rest)) };
  } catch (err) {
    throw ReferenceErrors.schemaInvalid((err as Error).message);
  }
}

/** The validators of one stored schema version; compiled once per process. */
export function validatorFor(cacheKey: string, definition: Record<string, unknown>) {
  let entry = compiled.get(cacheKey);
  if (!entry) {
    entry = compile(definition);
    if (compiled.size >= 500) {
      const [oldest, old] = compiled.entries().next().value!;
      strictAjv.removeSchema(old.strict.schema as object);
      coercingAjv.removeSchema(old.coercing.schema as object);
      compiled.delete(oldest);
    }
    compiled.set(cacheKey, entry);
  }
  return entry;
}

/** ajv's errors as `{ path, message }` with a dotted path from `prefix`: `body.data.fee.amount`. */
export function schemaProblems(errors: readonly ErrorObject[] | null | undefined, prefix: string): FieldProblem[] {
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
