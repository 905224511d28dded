import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../../../test/support/test-database.js';
import { isId } from '../crypto/ids.js';
import { appendAudit, auditHash, GENESIS_HASH, SEAL_LOCK, sealAllAudit, sealAudit, type AuditEntry } from './audit-log.js';
import { auditMigrations } from './migrations.js';
import { runMigrations } from '../db/migrations.js';
import { kernelMigrations } from '../kernel-migrations.js';
import { openDatabase } from '../db/database.js';
import { createFreshPostgresDatabase, dropPostgresDatabase } from '../../../test/support/test-database.js';
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
const seal = () => sealAllAudit(db);
const sealed = (id: string) => db.selectFrom('kernel.audit_log').select(['n', 'hash']).where('entity_id', '=', id).executeTakeFirstOrThrow();
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
    expect(await verifyAuditChain(db)).toEqual({ ok: true, entries: 0, unsealed: 0, problems: [] });
  });

  it('writes entries unsealed inside the caller’s transaction, then seals them into a chain numbered from 1', async () => {
    await append(entry(1));
    await append(entry(2));
    const unsealed = await db.selectFrom('kernel.audit_log').selectAll().orderBy('seq').execute();
    expect(unsealed.map((r) => [r.n, r.hash])).toEqual([[null, null], [null, null]]);
    expect(await verifyAuditChain(db)).toEqual({ ok: true, entries: 0, unsealed: 2, problems: [] });

    expect(await seal()).toBe(2);
    const rows = await db.selectFrom('kernel.audit_log').selectAll().orderBy('n').execute();
    expect(rows.map((r) => Number(r.n))).toEqual([1, 2]);
    expect(rows.map((r) => r.entity_id)).toEqual(['app_1', 'app_2']);
    expect(rows[0]!.prev_hash).toBe(GENESIS_HASH);
    expect(rows[1]!.prev_hash).toBe(rows[0]!.hash);
    expect(isId(rows[0]!.id, 'aud')).toBe(true);
    expect(rows[0]).toMatchObject({ tenant_id: 'in.ka', actor_id: 'usr_test', entity_id: 'app_1', request_id: 'req_1' });
    expect(rows[0]!.data).toEqual({ i: 1, nested: { z: [1, 'two'], a: true }, at: '1970-01-01T00:00:00.000Z' });
    expect(await db.selectFrom('kernel.audit_head').select(['n', 'hash']).executeTakeFirstOrThrow()).toEqual({ n: rows[1]!.n, hash: rows[1]!.hash });
    expect(await verifyAuditChain(db)).toEqual({ ok: true, entries: 2, unsealed: 0, problems: [] });
    expect(await seal()).toBe(0);
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
    await append({ actorId: 'usr_x', action: 'a', entityType: 'e', entityId: 'after-rollback' });
    await seal();
    expect(Number((await sealed('after-rollback')).n)).toBe(before + 1);
    expect((await verifyAuditChain(db)).ok).toBe(true);
  });

  it('seals an entry that commits after a later-written one in a later round, keeping n without gaps', async () => {
    const before = await count();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    // The slow transaction writes first (lower seq) but commits last.
    const slow = db.transaction().execute(async (trx) => {
      await appendAudit(trx, { actorId: 'usr_x', action: 'a', entityType: 'e', entityId: 'slow' });
      await held;
    });
    if (process.env.DATABASE_URL) {
      // PostgreSQL: a second connection commits meanwhile and is sealed without waiting for the slow one.
      await append({ actorId: 'usr_x', action: 'a', entityType: 'e', entityId: 'fast' });
      expect(await sealAudit(db)).toBe(1);
      expect(Number((await sealed('fast')).n)).toBe(before + 1);
      release();
      await slow;
      await seal();
      expect(Number((await sealed('slow')).n)).toBe(before + 2);
    } else {
      release();
      await slow;
      await seal();
    }
    expect(await verifyAuditChain(db)).toMatchObject({ ok: true, unsealed: 0, problems: [] });
  });

  it('keeps a contiguous valid chain under 20 concurrent writers and two sealers', async () => {
    const before = await count();
    await Promise.all(Array.from({ length: 20 }, (_, i) => append(entry(100 + i)).then(() => (i % 5 === 0 ? sealAudit(db, 3) : 0))));
    await Promise.all([seal(), seal()]);
    const numbers = await db.selectFrom('kernel.audit_log').select('n').where('n', '>', before).orderBy('n').execute();
    expect(numbers.map((r) => Number(r.n))).toEqual(Array.from({ length: 20 }, (_, i) => before + 1 + i));
    expect(await verifyAuditChain(db)).toEqual({ ok: true, entries: before + 20, unsealed: 0, problems: [] });
  });

  // PostgreSQL: the embedded engine has one session, whose advisory locks are its own.
  it.skipIf(!process.env.DATABASE_URL)('seals nothing in the background while another process seals, then catches up', async () => {
    await append({ actorId: 'usr_x', action: 'a', entityType: 'e', entityId: 'while-locked' });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const lockTaken = new Promise<void>((resolve) => (locked = resolve));
    const other = db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(${SEAL_LOCK})`.execute(trx);
      locked();
      await held;
    });
    await lockTaken;
    expect(await sealAudit(db, 1000, { wait: false })).toBe(0);
    expect((await sealed('while-locked')).hash).toBeNull();
    release();
    await other;
    expect(await sealAudit(db, 1000, { wait: false })).toBeGreaterThanOrEqual(1);
    expect((await sealed('while-locked')).hash).not.toBeNull();
  });

  it('lets sealing fill the chain columns once, and nothing else change', async () => {
    await append({ actorId: 'usr_x', action: 'a', entityType: 'e', entityId: 'pending' });
    await expect(sql`update kernel.audit_log set action = 'x' where entity_id = 'pending'`.execute(db)).rejects.toThrow(/append-only/);
    await expect(
      sql`update kernel.audit_log set n = 999999, prev_hash = 'p', hash = 'h', data = '{"forged":true}' where entity_id = 'pending'`.execute(db),
    ).rejects.toThrow(/append-only/);
    await expect(sql`delete from kernel.audit_log where entity_id = 'pending'`.execute(db)).rejects.toThrow(/append-only/);
    await seal();
    await expect(sql`update kernel.audit_log set hash = 'h' where entity_id = 'pending'`.execute(db)).rejects.toThrow(/append-only/);
    expect((await verifyAuditChain(db)).ok).toBe(true);
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
  await seal();
  expect(await verifyAuditChain(db)).toEqual({ ok: true, entries, unsealed: 0, problems: [] });
}

describe('a log written before entries were sealed after commit', () => {
  it('stays a valid chain after the upgrade, and new entries are sealed on after it', async () => {
    const url = await createFreshPostgresDatabase();
    const old = await openDatabase({ databaseUrl: url, dataDir: 'memory://', poolSize: 2 });
    try {
      await runMigrations(old, [{ owner: 'kernel', migrations: [{ ...auditMigrations[0]!, name: 'audit_001_audit_log' }] }]);
      // Two entries as the earlier version wrote them: numbered and linked at write time.
      let prevHash = GENESIS_HASH;
      for (const n of [1, 2]) {
        const record = { n, id: `aud_old${n}`, at: new Date(n * 1000).toISOString(), tenantId: null, actorId: 'usr_old', action: 'old.entry', entityType: 'e', entityId: `old${n}`, requestId: null, data: { n } };
        const hash = auditHash(prevHash, record);
        await old.db.insertInto('kernel.audit_log').values({
          n, id: record.id, at: record.at, actor_id: record.actorId, action: record.action, entity_type: 'e', entity_id: record.entityId, data: JSON.stringify(record.data), prev_hash: prevHash, hash,
        }).execute();
        prevHash = hash;
      }
      await old.db.updateTable('kernel.audit_head').set({ n: 2, hash: prevHash }).execute();

      await runMigrations(old, [kernelMigrations]);
      expect(await verifyAuditChain(old.db)).toEqual({ ok: true, entries: 2, unsealed: 0, problems: [] });
      await old.db.transaction().execute((trx) => appendAudit(trx, { actorId: 'usr_new', action: 'new.entry', entityType: 'e', entityId: 'new1' }));
      expect(await sealAllAudit(old.db)).toBe(1);
      const rows = await old.db.selectFrom('kernel.audit_log').select(['n', 'seq', 'entity_id']).orderBy('n').execute();
      expect(rows.map((r) => [Number(r.n), Number(r.seq), r.entity_id])).toEqual([[1, 1, 'old1'], [2, 2, 'old2'], [3, 3, 'new1']]);
      expect(await verifyAuditChain(old.db)).toEqual({ ok: true, entries: 3, unsealed: 0, problems: [] });
    } finally {
      await old.close();
      if (url) await dropPostgresDatabase(url);
    }
  });
});
