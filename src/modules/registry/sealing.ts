import { sql, validateJson, type FieldProblem, type OperationContext } from '../../kernel/index.js';
import type { IndexedField, Registry } from './definition.js';
import { asText, deletePath, getPath, normaliseText, setPath } from './field-values.js';

/** One `record_index` row without its record id. */
export interface IndexRow {
  field: string;
  value_text: string | null;
  value_bidx: string | null;
  phonetic: string | null;
  value_date: string | null;
  value_num: string | null;
  unique_key: string | null;
}

/** A record ready to store: plain fields, sealed PII, its index rows and owner digest. */
export interface SealedRecord {
  data: Record<string, unknown>;
  sealed: Record<string, string>;
  index: IndexRow[];
  ownerBidx: string | null;
}

export const bidxPurpose = (registry: Registry, field: string) => `registry:${registry.code}:${field}`;
const phoneticPurpose = (registry: Registry, field: string) => `registry:${registry.code}:${field}:phonetic`;
export const OWNER_PURPOSE = 'registry:owner';

export function validateRecord(registry: Registry, data: unknown, prefix: string, coerce = false): FieldProblem[] {
  return validateJson(`${registry.id}:${registry.version}`, registry.definition.schema, data, prefix, coerce);
}

/**
 * Double-metaphone codes per word (`mohammed abdul` → `MHMT APTL`), for many values in one
 * statement. PostgreSQL's `dmetaphone` reads only the first word, hence the split.
 */
export async function phoneticCodes(ctx: OperationContext, values: readonly string[]): Promise<string[]> {
  if (values.length === 0) return [];
  const { rows } = await sql<{ code: string | null }>`
    select (select string_agg(dmetaphone(w), ' ' order by n) from regexp_split_to_table(v, '\\s+') with ordinality as t(w, n) where dmetaphone(w) <> '') as code
    from unnest(${sql.val(values)}::text[]) with ordinality as u(v, i) order by i`.execute(ctx.db);
  return rows.map((r) => r.code ?? '');
}

/**
 * Splits validated records into what is stored: PII values leave `data` and are encrypted one by
 * one; index rows carry plain values for plain fields and only keyed digests for PII ones.
 * Many records at once, so that a bulk import pays one phonetic query per batch.
 */
export async function sealRecords(ctx: OperationContext, registry: Registry, records: readonly Record<string, unknown>[]): Promise<SealedRecord[]> {
  const t = registry.tenantId;
  const fields = [...registry.indexed.values()];
  const pending: Array<{ row: IndexRow; text: string; keyed: boolean; field: IndexedField }> = [];
  const out: SealedRecord[] = [];
  for (const record of records) {
    const data = structuredClone(record);
    const sealed: Record<string, string> = {};
    for (const path of registry.piiFields) {
      const value = getPath(data, path);
      if (value === undefined || value === null) continue;
      sealed[path] = await ctx.crypto.encrypt(t, JSON.stringify(value));
      deletePath(data, path);
    }
    const index: IndexRow[] = [];
    for (const field of fields) {
      const value = getPath(record, field.path);
      if (value === undefined || value === null) continue;
      const text = normaliseText(asText(value));
      const pii = field.flags.pii;
      const row: IndexRow = {
        field: field.path,
        value_text: pii ? null : text,
        value_bidx: pii ? ctx.crypto.blindIndex(t, bidxPurpose(registry, field.path), text) : null,
        phonetic: null,
        value_date: !pii && field.kind === 'date' ? text.slice(0, 10) : null,
        value_num: !pii && field.kind === 'number' ? String(Number(value)) : null,
        unique_key: null,
      };
      if (field.flags.unique) row.unique_key = pii ? row.value_bidx : text;
      if (field.kind === 'text' && (!pii || field.flags.fuzzy)) pending.push({ row, text, keyed: pii, field });
      index.push(row);
    }
    const owner = registry.definition.ownerField ? getPath(record, registry.definition.ownerField) : undefined;
    out.push({ data, sealed, index, ownerBidx: owner === undefined || owner === null ? null : ctx.crypto.blindIndex(t, OWNER_PURPOSE, asText(owner)) });
  }
  const codes = await phoneticCodes(ctx, pending.map((p) => p.text));
  pending.forEach((p, i) => {
    const code = codes[i]!;
    if (!code) return;
    // PII keeps only an HMAC of its codes: equal sounds still match, the codes cannot be read back.
    p.row.phonetic = p.keyed ? ctx.crypto.blindIndex(t, phoneticPurpose(registry, p.field.path), code) : code;
  });
  return out;
}

/** The query-side twin of `sealRecords` for one value of one field. */
export async function probeFor(ctx: OperationContext, registry: Registry, field: IndexedField, value: unknown): Promise<IndexRow> {
  const [sealed] = await sealRecords(ctx, { ...registry, piiFields: [], indexed: new Map([[field.path, field]]) }, [buildRecord(field.path, value)]);
  return sealed!.index[0]!;
}

function buildRecord(path: string, value: unknown): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  setPath(record, path, value);
  return record;
}

/** The full record again, PII decrypted; only ever returned through `viewOf`. */
export async function unseal(ctx: OperationContext, tenantId: string, data: Record<string, unknown>, sealed: Record<string, string>): Promise<Record<string, unknown>> {
  const full = structuredClone(data);
  for (const [path, ciphertext] of Object.entries(sealed)) setPath(full, path, JSON.parse(await ctx.crypto.decrypt(tenantId, ciphertext)));
  return full;
}

/**
 * Gives records that lack one a number from the registry's reference ID format (in batches of
 * 1000, the most `generateIds` allocates at once). Called inside the write's transaction, so the
 * numbers of a refused write are not used up.
 */
export async function assignNumbers(ctx: OperationContext, registry: Registry, records: Array<Record<string, unknown>>): Promise<void> {
  const numbering = registry.definition.numbering;
  if (!numbering) return;
  const lacking = records.filter((r) => getPath(r, numbering.field) === undefined);
  for (let i = 0; i < lacking.length; i += 1000) {
    const batch = lacking.slice(i, i + 1000);
    const { ids } = await ctx.call<{ ids: string[] }>('reference', 'generateIds', { tenantId: registry.tenantId, format: numbering.format, count: batch.length });
    batch.forEach((r, k) => setPath(r, numbering.field, ids[k]));
  }
}

