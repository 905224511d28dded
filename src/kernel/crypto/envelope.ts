import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { afterCommit, currentTransaction, inTransaction } from '../db/transaction-scope.js';
import { newId } from './ids.js';

const ALGORITHM = 'aes-256-gcm';
const NONCE_BYTES = 12;
/** How long a cached "active key of tenant X" is trusted, so a rotation by another process is picked up. */
const ACTIVE_TTL_MS = 60_000;

/** A literal, not a parameter: index inference must see it imply the partial index's predicate. */
const ACTIVE_PREDICATE = sql<boolean>`status = 'active'`;

interface Sealed {
  nonce: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

/**
 * Envelope encryption: each tenant's values are sealed with that tenant's data key, and data
 * keys are stored only wrapped under the master key. Rotating a tenant's key retires the old
 * one (it still decrypts) without re-encrypting anything.
 */
export class KeyRing {
  /** Unwrapped keys by id; a key id never changes its key, so these never go stale. */
  private readonly keys = new Map<string, { tenantId: string; key: Buffer }>();
  private readonly active = new Map<string, { keyId: string; until: number }>();
  /** Callers in this process racing for a tenant's first key outside a transaction share one database round. */
  private readonly pending = new Map<string, Promise<string>>();

  constructor(
    private readonly db: Kysely<any>,
    private readonly masterKey: Buffer,
  ) {
    if (masterKey.length !== 32) throw new Error('KeyRing needs a 32-byte master key');
  }

  /** Seals `plaintext` for `tenantId`: `v1.<keyId>.<nonce>.<ciphertext>.<tag>` (base64url parts). */
  async encrypt(tenantId: string, plaintext: string): Promise<string> {
    const keyId = await this.activeKeyId(tenantId);
    const key = await this.dataKey(tenantId, keyId);
    const s = seal(key, Buffer.from(plaintext, 'utf8'), valueAad(tenantId, keyId));
    return ['v1', keyId, b64(s.nonce), b64(s.ciphertext), b64(s.tag)].join('.');
  }

  async decrypt(tenantId: string, ciphertext: string): Promise<string> {
    const parts = ciphertext.split('.');
    const [version, keyId, nonce, body, tag] = parts;
    if (parts.length !== 5 || version !== 'v1' || !keyId || nonce === undefined || body === undefined || !tag) {
      throw new Error('cannot decrypt: not a v1 envelope ciphertext');
    }
    const key = await this.dataKey(tenantId, keyId);
    const sealed = { nonce: unb64(nonce), ciphertext: unb64(body), tag: unb64(tag) };
    const plain = open(key, sealed, valueAad(tenantId, keyId));
    if (!plain) throw new Error('cannot decrypt: the ciphertext was altered or belongs to another tenant');
    return plain.toString('utf8');
  }

  /** Makes a new active key for the tenant; the previous one is retired but still decrypts. */
  async rotate(tenantId: string): Promise<string> {
    const keyId = await inTransaction(this.db, async (trx) => {
      await trx
        .updateTable('kernel.data_keys')
        .set({ status: 'retired', retired_at: sql`now()` })
        .where('tenant_id', '=', tenantId)
        .where('status', '=', 'active')
        .execute();
      // A concurrent rotation may have committed its key first; then that key is the new one.
      return (await this.insertKey(trx, tenantId)) ?? (await this.selectActive(trx, tenantId));
    });
    if (!keyId) throw new Error(`no active data key for tenant ${tenantId} after rotation`);
    afterCommit(() => this.active.set(tenantId, { keyId, until: Date.now() + ACTIVE_TTL_MS }));
    return keyId;
  }

  private async activeKeyId(tenantId: string): Promise<string> {
    const cached = this.active.get(tenantId);
    if (cached && cached.until > Date.now()) return cached.keyId;
    // A key made inside a transaction is invisible to everyone else until it commits, and gone if
    // it rolls back: such a caller finds or makes its key alone instead of sharing it.
    if (currentTransaction()) return this.loadOrCreateActive(tenantId);
    let pending = this.pending.get(tenantId);
    if (!pending) {
      pending = this.loadOrCreateActive(tenantId).finally(() => this.pending.delete(tenantId));
      this.pending.set(tenantId, pending);
    }
    return pending;
  }

