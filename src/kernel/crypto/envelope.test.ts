import { createDecipheriv, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../../../test/support/test-database.js';
import { inTransaction } from '../db/transaction-scope.js';
import { KeyRing } from './envelope.js';

let t: TestDatabase;
let db: Kysely<any>;
const master = randomBytes(32);

beforeAll(async () => {
  t = await openTestDatabase();
  db = t.database.db;
});
afterAll(async () => {
  await t?.close();
});

const activeKeys = (tenantId: string) =>
  db.selectFrom('kernel.data_keys').selectAll().where('tenant_id', '=', tenantId).where('status', '=', 'active').execute();

describe('KeyRing', () => {
  it('round-trips text, including empty and non-ASCII text', async () => {
    const ring = new KeyRing(db, master);
    for (const text of ['Asha Devi', '', 'आशा देवी ✓', 'x'.repeat(10_000)]) {
      const sealed = await ring.encrypt('in.ka', text);
      expect(sealed).toMatch(/^v1\.dk_[0-9a-z]{26}\.[\w-]{16}\.[\w-]*\.[\w-]{22}$/);
      expect(await ring.decrypt('in.ka', sealed)).toBe(text);
      // A second ring has no cache: it must unwrap the stored key.
      expect(await new KeyRing(db, master).decrypt('in.ka', sealed)).toBe(text);
    }
  });

  it('gives a different ciphertext each time for the same plaintext', async () => {
    const ring = new KeyRing(db, master);
    const a = await ring.encrypt('in.ka', 'same');
    const b = await ring.encrypt('in.ka', 'same');
    expect(a).not.toBe(b);
    expect(a.split('.')[2]).not.toBe(b.split('.')[2]);
  });

  it('stores the data key only wrapped under the master key', async () => {
    const ring = new KeyRing(db, master);
    const sealed = await ring.encrypt('in.mh', 'secret');
    const rows = await activeKeys('in.mh');
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    // Unwrap by hand to learn the real data key, and prove it is the key that sealed the value.
    const [, nonce, body, tag] = String(row.wrapped_key).split('.');
    const key = gcmOpen(master, nonce!, body!, tag!, `seva-data-key:v1:in.mh:${row.id}`);
    const [, keyId, vNonce, vBody, vTag] = sealed.split('.');
    expect(gcmOpen(key, vNonce!, vBody!, vTag!, `seva-value:v1:in.mh:${keyId}`).toString()).toBe('secret');
    const stored = JSON.stringify(row);
    for (const form of ['hex', 'base64', 'base64url'] as const) expect(stored).not.toContain(key.toString(form));
    // Without the master key the stored row is useless.
    await expect(new KeyRing(db, randomBytes(32)).decrypt('in.mh', sealed)).rejects.toThrow(/cannot be unwrapped/);
  });

  it('refuses a ciphertext with any flipped byte', async () => {
    const ring = new KeyRing(db, master);
    const sealed = await ring.encrypt('in.ka', 'pay 100 rupees');
    const parts = sealed.split('.');
    for (const index of [2, 3, 4]) {
      const bytes = Buffer.from(parts[index]!, 'base64url');
      bytes[0]! ^= 0x01;
      const altered = [...parts];
      altered[index] = bytes.toString('base64url');
      await expect(ring.decrypt('in.ka', altered.join('.'))).rejects.toThrow(/cannot decrypt/);
    }
    await expect(ring.decrypt('in.ka', 'v2.' + parts.slice(1).join('.'))).rejects.toThrow(/not a v1/);
    await expect(ring.decrypt('in.ka', 'garbage')).rejects.toThrow(/not a v1/);
  });

  it('refuses to decrypt one tenant’s value as another tenant', async () => {
    const ring = new KeyRing(db, master);
    const sealed = await ring.encrypt('in.ka', 'private');
    await ring.encrypt('in.tn', 'warm up in.tn');
    await expect(ring.decrypt('in.tn', sealed)).rejects.toThrow(/another tenant/);
    await expect(new KeyRing(db, master).decrypt('in.tn', sealed)).rejects.toThrow(/another tenant/);
  });

  it('rotates: new values use the new key, old values still decrypt', async () => {
    const ring = new KeyRing(db, master);
    const before = await ring.encrypt('in.dl', 'old');
    const oldKeyId = before.split('.')[1];
    const newKeyId = await ring.rotate('in.dl');
    expect(newKeyId).not.toBe(oldKeyId);
    const after = await ring.encrypt('in.dl', 'new');
    expect(after.split('.')[1]).toBe(newKeyId);
    const fresh = new KeyRing(db, master);
    expect(await fresh.decrypt('in.dl', before)).toBe('old');
    expect(await fresh.decrypt('in.dl', after)).toBe('new');
    expect((await fresh.encrypt('in.dl', 'x')).split('.')[1]).toBe(newKeyId);
    const rows = await db.selectFrom('kernel.data_keys').select(['id', 'status']).where('tenant_id', '=', 'in.dl').execute();
    expect(rows.map((r) => `${r.id}:${r.status}`).sort()).toEqual([`${newKeyId}:active`, `${oldKeyId}:retired`].sort());
  });

  it('ends with one active key when rings race to create a tenant’s first key', async () => {
    const tenants = Array.from({ length: 8 }, (_, i) => `race.t${i}`);
    const rings = [new KeyRing(db, master), new KeyRing(db, master), new KeyRing(db, master)];
    const sealed = await Promise.all(
      tenants.flatMap((tenant) => rings.map(async (ring, i) => ({ tenant, text: `${tenant}/${i}`, value: await ring.encrypt(tenant, `${tenant}/${i}`) }))),
    );
    for (const tenant of tenants) expect(await activeKeys(tenant)).toHaveLength(1);
    const reader = new KeyRing(db, master);
    for (const s of sealed) expect(await reader.decrypt(s.tenant, s.value)).toBe(s.text);
  });

  it('never hands a key made inside an open transaction to a caller outside it, committed or rolled back', async () => {
    for (const outcome of ['commit', 'rollback'] as const) {
      const tenant = `open.${outcome}`;
      const ring = new KeyRing(db, master);
      let started!: () => void;
      const insideStarted = new Promise<void>((resolve) => (started = resolve));
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const inside = inTransaction(db, async () => {
        const sealing = ring.encrypt(tenant, 'inside');
        started();
        await sealing;
        await gate;
        if (outcome === 'rollback') throw new Error('undo');
      });
      await insideStarted;
      // Another request of the same process (not inside that transaction) wants the same first key meanwhile.
      const outside = ring.encrypt(tenant, 'outside');
      setTimeout(release, 50);
      if (outcome === 'rollback') await expect(inside).rejects.toThrow('undo');
      else await inside;
      const sealed = await outside;
      expect(await new KeyRing(db, master).decrypt(tenant, sealed)).toBe('outside');
      expect(await activeKeys(tenant)).toHaveLength(1);
    }
  });

  it('refuses a master key that is not 32 bytes', () => {
    expect(() => new KeyRing(db, randomBytes(16))).toThrow(/32-byte/);
  });
});

function gcmOpen(key: Buffer, nonce: string, body: string, tag: string, aad: string): Buffer {
  const d = createDecipheriv('aes-256-gcm', key, Buffer.from(nonce, 'base64url'));
  d.setAAD(Buffer.from(aad));
  d.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([d.update(Buffer.from(body, 'base64url')), d.final()]);
}
