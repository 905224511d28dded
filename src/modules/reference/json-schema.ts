import { jsonSchemaProblem } from '../../kernel/index.js';
import { ReferenceErrors } from './errors.js';

/** A master-data schema: an object at the root, compilable, or MASTERDATA_SCHEMA_INVALID. */
export function checkSchemaDefinition(definition: Record<string, unknown>): void {
  if (definition.type !== 'object') throw ReferenceErrors.schemaInvalid('the root must be "type": "object" (a record is an object)');
  const problem = jsonSchemaProblem(definition);
  if (problem) throw ReferenceErrors.schemaInvalid(problem);
}
