import { defineOperation, sql, z, type OperationContext } from '../../kernel/index.js';

/** A piece of SQL with its parameters. */
type RawBuilder<_T> = ReturnType<typeof sql.raw>;
import { fieldPath, type IndexedField, type Registry } from './definition.js';
import { RegistryErrors } from './errors.js';
import { toRow } from './record-store.js';
import { present, READ, recordOut } from './records.js';
import { registryCode, requireRegistry, tenantCode } from './registries.js';
import { probeFor } from './sealing.js';

const DEFAULT_MIN = 0.4;
const DEFAULT_EDITS = 2;

export const criterion = z.object({
  field: fieldPath,
  mode: z.enum(['exact', 'prefix', 'fuzzy', 'phonetic', 'range']).describe('fuzzy: trigram similarity for text, edit distance for dates and numbers; PII: exact (and fuzzy/phonetic when flagged fuzzy)'),
  value: z.union([z.string().min(1).max(200), z.number()]).optional(),
  min: z.number().min(0.1).max(1).optional().describe('fuzzy text: the least similarity (default 0.4)'),
  maxEdits: z.number().int().min(1).max(5).optional().describe('fuzzy dates and numbers: the most edits (default 2)'),
  from: z.union([z.string().max(40), z.number()]).optional().describe('range: lower bound (date or number), inclusive'),
  to: z.union([z.string().max(40), z.number()]).optional().describe('range: upper bound, inclusive'),
});
export type Criterion = z.output<typeof criterion>;

export const searchInput = z.object({
  tenantId: tenantCode,
  registry: registryCode,
  criteria: z.array(criterion).max(6).default([]).describe('all must hold; none lists every active record'),
  limit: z.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional().describe('nextCursor of the previous page'),
});

interface Compiled {
  where: RawBuilder<unknown>;
  score: RawBuilder<unknown>;
  min?: number;
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

async function compile(ctx: OperationContext, registry: Registry, c: Criterion, k: number): Promise<Compiled> {
  const at = `criteria.${k}`;
  const field: IndexedField | undefined = registry.indexed.get(c.field);
  if (!field) throw RegistryErrors.searchInvalid(`${at}.field`, `${c.field} is not searchable in ${registry.code} (flag it searchable)`);
  const pii = field.flags.pii;
  const col = (name: string) => sql.ref(`i${k}.${name}`);
  const needValue = () => {
    if (c.value === undefined) throw RegistryErrors.searchInvalid(`${at}.value`, `${c.mode} needs a value`);
    return c.value;
  };
  const plainOnly = () => {
    if (pii) throw RegistryErrors.searchInvalid(`${at}.mode`, `${c.field} is PII: only exact search${field.flags.fuzzy ? ', fuzzy and phonetic (sound-alike)' : ''} is possible`);
  };
  switch (c.mode) {
    case 'exact': {
      const probe = await probeFor(ctx, registry, field, needValue());
      return pii ? { where: sql`${col('value_bidx')} = ${probe.value_bidx}`, score: sql`1` } : { where: sql`${col('value_text')} = ${probe.value_text}`, score: sql`1` };
    }
    case 'prefix': {
      plainOnly();
      const probe = await probeFor(ctx, registry, { ...field, kind: 'text' }, needValue());
      return { where: sql`${col('value_text')} like ${`${escapeLike(probe.value_text!)}%`}`, score: sql`1` };
    }
    case 'phonetic':
    case 'fuzzy': {
      if (field.kind !== 'text') {
        plainOnly();
        if (c.mode === 'phonetic') throw RegistryErrors.searchInvalid(`${at}.mode`, `phonetic compares text; ${c.field} is a ${field.kind}`);
        const probe = await probeFor(ctx, registry, field, needValue());
        const max = c.maxEdits ?? DEFAULT_EDITS;
        return { where: sql`levenshtein(${col('value_text')}, ${probe.value_text}) <= ${max}`, score: sql`1.0 - levenshtein(${col('value_text')}, ${probe.value_text})::float8 / ${max + 1}` };
      }
      if (pii && !field.flags.fuzzy) plainOnly();
      const probe = await probeFor(ctx, registry, field, needValue());
      if (c.mode === 'phonetic' || pii) {
        if (!probe.phonetic) throw RegistryErrors.searchInvalid(`${at}.value`, 'the value has no sound to compare (no letters)');
        return { where: sql`${col('phonetic')} = ${probe.phonetic}`, score: pii ? sql`case when ${col('value_bidx')} = ${probe.value_bidx} then 1.0 else 0.9 end` : sql`1` };
      }
      const min = c.min ?? DEFAULT_MIN;
      return {
        where: sql`${col('value_date')} is null and ${col('value_num')} is null and ${col('value_text')} % ${probe.value_text} and similarity(${col('value_text')}, ${probe.value_text}) >= ${min}`,
        score: sql`similarity(${col('value_text')}, ${probe.value_text})`,
        min,
      };
    }
    case 'range': {
      plainOnly();
      if (field.kind === 'text') throw RegistryErrors.searchInvalid(`${at}.mode`, `range needs a date or number field; ${c.field} is text`);
      if (c.from === undefined && c.to === undefined) throw RegistryErrors.searchInvalid(`${at}.from`, 'range needs from, to, or both');
      const column = field.kind === 'date' ? 'value_date' : 'value_num';
      const cast = field.kind === 'date' ? sql`::date` : sql`::numeric`;
      const parts = [sql`${col(column)} is not null`];
      if (c.from !== undefined) parts.push(sql`${col(column)} >= ${String(c.from)}${cast}`);
      if (c.to !== undefined) parts.push(sql`${col(column)} <= ${String(c.to)}${cast}`);
      return { where: sql.join(parts, sql` and `), score: sql`1` };
    }
  }
}

function decodeCursor(cursor: string): { score: number; id: string } {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof parsed.s === 'number' && typeof parsed.i === 'string') return { score: parsed.s, id: parsed.i };
  } catch {
    // falls through to the error
  }
  throw RegistryErrors.badCursor();
}

