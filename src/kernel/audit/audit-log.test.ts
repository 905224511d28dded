import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../../../test/support/test-database.js';
import { isId } from '../crypto/ids.js';
import { appendAudit, auditHash, GENESIS_HASH, type AuditEntry } from './audit-log.js';
import { verifyAuditChain } from './verify.js';

let t: TestDatabase;
let db: Kysely<any>;

beforeAll(async () => {
  t = await openTestDatabase();
  db = t.database.db;
});
afterAll(async () => {
  await t?.close();
});

const entry = (i: number): AuditEntry => ({
  tenantId: 'in.ka',
  actorId: 'usr_test',
  action: 'application.submitted',
  entityType: 'application',
  entityId: `app_${i}`,
  requestId: `req_${i}`,
  data: { i, nested: { z: [1, 'two'], a: true }, at: new Date(0) },
});

const append = (e: AuditEntry) => db.transaction().execute((trx) => appendAudit(trx, e));
const count = async () => Number((await db.selectFrom('kernel.audit_log').select((eb) => eb.fn.countAll().as('c')).executeTakeFirstOrThrow()).c);

/** Changes rows the way an attacker with superuser rights would: with the append-only trigger off. */
const tamper = (statement: string) =>
  db.transaction().execute(async (trx) => {
    await sql`set local session_replication_role = replica`.execute(trx);
    await sql.raw(statement).execute(trx);
  });

// The tests build on one another: each tamper test first restores a clean copy of the log.
describe('audit log', () => {
  it('verifies an empty log', async () => {
    expect(await verifyAuditChain(db)).toEqual({ ok: true, entries: 0, problems: [] });
  });

  it('appends linked entries numbered from 1 inside the caller’s transaction', async () => {
    const first = await append(entry(1));
    expect(first.n).toBe(1);
    const second = await append(entry(2));
    expect(second.n).toBe(2);
    const rows = await db.selectFrom('kernel.audit_log').selectAll().orderBy('n').execute();
    expect(rows.map((r) => Number(r.n))).toEqual([1, 2]);
    expect(rows[0]!.prev_hash).toBe(GENESIS_HASH);
    expect(rows[1]!.prev_hash).toBe(first.hash);
    expect(rows[1]!.hash).toBe(second.hash);
    expect(isId(rows[0]!.id, 'aud')).toBe(true);
    expect(rows[0]).toMatchObject({ tenant_id: 'in.ka', actor_id: 'usr_test', entity_id: 'app_1', request_id: 'req_1' });
    expect(rows[0]!.data).toEqual({ i: 1, nested: { z: [1, 'two'], a: true }, at: '1970-01-01T00:00:00.000Z' });
    expect(await verifyAuditChain(db)).toEqual({ ok: true, entries: 2, problems: [] });
  });

  it('refuses to run outside a transaction', async () => {
    await expect(appendAudit(db, entry(0))).rejects.toThrow(/inside a transaction/);
  });

  it('leaves no entry and no gap when the transaction rolls back', async () => {
    const before = await count();
    await expect(
      db.transaction().execute(async (trx) => {
        await appendAudit(trx, entry(99));
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    expect(await count()).toBe(before);
    const next = await append({ actorId: 'usr_x', action: 'a', entityType: 'e', entityId: 'e1' });
    expect(next.n).toBe(before + 1);
    expect((await verifyAuditChain(db)).ok).toBe(true);
  });

  it('keeps a contiguous valid chain under 20 concurrent writers', async () => {
    const before = await count();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => append(entry(100 + i))));
    expect(results.map((r) => r.n).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => before + 1 + i));
    expect(await verifyAuditChain(db)).toEqual({ ok: true, entries: before + 20, problems: [] });
  });

  it('refuses UPDATE, DELETE and TRUNCATE without bypassing the trigger', async () => {
    await expect(sql`update kernel.audit_log set action = 'x' where n = 1`.execute(db)).rejects.toThrow(/append-only/);
    await expect(sql`delete from kernel.audit_log where n = 1`.execute(db)).rejects.toThrow(/append-only/);
    await expect(sql`truncate kernel.audit_log`.execute(db)).rejects.toThrow(/append-only/);
    await expect(sql`delete from kernel.audit_head`.execute(db)).rejects.toThrow(/append-only/);
    expect((await verifyAuditChain(db)).ok).toBe(true);
  });

  it('detects a modified entry', async () => {
    await tamper(`update kernel.audit_log set data = '{"i": 2, "forged": true}' where n = 2`);
    expect(await problems()).toEqual([[2, 'modified']]);
    await tamper(`update kernel.audit_log set at = at + interval '1 second' where n = 3`);
    expect(await problems()).toEqual([[2, 'modified'], [3, 'modified']]);
  });

  it('detects an entry forged with a correctly recomputed hash, by the broken link after it', async () => {
    await resetLog(5);
    const row = await db.selectFrom('kernel.audit_log').selectAll().where('n', '=', 3).executeTakeFirstOrThrow();
    const forged = { ...row.data, forged: true };
    const hash = auditHash(row.prev_hash, {
      n: 3, id: row.id, at: new Date(row.at).toISOString(), tenantId: row.tenant_id, actorId: row.actor_id,
      action: row.action, entityType: row.entity_type, entityId: row.entity_id, requestId: row.request_id, data: forged,
    });
    await tamper(`update kernel.audit_log set data = '${JSON.stringify(forged)}', hash = '${hash}' where n = 3`);
    expect(await problems()).toEqual([[4, 'broken link']]);
  });

  it('detects a deleted middle entry', async () => {
    await resetLog(5);
    await tamper('delete from kernel.audit_log where n = 3');
    expect(await problems()).toEqual([[3, 'deleted']]);
    const report = await verifyAuditChain(db);
    expect(report.entries).toBe(4);
    expect(report.problems[0]!.problem).toContain('entry 3 is missing');
  });

  it('detects a deleted last entry through the head checkpoint', async () => {
    await resetLog(5);
    await tamper('delete from kernel.audit_log where n >= 4');
    expect(await problems()).toEqual([[4, 'deleted']]);
    expect((await verifyAuditChain(db)).problems[0]!.problem).toContain('entries 4..5 are missing at the end');
  });
});

async function problems(): Promise<Array<[number, string]>> {
  const report = await verifyAuditChain(db);
  expect(report.ok).toBe(report.problems.length === 0);
  return report.problems.map((p) => [p.n, p.problem.split(':')[0]!]);
}

/** Empties the log (as an attacker could) and writes `entries` fresh entries through the API. */
async function resetLog(entries: number): Promise<void> {
  await tamper(`delete from kernel.audit_log; update kernel.audit_head set n = 0, hash = '${GENESIS_HASH}'`);
  for (let i = 1; i <= entries; i++) await append(entry(i));
  expect(await verifyAuditChain(db)).toEqual({ ok: true, entries, problems: [] });
}
