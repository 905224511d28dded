import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { defineOperation, newId, z, type FieldProblem, type OperationContext } from '../../kernel/index.js';
import type { Registry } from './definition.js';
import { RegistryErrors } from './errors.js';
import { setPath } from './field-values.js';
import { insertRecords, toRow } from './record-store.js';
import { checkReadRequest, present, queryFlag, READ, reason, WRITE } from './records.js';
import { registryCode, requireRegistry, tenantCode } from './registries.js';
import { assignNumbers, sealRecords, validateRecord } from './sealing.js';
import { mayReadPlainPii } from './visibility.js';

export const MAX_IMPORT_ROWS = 50_000;
const MAX_EXPORT = 10_000;
/** Unique values looked up per query. */
const UNIQUE_PROBE = 2_000;

const rowReport = z.object({ row: z.number().int(), errors: z.array(z.object({ path: z.string(), message: z.string() })) });
type RowReport = z.infer<typeof rowReport>;

/** CSV: one column per field, nested ones by dotted header (`child.firstName`); an empty cell leaves the field out. */
function readRows(format: 'csv' | 'json', content: string): unknown[] {
  let rows: unknown[];
  if (format === 'json') {
    try {
      rows = JSON.parse(content);
    } catch (err) {
      throw RegistryErrors.importUnreadable(`not JSON (${(err as Error).message})`);
    }
    if (!Array.isArray(rows)) throw RegistryErrors.importUnreadable('expected a JSON array of records');
  } else {
    let cells: Array<Record<string, string>>;
    try {
      cells = parse(content, { columns: true, skip_empty_lines: true, bom: true, trim: true });
    } catch (err) {
      throw RegistryErrors.importUnreadable((err as Error).message);
    }
    rows = cells.map((cellsOfRow) => {
      const data: Record<string, unknown> = {};
      for (const [header, cell] of Object.entries(cellsOfRow)) if (cell !== '') setPath(data, header, /^[[{]/.test(cell) ? parseJsonCell(cell) : cell);
      return data;
    });
  }
  if (rows.length > MAX_IMPORT_ROWS) throw RegistryErrors.importUnreadable(`more than ${MAX_IMPORT_ROWS} rows; split the file`);
  return rows;
}

function parseJsonCell(cell: string): unknown {
  try {
    return JSON.parse(cell);
  } catch {
    return cell;
  }
}

/**
 * Validates, seals and writes many records: bad rows are reported with their row number (1-based,
 * header excluded) and field; unique values are checked within the file and against the registry.
 */
export async function importRecords(ctx: OperationContext, registry: Registry, format: 'csv' | 'json', content: string, onError: 'reject' | 'skip') {
  const rows = readRows(format, content);
  const failed: RowReport[] = [];
  const good: Array<{ row: number; data: Record<string, unknown> }> = [];
  for (const [i, data] of rows.entries()) {
    const at = `rows.${i + 1}`;
    const errors: FieldProblem[] = typeof data === 'object' && data !== null && !Array.isArray(data) ? validateRecord(registry, data, at, format === 'csv') : [{ path: at, message: 'must be an object' }];
    if (errors.length) failed.push({ row: i + 1, errors });
    else good.push({ row: i + 1, data: data as Record<string, unknown> });
  }
  // Numbers, sealing and the unique check run in the import's transaction: a refused import uses
  // up no numbers. (In a skip-import, a row refused for a unique clash after numbering leaves a gap.)
  return ctx.transaction(async (tx) => {
    await assignNumbers(ctx, registry, good.map((g) => g.data));
    const sealed = await sealRecords(ctx, registry, good.map((g) => g.data));
    const clashes = await uniqueClashes(ctx, registry, sealed.map((s, i) => ({ row: good[i]!.row, index: s.index })));
    for (const [row, errors] of clashes) failed.push({ row, errors });
    failed.sort((x, y) => x.row - y.row);
    if (failed.length && onError === 'reject') throw RegistryErrors.importRejected(failed.flatMap((f) => f.errors).slice(0, 1000), failed.slice(0, 1000));
    const entries = good.map((g, i) => ({ row: g.row, id: newId('rec'), sealed: sealed[i]! })).filter((e) => !clashes.has(e.row));
    if (entries.length > 0) {
      await insertRecords(tx.db, registry, ctx.actor.id, entries);
      await tx.audit({ action: 'registry.record.imported', entityType: 'registry', entityId: registry.id, tenantId: registry.tenantId, data: { registry: registry.code, format, created: entries.length, failed: failed.length, ids: entries.slice(0, 1000).map((e) => e.id) } });
      await tx.emit({ name: 'registry.records.imported', tenantId: registry.tenantId, payload: { registry: registry.code, created: entries.length } });
    }
    return { received: rows.length, created: entries.length, ids: entries.map((e) => e.id), failed };
  });
}

/** Rows whose unique values repeat an earlier row or a stored record, with the field named. */
async function uniqueClashes(ctx: OperationContext, registry: Registry, rows: Array<{ row: number; index: Array<{ field: string; unique_key: string | null }> }>): Promise<Map<number, FieldProblem[]>> {
  const clashes = new Map<number, FieldProblem[]>();
  const add = (row: number, field: string, message: string) => clashes.set(row, [...(clashes.get(row) ?? []), { path: `rows.${row}.${field}`, message }]);
  const seen = new Map<string, number>();
  const byField = new Map<string, string[]>();
  for (const r of rows) {
    for (const ix of r.index) {
      if (ix.unique_key === null) continue;
      const key = `${ix.field}\u0000${ix.unique_key}`;
      const first = seen.get(key);
      if (first !== undefined) add(r.row, ix.field, `repeats row ${first}; must be unique`);
      else {
        seen.set(key, r.row);
        byField.set(ix.field, [...(byField.get(ix.field) ?? []), ix.unique_key]);
      }
    }
  }
  for (const [field, keys] of byField) {
    for (let i = 0; i < keys.length; i += UNIQUE_PROBE) {
      const taken = await ctx.db.selectFrom('record_index').select('unique_key').where('registry_id', '=', registry.id).where('field', '=', field).where('unique_key', 'in', keys.slice(i, i + UNIQUE_PROBE)).execute();
      for (const t of taken) add(seen.get(`${field}\u0000${t.unique_key}`)!, field, 'another record already has this value; must be unique');
    }
  }
  return clashes;
}

function flatten(value: Record<string, unknown>, prefix = '', out: Record<string, string> = {}): Record<string, string> {
  for (const [name, v] of Object.entries(value)) {
    const path = prefix ? `${prefix}.${name}` : name;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) flatten(v as Record<string, unknown>, path, out);
    else out[path] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  return out;
}

const scope = { tenantId: tenantCode, registry: registryCode };

export const bulkOperations = {
  importRecords: defineOperation({
    summary: 'Import records from CSV or JSON, with a report per bad row (row number, field, message)',
    description: `onError=reject (default): any bad row refuses the whole file (422 REGISTRY_IMPORT_REJECTED, the report in rows); onError=skip: the good rows are written, the bad ones reported. Up to ${MAX_IMPORT_ROWS} rows per call. Duplicate detection is not run per row (use checkDuplicates afterwards).`,
    permission: WRITE,
    http: { method: 'POST', path: '/registries/:registry/import', status: 200 },
    input: z.object({ ...scope, format: z.enum(['csv', 'json']), content: z.string().min(1), onError: z.enum(['reject', 'skip']).default('reject') }),
    output: z.object({ received: z.number().int(), created: z.number().int(), ids: z.array(z.string()), failed: z.array(rowReport) }),
    async handler(ctx, input) {
      return importRecords(ctx, await requireRegistry(ctx, input.tenantId, input.registry), input.format, input.content, input.onError);
    },
  }),

  exportRecords: defineOperation({
    summary: 'Export active records as CSV or JSON, masked per role; plain=true with a reason exports PII (audited per record)',
    permission: READ,
    http: { method: 'GET', path: '/registries/:registry/export' },
    input: z.object({ ...scope, format: z.enum(['csv', 'json']).default('json'), plain: queryFlag, reason: reason.optional(), cursor: z.string().max(64).optional().describe('nextCursor of the previous part') }),
    output: z.object({ format: z.enum(['csv', 'json']), count: z.number().int(), content: z.string(), nextCursor: z.string().nullable() }),
    async handler(ctx, input) {
      checkReadRequest(input);
      if (input.plain && !mayReadPlainPii(ctx.actor)) throw RegistryErrors.piiForbidden();
      const registry = await requireRegistry(ctx, input.tenantId, input.registry);
      let query = ctx.db.selectFrom('records').selectAll().where('registry_id', '=', registry.id).where('tenant_id', '=', registry.tenantId).where('status', '=', 'active');
      if (input.cursor) query = query.where('id', '>', input.cursor);
      const rows = await query.orderBy('id').limit(MAX_EXPORT + 1).execute();
      const page = rows.slice(0, MAX_EXPORT);
      const records = [];
      for (const r of page) records.push(await present(ctx, registry, toRow(r), { plain: input.plain, reason: input.reason }));
      const nextCursor = rows.length > MAX_EXPORT ? String(page[page.length - 1]!.id) : null;
      if (input.format === 'json') return { format: 'json' as const, count: records.length, content: JSON.stringify(records.map((r) => ({ id: r.id, ...r.data }))), nextCursor };
      const flat = records.map((r) => ({ id: r.id, ...flatten(r.data) }));
      const columns = ['id', ...[...new Set(flat.flatMap((f) => Object.keys(f)))].filter((c) => c !== 'id').sort()];
      return { format: 'csv' as const, count: records.length, content: stringify(flat, { header: true, columns }), nextCursor };
    },
  }),
};
