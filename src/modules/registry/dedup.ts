import { defineOperation, sql, z, type OperationContext, type TxContext } from '../../kernel/index.js';
import type { Registry } from './definition.js';
import { findCandidates, type Candidate } from './dedup-rules.js';
import { RegistryErrors } from './errors.js';
import { dropIndex, loadRecord, parseJson, reindex, writeVersion } from './record-store.js';
import { registryCode, requireRegistry, tenantCode } from './registries.js';
import { sealRecords, unseal, validateRecord, type IndexRow } from './sealing.js';

export const DECIDE = 'registry.dedup.decide';
const READ = 'registry.record.read';

const reasonOut = z.object({
  field: z.string(),
  match: z.string(),
  score: z.number(),
  detail: z.string().describe('how the field matched, never the values'),
});
export const candidateOut = z.object({
  recordId: z.string(),
  score: z.number(),
  rule: z.string(),
  reasons: z.array(reasonOut),
  decision: z.enum(['not_duplicate', 'duplicate', 'merge']).nullable(),
});

/** Keeps the latest finding per pair; a pair already decided keeps its decision. */
export async function recordCandidates(tx: TxContext, registry: Registry, recordId: string, candidates: readonly Candidate[]): Promise<void> {
  await tx.db
    .insertInto('duplicate_candidates')
    .values(candidates.map((c) => ({ record_id: recordId, candidate_id: c.recordId, tenant_id: registry.tenantId, score: c.score, reasons: JSON.stringify({ rule: c.rule, fields: c.reasons }) })))
    .onConflict((oc) =>
      oc
        .columns(['record_id', 'candidate_id'])
        .doUpdateSet((eb) => ({ score: eb.ref('excluded.score'), reasons: eb.ref('excluded.reasons'), found_at: sql`now()` }))
        .where('duplicate_candidates.decision', 'is', null),
    )
    .execute();
  await tx.db.updateTable('records').set({ review: 'pending' }).where('id', '=', recordId).execute();
}

async function subjectIndex(ctx: OperationContext, recordId: string): Promise<IndexRow[]> {
  return (await ctx.db.selectFrom('record_index').select(['field', 'value_text', 'value_bidx', 'phonetic', 'value_date', 'value_num', 'unique_key']).where('record_id', '=', recordId).execute()).map((r: any) => ({
    ...r,
    value_date: r.value_date === null ? null : typeof r.value_date === 'string' ? r.value_date.slice(0, 10) : isoDate(r.value_date),
    value_num: r.value_num === null ? null : String(r.value_num),
  }));
}

