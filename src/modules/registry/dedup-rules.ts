import { sql, type Kysely } from '../../kernel/index.js';

/** A piece of SQL with its parameters. */
type RawBuilder<_T> = ReturnType<typeof sql.raw>;
import type { DedupCondition, Registry } from './definition.js';
import type { IndexRow } from './sealing.js';

/** Why a candidate matched one condition, without the values themselves (they may be PII). */
export interface Reason {
  field: string;
  match: DedupCondition['match'];
  score: number;
  detail: string;
}

export interface Candidate {
  recordId: string;
  score: number;
  rule: string;
  reasons: Reason[];
}

const DEFAULT_MIN = 0.5;
const DEFAULT_MAX_EDITS = 2;
const PER_RULE = 20;

interface Compiled {
  /** The join condition on alias `i<k>` (besides record, registry, tenant and field). */
  where: RawBuilder<unknown>;
  score: RawBuilder<unknown>;
  detail: (score: number) => string;
  min?: number;
}

/**
 * One condition against the subject's own index row: the same digests and normalised values the
 * stored records have, so PII is compared keyed-to-keyed and never decrypted.
 */
function compile(registry: Registry, cond: DedupCondition, s: IndexRow, i: string): Compiled | undefined {
  const pii = registry.definition.fields[cond.field]?.pii ?? false;
  const col = (c: string) => sql.ref(`${i}.${c}`);
  switch (cond.match) {
    case 'exact':
      if (pii) return s.value_bidx ? { where: sql`${col('value_bidx')} = ${s.value_bidx}`, score: sql`1.0`, detail: () => 'same value (blind index)' } : undefined;
      return s.value_text ? { where: sql`${col('value_text')} = ${s.value_text}`, score: sql`1.0`, detail: () => 'same value' } : undefined;
    case 'fuzzy':
      if (pii) {
        if (!s.phonetic) return undefined;
        return { where: sql`${col('phonetic')} = ${s.phonetic}`, score: sql`case when ${col('value_bidx')} = ${s.value_bidx} then 1.0 else 0.9 end`, detail: (x) => (x === 1 ? 'same value (blind index)' : 'sounds alike (keyed double metaphone)') };
      }
      if (!s.value_text) return undefined;
      return {
        // The partial-index predicates let the planner use the trigram index.
        where: sql`${col('value_date')} is null and ${col('value_num')} is null and ${col('value_text')} % ${s.value_text} and similarity(${col('value_text')}, ${s.value_text}) >= ${cond.min ?? DEFAULT_MIN}`,
        score: sql`similarity(${col('value_text')}, ${s.value_text})`,
        detail: (x) => `trigram similarity ${x.toFixed(2)} (at least ${cond.min ?? DEFAULT_MIN})`,
        min: cond.min ?? DEFAULT_MIN,
      };
    case 'phonetic':
      return s.phonetic ? { where: sql`${col('phonetic')} = ${s.phonetic}`, score: sql`1.0`, detail: () => 'sounds alike (double metaphone)' } : undefined;
    case 'withinDays': {
      if (!s.value_date) return undefined;
      const days = cond.days ?? 0;
      return {
        where: sql`${col('value_date')} between ${s.value_date}::date - ${days}::int and ${s.value_date}::date + ${days}::int`,
        score: sql`1.0 - abs(${col('value_date')} - ${s.value_date}::date)::float8 / ${days + 1}`,
        detail: (x) => `${Math.round((1 - x) * (days + 1))} days apart (at most ${days})`,
      };
    }
    case 'editDistance': {
      if (!s.value_text) return undefined;
      const max = cond.max ?? DEFAULT_MAX_EDITS;
      return {
        where: sql`levenshtein(${col('value_text')}, ${s.value_text}) <= ${max}`,
        score: sql`1.0 - levenshtein(${col('value_text')}, ${s.value_text})::float8 / ${max + 1}`,
        detail: (x) => `${Math.round((1 - x) * (max + 1))} edits apart (at most ${max})`,
      };
    }
    case 'withinRange': {
      if (s.value_num === null) return undefined;
      const delta = cond.delta ?? 0;
      return {
        where: sql`${col('value_num')} between ${s.value_num}::numeric - ${delta} and ${s.value_num}::numeric + ${delta}`,
        score: sql`1.0 - abs(${col('value_num')} - ${s.value_num}::numeric)::float8 / ${delta + 1}`,
        detail: (x) => `${((1 - x) * (delta + 1)).toFixed(2)} apart (at most ${delta})`,
      };
    }
  }
}

/**
 * Candidates for a record with index rows `subject`: every rule is one query joining the index
 * once per condition; a candidate scores the mean of its conditions' scores in its best rule.
 * Runs inside a transaction (the trigram threshold is set for it alone).
 */
export async function findCandidates(db: Kysely<any>, registry: Registry, subject: readonly IndexRow[], excludeId: string | null): Promise<Candidate[]> {
  const dedup = registry.definition.dedup;
  if (!dedup) return [];
  const byField = new Map(subject.map((r) => [r.field, r]));
  const best = new Map<string, Candidate>();
  for (const rule of dedup.rules) {
    const compiled: Compiled[] = [];
    for (const [k, cond] of rule.all.entries()) {
      const s = byField.get(cond.field);
      const c = s && compile(registry, cond, s, `i${k}`);
      if (!c) break;
      compiled.push(c);
    }
    // A rule whose fields the subject lacks cannot match.
    if (compiled.length !== rule.all.length) continue;
    const mins = compiled.map((c) => c.min).filter((m): m is number => m !== undefined);
    if (mins.length) await sql`select set_config('pg_trgm.similarity_threshold', ${String(Math.min(...mins))}, true)`.execute(db);
    const joins = rule.all.slice(1).map((cond, j) => {
      const k = j + 1;
      return sql`join registry.record_index ${sql.ref(`i${k}`)} on ${sql.ref(`i${k}.record_id`)} = i0.record_id and ${sql.ref(`i${k}.field`)} = ${cond.field} and ${compiled[k]!.where}`;
    });
    const scores = compiled.map((c, k) => sql`${c.score} as ${sql.ref(`s${k}`)}`);
    const { rows } = await sql<Record<string, unknown>>`
      select i0.record_id, ${sql.join(scores)}
      from registry.record_index i0 ${sql.join(joins, sql` `)}
      where i0.registry_id = ${registry.id} and i0.tenant_id = ${registry.tenantId} and i0.field = ${rule.all[0]!.field}
        and ${compiled[0]!.where} ${excludeId ? sql`and i0.record_id <> ${excludeId}` : sql``}
      limit ${PER_RULE * 5}`.execute(db);
    for (const row of rows) {
      const parts = compiled.map((_, k) => Number(row[`s${k}`]));
      const score = Math.round((parts.reduce((a, b) => a + b, 0) / parts.length) * 1000) / 1000;
      const id = String(row.record_id);
      if ((best.get(id)?.score ?? -1) >= score) continue;
      best.set(id, {
        recordId: id,
        score,
        rule: rule.name,
        reasons: rule.all.map((cond, k) => ({ field: cond.field, match: cond.match, score: Math.round(parts[k]! * 1000) / 1000, detail: compiled[k]!.detail(parts[k]!) })),
      });
    }
  }
  return [...best.values()]
    .filter((c) => c.score >= dedup.threshold)
    .sort((a, b) => b.score - a.score || a.recordId.localeCompare(b.recordId))
    .slice(0, PER_RULE);
}