  private async loadOrCreateActive(tenantId: string): Promise<string> {
    // The unique partial index admits one active key per tenant: a losing racer inserts
    // nothing and reads the winner's key instead.
    const db = this.conn();
    const keyId =
      (await this.selectActive(db, tenantId)) ?? (await this.insertKey(db, tenantId)) ?? (await this.selectActive(db, tenantId));
    if (!keyId) throw new Error(`cannot create a data key for tenant ${tenantId}`);
    afterCommit(() => this.active.set(tenantId, { keyId, until: Date.now() + ACTIVE_TTL_MS }));
    return keyId;
  }

  private async selectActive(db: Kysely<any>, tenantId: string): Promise<string | undefined> {
    const row = await db
      .selectFrom('kernel.data_keys')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('status', '=', 'active')
      .executeTakeFirst();
    return row?.id as string | undefined;
  }

  /** Inserts a fresh active key; undefined when another one is already active. */
  private async insertKey(db: Kysely<any>, tenantId: string): Promise<string | undefined> {
    const id = newId('dk');
    const key = randomBytes(32);
    const row = await db
      .insertInto('kernel.data_keys')
      .values({ id, tenant_id: tenantId, wrapped_key: this.wrap(tenantId, id, key), status: 'active' })
      .onConflict((oc) => oc.column('tenant_id').where(ACTIVE_PREDICATE).doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!row) return undefined;
    // A key made inside a caller's transaction is cached only once that transaction commits:
    // a rolled-back key must never encrypt anything.
    afterCommit(() => this.keys.set(id, { tenantId, key }));
    return id;
  }

  private async dataKey(tenantId: string, keyId: string): Promise<Buffer> {
    const cached = this.keys.get(keyId);
    if (cached) {
      if (cached.tenantId !== tenantId) throw new Error('cannot decrypt: the ciphertext belongs to another tenant');
      return cached.key;
    }
    const row = await this.conn()
      .selectFrom('kernel.data_keys')
      .select(['tenant_id', 'wrapped_key'])
      .where('id', '=', keyId)
      .executeTakeFirst();
    if (!row) throw new Error(`cannot decrypt: data key ${keyId} does not exist`);
    if (row.tenant_id !== tenantId) throw new Error('cannot decrypt: the ciphertext belongs to another tenant');
    const key = this.unwrap(tenantId, keyId, row.wrapped_key as string);
    this.keys.set(keyId, { tenantId, key });
    return key;
  }

  /** Inside a caller's transaction, use it: on PGlite's single connection anything else would wait forever. */
  private conn(): Kysely<any> {
    return currentTransaction() ?? this.db;
  }

  // The wrapping binds tenant and key id, so a wrapped key copied to another row is useless.
  private wrap(tenantId: string, keyId: string, key: Buffer): string {
    const s = seal(this.masterKey, key, wrapAad(tenantId, keyId));
    return ['v1', b64(s.nonce), b64(s.ciphertext), b64(s.tag)].join('.');
  }

  private unwrap(tenantId: string, keyId: string, wrapped: string): Buffer {
    const [version, nonce, body, tag] = wrapped.split('.');
    const key =
      version === 'v1' && nonce && body && tag
        ? open(this.masterKey, { nonce: unb64(nonce), ciphertext: unb64(body), tag: unb64(tag) }, wrapAad(tenantId, keyId))
        : undefined;
    if (!key) throw new Error(`data key ${keyId} cannot be unwrapped: wrong master key or altered row`);
    return key;
  }
}

function seal(key: Buffer, plaintext: Buffer, aad: Buffer): Sealed {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, nonce);
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { nonce, ciphertext, tag: cipher.getAuthTag() };
}

/** Undefined when authentication fails: altered bytes, wrong key or wrong associated data. */
function open(key: Buffer, sealed: Sealed, aad: Buffer): Buffer | undefined {
  if (sealed.nonce.length !== NONCE_BYTES || sealed.tag.length !== 16) return undefined;
  try {
    const decipher = createDecipheriv(ALGORITHM, key, sealed.nonce);
    decipher.setAAD(aad);
    decipher.setAuthTag(sealed.tag);
    return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]);
  } catch {
    return undefined;
  }
}

const valueAad = (tenantId: string, keyId: string) => Buffer.from(`seva-value:v1:${tenantId}:${keyId}`, 'utf8');
const wrapAad = (tenantId: string, keyId: string) => Buffer.from(`seva-data-key:v1:${tenantId}:${keyId}`, 'utf8');
const b64 = (bytes: Buffer) => bytes.toString('base64url');
const unb64 = (text: string) => Buffer.from(text, 'base64url');