function isoDate(d: Date): string {
  // `date` columns come back as local-midnight Dates from pg; keep the calendar day.
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

function toCandidateOut(row: any) {
  const reasons = parseJson<{ rule: string; fields: z.input<typeof reasonOut>[] }>(row.reasons);
  return { recordId: String(row.candidate_id), score: Number(row.score), rule: reasons.rule, reasons: reasons.fields, decision: row.decision ?? null };
}

const scope = { tenantId: tenantCode, registry: registryCode };

export const dedupOperations = {
  checkDuplicates: defineOperation({
    summary: 'Evaluate the registry’s de-duplication rules for a stored record (candidates are recorded) or for data not yet stored',
    description: 'With `id`, the candidates are recorded for a decision and the record is marked `review: pending`; with `data`, nothing is written (a check before registering).',
    permission: READ,
    http: { method: 'POST', path: '/registries/:registry/duplicates/check', status: 200 },
    input: z.object({ ...scope, id: z.string().min(1).max(64).optional(), data: z.record(z.string(), z.unknown()).optional() }),
    output: z.object({ threshold: z.number(), candidates: z.array(candidateOut) }),
    async handler(ctx, input) {
      const registry = await requireRegistry(ctx, input.tenantId, input.registry);
      if ((input.id === undefined) === (input.data === undefined)) throw RegistryErrors.searchInvalid('id', 'send either id (a stored record) or data (a record to check)');
      const threshold = registry.definition.dedup?.threshold ?? 1;
      if (input.data) {
        const problems = validateRecord(registry, input.data, 'data');
        if (problems.length) throw RegistryErrors.recordInvalid(problems);
        // Index rows only: PII is digested for the comparison and not encrypted, nothing is stored.
        const [probe] = await sealRecords(ctx, { ...registry, piiFields: [] }, [input.data]);
        const candidates = await ctx.transaction((tx) => findCandidates(tx.db, registry, probe!.index, null));
        return { threshold, candidates: candidates.map((c) => ({ ...c, decision: null })) };
      }
      const record = await loadRecord(ctx.db, registry, input.id!);
      if (record.status !== 'active') throw RegistryErrors.recordState(`The record is ${record.status}; only active records are compared`);
      return ctx.transaction(async (tx) => {
        const candidates = await findCandidates(tx.db, registry, await subjectIndex(ctx, record.id), record.id);
        if (candidates.length) await recordCandidates(tx, registry, record.id, candidates);
        await tx.audit({ action: 'registry.dedup.checked', entityType: 'record', entityId: record.id, tenantId: registry.tenantId, data: { registry: registry.code, candidates: candidates.map((c) => c.recordId) } });
        const decided = await tx.db.selectFrom('duplicate_candidates').select(['candidate_id', 'decision']).where('record_id', '=', record.id).where('decision', 'is not', null).execute();
        const decisions = new Map(decided.map((d: any) => [d.candidate_id, d.decision]));
        return { threshold, candidates: candidates.map((c) => ({ ...c, decision: decisions.get(c.recordId) ?? null })) };
      });
    },
  }),

  listDuplicates: defineOperation({
    summary: 'Possible duplicates found in a registry, waiting for a decision (or all)',
    permission: READ,
    http: { method: 'GET', path: '/registries/:registry/duplicates' },
    input: z.object({ ...scope, state: z.enum(['pending', 'decided', 'all']).default('pending'), limit: z.coerce.number().int().min(1).max(200).default(50) }),
    output: z.object({ items: z.array(candidateOut.extend({ forRecord: z.string(), foundAt: z.string(), decidedBy: z.string().nullable(), reason: z.string().nullable() })) }),
    async handler(ctx, input) {
      const registry = await requireRegistry(ctx, input.tenantId, input.registry);
      let query = ctx.db
        .selectFrom('duplicate_candidates as d')
        .innerJoin('records as r', 'r.id', 'd.record_id')
        .selectAll('d')
        .where('r.registry_id', '=', registry.id)
        .where('d.tenant_id', '=', registry.tenantId);
      if (input.state === 'pending') query = query.where('d.decision', 'is', null);
      if (input.state === 'decided') query = query.where('d.decision', 'is not', null);
      const rows = await query.orderBy('d.found_at').limit(input.limit).execute();
      return { items: rows.map((r: any) => ({ ...toCandidateOut(r), forRecord: r.record_id, foundAt: new Date(r.found_at).toISOString(), decidedBy: r.decided_by ?? null, reason: r.reason ?? null })) };
    },
  }),

  decideDuplicate: defineOperation({
    summary: 'Decide a possible duplicate: not a duplicate; a duplicate of the candidate (the record is set aside); or merge it into the candidate',
    description: 'merge: the candidate gets, as a new version, every top-level field it lacks from the record; the record is marked merged. Each decision is audited with its reason.',
    permission: DECIDE,
    http: { method: 'POST', path: '/registries/:registry/records/:id/duplicates/:candidateId', status: 200 },
    input: z.object({ ...scope, id: z.string().min(1).max(64), candidateId: z.string().min(1).max(64), decision: z.enum(['not_duplicate', 'duplicate', 'merge']), reason: z.string().trim().min(3).max(500) }),
    output: candidateOut.extend({ forRecord: z.string(), decidedBy: z.string(), reason: z.string() }),
    async handler(ctx, input) {
      const registry = await requireRegistry(ctx, input.tenantId, input.registry);
      return ctx.transaction(async (tx) => {
        const record = await loadRecord(tx.db, registry, input.id, true);
        const pair = await tx.db.selectFrom('duplicate_candidates').selectAll().where('record_id', '=', record.id).where('candidate_id', '=', input.candidateId).forUpdate().executeTakeFirst();
        if (!pair) throw RegistryErrors.candidateNotFound();
        const answer = () => ({ ...toCandidateOut({ ...pair, decision: input.decision }), forRecord: record.id, decidedBy: String(pair.decided_by ?? ctx.actor.id), reason: String(pair.reason ?? input.reason) });
        if (pair.decision === input.decision) return answer();
        if (pair.decision) throw RegistryErrors.alreadyDecided(String(pair.decision));
        if (input.decision !== 'not_duplicate') {
          if (record.status !== 'active') throw RegistryErrors.recordState(`The record is ${record.status}; it cannot also be a duplicate`);
          const candidate = await loadRecord(tx.db, registry, input.candidateId, true);
          if (candidate.status !== 'active') throw RegistryErrors.recordState(`The candidate is ${candidate.status}`);
          if (input.decision === 'merge') await mergeInto(ctx, tx, registry, record, candidate, input.reason);
          await writeVersion(tx.db, registry, record, { data: record.data, sealed: record.sealed, ownerBidx: record.owner_bidx, status: input.decision === 'merge' ? 'merged' : 'duplicate', duplicateOf: candidate.id }, input.decision === 'merge' ? 'merged' : 'duplicate', ctx.actor.id, input.reason);
          await dropIndex(tx.db, record.id);
        }
        await tx.db.updateTable('duplicate_candidates').set({ decision: input.decision, decided_by: ctx.actor.id, decided_at: sql`now()`, reason: input.reason }).where('record_id', '=', record.id).where('candidate_id', '=', input.candidateId).execute();
        const open = await tx.db.selectFrom('duplicate_candidates').select('candidate_id').where('record_id', '=', record.id).where('decision', 'is', null).executeTakeFirst();
        if (!open || input.decision !== 'not_duplicate') await tx.db.updateTable('records').set({ review: 'cleared' }).where('id', '=', record.id).execute();
        await tx.audit({ action: 'registry.dedup.decided', entityType: 'record', entityId: record.id, tenantId: registry.tenantId, data: { registry: registry.code, candidate: input.candidateId, decision: input.decision, score: Number(pair.score), reason: input.reason } });
        await tx.emit({ name: 'registry.dedup.decided', tenantId: registry.tenantId, payload: { registry: registry.code, id: record.id, candidate: input.candidateId, decision: input.decision } });
        return { ...answer(), decidedBy: ctx.actor.id, reason: input.reason };
      });
    },
  }),
};

/** The survivor gains what it lacks; what both have keeps the survivor's value. */
async function mergeInto(ctx: OperationContext, tx: TxContext, registry: Registry, from: Awaited<ReturnType<typeof loadRecord>>, into: Awaited<ReturnType<typeof loadRecord>>, reason: string): Promise<void> {
  const source = await unseal(ctx, registry.tenantId, from.data, from.sealed);
  const target = await unseal(ctx, registry.tenantId, into.data, into.sealed);
  const gained = Object.keys(source).filter((k) => target[k] === undefined);
  if (gained.length === 0) return;
  for (const k of gained) target[k] = source[k];
  const [sealed] = await sealRecords(ctx, registry, [target]);
  await writeVersion(tx.db, registry, into, { data: sealed!.data, sealed: sealed!.sealed, ownerBidx: sealed!.ownerBidx, status: 'active' }, 'merged', ctx.actor.id, `${reason} (merged from ${from.id}: ${gained.join(', ')})`);
  // The merged record's index goes first, so its unique values can move to the survivor.
  await dropIndex(tx.db, from.id);
  await reindex(tx, registry, into.id, sealed!.index);
}
