import { jsonSchemaProblem, z, type FieldProblem } from '../../kernel/index.js';
import { RegistryErrors } from './errors.js';

const FIELD_PATH = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,4}$/;
export const fieldPath = z.string().regex(FIELD_PATH, 'a property name, or a dotted path to a nested one (child.firstName)');
const level = z.enum(['plain', 'masked', 'hidden']);
const roleCode = z.string().min(1).max(41);

/** Per-field flags; a field without flags is stored in the clear, unindexed, visible to all readers. */
export const fieldFlags = z.object({
  pii: z.boolean().default(false).describe('encrypted at rest; exact search through a blind index only'),
  searchable: z.boolean().default(false).describe('indexed for exact, prefix and fuzzy search (PII: exact only)'),
  unique: z.boolean().default(false).describe('no two active records share the value'),
  fuzzy: z.boolean().default(false).describe('PII only: also keep keyed double-metaphone codes, for sound-alike matching (see README)'),
  visibility: z
    .object({
      default: level.optional().describe('for roles not listed; plain when unset (PII is still masked unless read with plain=true)'),
      roles: z.record(roleCode, level).default({}),
    })
    .default({ roles: {} }),
});

const condition = z.object({
  field: fieldPath,
  match: z.enum(['exact', 'fuzzy', 'phonetic', 'withinDays', 'editDistance', 'withinRange']),
  min: z.number().min(0).max(1).optional().describe('fuzzy: the least trigram similarity (default 0.5)'),
  days: z.number().int().min(0).max(3660).optional().describe('withinDays: how far apart two dates may be'),
  max: z.number().int().min(1).max(5).optional().describe('editDistance: the most edits (default 2)'),
  delta: z.number().min(0).optional().describe('withinRange: how far apart two numbers may be'),
});

const rule = z.object({ name: z.string().min(1).max(100), all: z.array(condition).min(1).max(6) });

export const dedupConfig = z.object({
  threshold: z.number().min(0).max(1).default(0.8).describe('a candidate is reported when its best rule scores at least this'),
  onCreate: z.boolean().default(true),
  rules: z.array(rule).min(1).max(10),
});

export const definitionInput = z.object({
  schema: z.record(z.string(), z.unknown()).describe('JSON Schema 2020-12 of a record; the root is an object'),
  fields: z.record(fieldPath, fieldFlags).default({}),
  ownerField: fieldPath.optional().describe('the field holding the user id of the citizen the record is about'),
  numbering: z
    .object({ field: fieldPath, format: z.string().min(1).max(100).describe('a reference ID format, e.g. births.registration') })
    .optional()
    .describe('a human-facing number given to each new record that lacks one, from reference ID formats'),
  dedup: dedupConfig.optional(),
});
export type Definition = z.output<typeof definitionInput>;
export type FieldFlags = z.output<typeof fieldFlags>;
export type DedupCondition = z.output<typeof condition>;
export type DedupConfig = z.output<typeof dedupConfig>;

export type FieldKind = 'text' | 'date' | 'number';

/** A field that has a row in `record_index`. */
export interface IndexedField {
  path: string;
  kind: FieldKind;
  flags: FieldFlags;
}

/** A registry as the record code uses it: its definition, with what follows from it worked out. */
export interface Registry {
  id: string;
  number: number;
  tenantId: string;
  code: string;
  name: string;
  description: string | null;
  version: number;
  status: 'active' | 'disabled';
  definition: Definition;
  piiFields: string[];
  indexed: Map<string, IndexedField>;
  createdAt: string;
  updatedAt: string;
}

/** The JSON Schema node of a dotted path, or undefined. */
function schemaAt(schema: Record<string, unknown>, path: string): Record<string, unknown> | undefined {
  let at: Record<string, unknown> | undefined = schema;
  for (const part of path.split('.')) {
    const props = at?.properties as Record<string, Record<string, unknown>> | undefined;
    at = props?.[part];
    if (!at) return undefined;
  }
  return at;
}

function kindOf(node: Record<string, unknown>): FieldKind {
  const types = Array.isArray(node.type) ? node.type : [node.type];
  if (types.includes('integer') || types.includes('number')) return 'number';
  if (node.format === 'date' || node.format === 'date-time') return 'date';
  return 'text';
}

const PLAIN_ONLY: ReadonlySet<string> = new Set(['withinDays', 'editDistance', 'withinRange']);

