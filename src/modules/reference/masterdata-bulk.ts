import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { defineOperation, newId, sql, z, type FieldProblem } from '../../kernel/index.js';
import { ReferenceErrors } from './errors.js';
import { requireSchema, schemaCode } from './masterdata-schemas.js';
import { RECORD_KEY, resolvedRecords, toRecord, validateRecord, type RecordOut } from './masterdata-records.js';
import { masterdataArea, type ReferenceState } from './reference-state.js';
import { tenantCode } from './tenant-chain.js';

const MAX_ROWS = 10_000;
/** Rows per insert statement: keeps the parameter count far below PostgreSQL's 65535. */
const CHUNK = 500;

interface Row {
  /** 1-based, in the order of the file (a CSV's header line is not a row). */
  row: number;
  key: unknown;
  data: unknown;
}

const rowReport = z.object({ row: z.number().int(), key: z.string().nullable(), errors: z.array(z.object({ path: z.string(), message: z.string() })) });

/**
 * CSV: a `key` column and one column per field, nested fields by dotted header (`fee.amount`);
 * an empty cell leaves the field out, a cell holding a JSON array or object is parsed.
 * JSON: an array of `{ key, data }`.
 */
function readRows(format: 'csv' | 'json', content: string): Row[] {
  let rows: Row[];
  if (format === 'json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(content);
    } catch (err) {
      throw ReferenceErrors.importUnreadable(`not JSON (${(err as Error).message})`);
    }
    if (!Array.isArray(parsed)) throw ReferenceErrors.importUnreadable('expected a JSON array of { key, data }');
    rows = parsed.map((item, i) => ({ row: i + 1, key: (item as any)?.key, data: (item as any)?.data }));
  } else {
    let cells: Array<Record<string, string>>;
    try {
      cells = parse(content, { columns: true, skip_empty_lines: true, bom: true, trim: true });
    } catch (err) {
      throw ReferenceErrors.importUnreadable((err as Error).message);
    }
    if (cells.length > 0 && !('key' in cells[0]!)) throw ReferenceErrors.importUnreadable('the header has no "key" column');
    rows = cells.map((cellsOfRow, i) => {
      const data: Record<string, unknown> = {};
      for (const [header, cell] of Object.entries(cellsOfRow)) if (header !== 'key' && cell !== '') setPath(data, header.split('.'), parseCell(cell));
      return { row: i + 1, key: cellsOfRow.key, data };
    });
  }
  if (rows.length > MAX_ROWS) throw ReferenceErrors.importUnreadable(`more than ${MAX_ROWS} rows; split the file`);
  return rows;
}