/** Record ids and scores of one page, best first; index rows exist for active records only. */
export async function searchIds(ctx: OperationContext, registry: Registry, criteria: readonly Criterion[], limit: number, cursor?: string, offset = 0): Promise<Array<{ id: string; score: number }>> {
  const compiled = await Promise.all(criteria.map((c, k) => compile(ctx, registry, c, k)));
  const after = cursor ? decodeCursor(cursor) : undefined;
  return ctx.transaction(async (tx) => {
    const mins = compiled.map((c) => c.min).filter((m): m is number => m !== undefined);
    if (mins.length) await sql`select set_config('pg_trgm.similarity_threshold', ${String(Math.min(...mins))}, true)`.execute(tx.db);
    let matches: RawBuilder<unknown>;
    if (compiled.length === 0) {
      matches = sql`select r.id, 1::float8 as score from registry.records r where r.registry_id = ${registry.id} and r.tenant_id = ${registry.tenantId} and r.status = 'active'`;
    } else {
      const joins = criteria.slice(1).map((c, j) => {
        const k = j + 1;
        return sql`join registry.record_index ${sql.ref(`i${k}`)} on ${sql.ref(`i${k}.record_id`)} = i0.record_id and ${sql.ref(`i${k}.field`)} = ${c.field} and ${compiled[k]!.where}`;
      });
      const score = sql.join(
        compiled.map((c) => sql`(${c.score})::float8`),
        sql` + `,
      );
      matches = sql`select i0.record_id as id, (${score}) / ${compiled.length} as score
        from registry.record_index i0 ${sql.join(joins, sql` `)}
        where i0.registry_id = ${registry.id} and i0.tenant_id = ${registry.tenantId} and i0.field = ${criteria[0]!.field} and ${compiled[0]!.where}`;
    }
    const { rows } = await sql<{ id: string; score: number }>`
      select m.id, m.score from (${matches}) m
      ${after ? sql`where m.score < ${after.score} or (m.score = ${after.score} and m.id > ${after.id})` : sql``}
      order by m.score desc, m.id limit ${limit} offset ${offset}`.execute(tx.db);
    return rows.map((r) => ({ id: String(r.id), score: Number(r.score) }));
  });
}

export function encodeCursor(last: { score: number; id: string }): string {
  return Buffer.from(JSON.stringify({ s: last.score, i: last.id })).toString('base64url');
}

/** Records by id in the given order, as the caller may see them. */
export async function presentMany(ctx: OperationContext, registry: Registry, ids: readonly string[]) {
  if (ids.length === 0) return [];
  const rows = await ctx.db.selectFrom('records').selectAll().where('id', 'in', ids).where('registry_id', '=', registry.id).execute();
  const byId = new Map(rows.map((r: any) => [r.id, toRow(r)]));
  return Promise.all(ids.filter((id) => byId.has(id)).map((id) => present(ctx, registry, byId.get(id)!)));
}

export const searchOperations = {
  searchRecords: defineOperation({
    summary: 'Search a registry: exact, prefix, fuzzy (trigram / edit distance), phonetic and range criteria; best first; masked per role',
    description: 'Every criterion must hold; the score is the mean of the criteria’s scores (1 for exact, prefix and range). Pages follow `nextCursor`. PII fields are exact-searchable through blind indexes only.',
    permission: READ,
    http: { method: 'POST', path: '/registries/:registry/search', status: 200 },
    input: searchInput,
    output: z.object({ items: z.array(recordOut.extend({ score: z.number() })), nextCursor: z.string().nullable() }),
    async handler(ctx, input) {
      const registry = await requireRegistry(ctx, input.tenantId, input.registry);
      const hits = await searchIds(ctx, registry, input.criteria, input.limit + 1, input.cursor);
      const page = hits.slice(0, input.limit);
      const records = await presentMany(ctx, registry, page.map((h) => h.id));
      const scores = new Map(page.map((h) => [h.id, h.score]));
      return { items: records.map((r) => ({ ...r, score: Math.round(scores.get(r.id)! * 1000) / 1000 })), nextCursor: hits.length > input.limit ? encodeCursor(page[page.length - 1]!) : null };
    },
  }),
};