/**
 * Checks what the schema alone cannot: flags name fields the JSON Schema has, dedup rules use
 * matches the field can support (a PII field has no plain value to compare by distance).
 */
export function checkDefinition(definition: Definition): Map<string, IndexedField> {
  const problems: FieldProblem[] = [];
  if (definition.schema.type !== 'object') problems.push({ path: 'definition.schema.type', message: 'the root must be "object" (a record is an object)' });
  const compileProblem = jsonSchemaProblem(definition.schema);
  if (compileProblem) problems.push({ path: 'definition.schema', message: compileProblem });
  const indexed = new Map<string, IndexedField>();
  const nodeOf = (path: string, at: string) => {
    const node = schemaAt(definition.schema, path);
    if (!node) problems.push({ path: at, message: `the schema has no property ${path}` });
    return node;
  };
  for (const [path, flags] of Object.entries(definition.fields)) {
    const node = nodeOf(path, `definition.fields.${path}`);
    if (!node) continue;
    if (flags.fuzzy && !flags.pii) problems.push({ path: `definition.fields.${path}.fuzzy`, message: 'only for PII fields: plain searchable text fields are fuzzy-searchable already' });
    if (flags.pii || flags.searchable || flags.unique) indexed.set(path, { path, kind: kindOf(node), flags });
  }
  if (definition.ownerField) nodeOf(definition.ownerField, 'definition.ownerField');
  if (definition.numbering) {
    const node = nodeOf(definition.numbering.field, 'definition.numbering.field');
    if (node && kindOf(node) !== 'text') problems.push({ path: 'definition.numbering.field', message: 'numbers are text: the field must be a string' });
    const required = (definition.schema.required as string[] | undefined) ?? [];
    // Seva fills the number after validation: a schema requiring it would refuse every new record.
    if (required.includes(definition.numbering.field)) problems.push({ path: 'definition.numbering.field', message: 'leave a numbered field out of "required": Seva fills it' });
  }
  for (const [r, rule] of (definition.dedup?.rules ?? []).entries()) {
    for (const [c, cond] of rule.all.entries()) {
      const at = `definition.dedup.rules.${r}.all.${c}`;
      const node = nodeOf(cond.field, `${at}.field`);
      if (!node) continue;
      const flags = definition.fields[cond.field] ?? fieldFlags.parse({});
      const field = indexed.get(cond.field) ?? { path: cond.field, kind: kindOf(node), flags };
      // A field a rule compares is indexed even when not searchable: the rule needs its row.
      indexed.set(cond.field, field);
      if (flags.pii && PLAIN_ONLY.has(cond.match)) problems.push({ path: `${at}.match`, message: `${cond.match} needs the plain value; ${cond.field} is PII (use exact, or fuzzy with the field flagged fuzzy)` });
      if (flags.pii && (cond.match === 'fuzzy' || cond.match === 'phonetic') && !flags.fuzzy) problems.push({ path: `${at}.match`, message: `${cond.field} is PII without the fuzzy flag: only exact matches are possible` });
      if (cond.match === 'withinDays' && field.kind !== 'date') problems.push({ path: `${at}.match`, message: `withinDays needs a date field (format: date); ${cond.field} is ${field.kind}` });
      if (cond.match === 'withinRange' && field.kind !== 'number') problems.push({ path: `${at}.match`, message: `withinRange needs a number field; ${cond.field} is ${field.kind}` });
      if ((cond.match === 'fuzzy' || cond.match === 'phonetic') && field.kind !== 'text') problems.push({ path: `${at}.match`, message: `${cond.match} compares text; ${cond.field} is a ${field.kind} (use editDistance)` });
    }
  }
  if (problems.length) throw RegistryErrors.definitionInvalid(problems);
  return indexed;
}

export function toRegistry(row: any): Registry {
  const definition = definitionInput.parse(typeof row.definition === 'string' ? JSON.parse(row.definition) : row.definition);
  const indexed = checkDefinition(definition);
  return {
    id: row.id,
    number: Number(row.number),
    tenantId: row.tenant_id,
    code: row.code,
    name: row.name,
    description: row.description ?? null,
    version: Number(row.version),
    status: row.status,
    definition,
    piiFields: Object.entries(definition.fields)
      .filter(([, f]) => f.pii)
      .map(([p]) => p),
    indexed,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}