function parseCell(cell: string): unknown {
  if (!/^[[{]/.test(cell)) return cell;
  try {
    return JSON.parse(cell);
  } catch {
    return cell;
  }
}

function setPath(target: Record<string, unknown>, parts: string[], value: unknown): void {
  let at = target;
  for (const part of parts.slice(0, -1)) {
    if (typeof at[part] !== 'object' || at[part] === null) at[part] = {};
    at = at[part] as Record<string, unknown>;
  }
  at[parts[parts.length - 1]!] = value;
}

function flatten(value: Record<string, unknown>, prefix = '', out: Record<string, string> = {}): Record<string, string> {
  for (const [name, v] of Object.entries(value)) {
    const path = prefix ? `${prefix}.${name}` : name;
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0) flatten(v as Record<string, unknown>, path, out);
    else out[path] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  return out;
}

export function bulkOperations(state: ReferenceState) {
  return {
    importRecords: defineOperation({
      summary: 'Import records (CSV or JSON) into a tenant: new keys are created, changed ones updated',
      description:
        'Every row is checked against the schema first. With onError=reject (the default) any bad row refuses the whole import ' +
        '(422 MASTERDATA_IMPORT_REJECTED, with a report per row); with onError=skip the good rows are written and the bad ones reported.',
      permission: 'reference.masterdata.write',
      http: { method: 'POST', path: '/masterdata/schemas/:schema/import', status: 200 },
      input: z.object({
        tenantId: tenantCode,
        schema: schemaCode,
        format: z.enum(['csv', 'json']),
        content: z.string().min(1),
        onError: z.enum(['reject', 'skip']).default('reject'),
      }),
      output: z.object({ received: z.number().int(), created: z.number().int(), updated: z.number().int(), unchanged: z.number().int(), failed: z.array(rowReport) }),
      async handler(ctx, input) {
        const schema = await requireSchema(ctx, input.tenantId, input.schema, 'schema');
        const rows = readRows(input.format, input.content);
        const failed: Array<z.infer<typeof rowReport>> = [];
        const good: Array<{ key: string; data: Record<string, unknown> }> = [];
        const seen = new Map<string, number>();
        for (const row of rows) {
          const errors: FieldProblem[] = [];
          const key = typeof row.key === 'string' ? row.key : null;
          if (!key || !RECORD_KEY.test(key)) errors.push({ path: `rows.${row.row}.key`, message: 'letters, digits and _ . : - (up to 100)' });
          else if (seen.has(key)) errors.push({ path: `rows.${row.row}.key`, message: `the key appears again (first in row ${seen.get(key)})` });
          if (typeof row.data !== 'object' || row.data === null || Array.isArray(row.data)) errors.push({ path: `rows.${row.row}.data`, message: 'must be an object' });
          else errors.push(...validateRecord(schema, row.data, `rows.${row.row}.data`, input.format === 'csv'));
          if (key && !seen.has(key)) seen.set(key, row.row);
          if (errors.length) failed.push({ row: row.row, key, errors });
          else good.push({ key: key!, data: row.data as Record<string, unknown> });
        }
        if (failed.length && input.onError === 'reject') throw ReferenceErrors.importRejected(failed.flatMap((f) => f.errors).slice(0, 1000), failed);

        let created = 0;
        let updated = 0;
        await ctx.transaction(async (tx) => {
          for (let i = 0; i < good.length; i += CHUNK) {
            const chunk = good.slice(i, i + CHUNK);
            // An unchanged row matches no `where` and returns nothing: it keeps its version.
            const written = await tx.db
              .insertInto('records')
              .values(chunk.map((r) => ({ id: newId('mdr'), tenant_id: input.tenantId, schema_code: input.schema, key: r.key, data: JSON.stringify(r.data) })))
              .onConflict((oc) =>
                oc
                  .columns(['schema_code', 'tenant_id', 'key'])
                  .doUpdateSet((eb) => ({ data: eb.ref('excluded.data'), version: sql`records.version + 1`, updated_at: new Date() }))
                  .where(sql`records.data`, 'is distinct from', sql`excluded.data`),
              )
              .returning(['version'])
              .execute();
            for (const w of written) {
              if (Number(w.version) === 1) created++;
              else updated++;
            }
          }
          if (created + updated > 0) {
            const keys = good.map((g) => g.key);
            await tx.audit({
              action: 'reference.masterdata.imported',
              entityType: 'masterdata_schema',
              entityId: input.schema,
              tenantId: input.tenantId,
              data: { format: input.format, created, updated, failed: failed.length, keys: keys.slice(0, 1000) },
            });
            await tx.emit({ name: 'reference.masterdata.changed', tenantId: input.tenantId, payload: { schema: input.schema, tenant: input.tenantId, change: 'imported', keys: keys.slice(0, 1000) } });
            state.cache.drop(masterdataArea(input.schema));
          }
        });
        return { received: rows.length, created, updated, unchanged: good.length - created - updated, failed };
      },
    }),

    exportRecords: defineOperation({
      summary: 'Export a schema’s records as CSV or JSON: the tenant’s own, or all it sees (resolved)',
      permission: 'reference.masterdata.read',
      http: { method: 'GET', path: '/masterdata/schemas/:schema/export' },
      readsInherited: true,
      input: z.object({ tenant: tenantCode, schema: schemaCode, format: z.enum(['csv', 'json']).default('json'), scope: z.enum(['resolved', 'own']).default('own') }),
      output: z.object({ format: z.enum(['csv', 'json']), count: z.number().int(), content: z.string() }),
      async handler(ctx, input) {
        let records: RecordOut[];
        if (input.scope === 'resolved') records = [...(await resolvedRecords(ctx, state, input.tenant, input.schema)).values()];
        else {
          const rows = await ctx.db.selectFrom('records').selectAll().where('schema_code', '=', input.schema).where('tenant_id', '=', input.tenant).orderBy('key').execute();
          records = rows.map(toRecord);
        }
        if (input.format === 'json') {
          return { format: 'json' as const, count: records.length, content: JSON.stringify(records.map((r) => ({ key: r.key, data: r.data })), null, 2) };
        }
        const flat = records.map((r) => ({ key: r.key, ...flatten(r.data) }));
        const columns = ['key', ...[...new Set(flat.flatMap((f) => Object.keys(f)))].filter((c) => c !== 'key').sort()];
        return { format: 'csv' as const, count: records.length, content: stringify(flat, { header: true, columns }) };
      },
    }),
  };
}
