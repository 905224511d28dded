import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../kernel/index.js';
import { startTestRuntime, type TestRuntime } from '../../../test/support/test-runtime.js';
import { createEmployee } from './employees.js';
import { identityModule } from './index.js';
import { createRole } from './roles.js';
import { createTenant } from './tenants.js';
import { ACCESS_TOKEN_SECONDS, RETIRED_KEY_SKEW_SECONDS } from './token-settings.js';

let t: TestRuntime;
const PASSWORD = 'Secret2025pass';

beforeAll(async () => {
  t = await startTestRuntime([identityModule]);
  const ctx = t.runtime.contextFor('identity', systemActor('test'));
  await createTenant(ctx, { code: 'in', name: 'India' });
  await createRole(ctx, { tenantId: 'in', code: 'READER', name: 'Reader', permissions: ['identity.tenant.read'] });
  await createEmployee(ctx, { tenantId: 'in', username: 'reader', name: 'Reader', password: PASSWORD, roles: [{ role: 'READER', tenant: 'in' }] });
});
afterAll(() => t?.close());

const signIn = async () => {
  const res = await t.runtime.http.inject({
    method: 'POST',
    url: '/api/identity/v1/oauth/token',
    payload: { grant_type: 'password', username: 'reader', password: PASSWORD, tenant: 'in' },
  });
  expect(res.statusCode).toBe(200);
  return res.json().access_token as string;
};
const kids = async () => ((await t.runtime.http.inject({ url: '/.well-known/jwks.json' })).json().keys as Array<{ kid: string }>).map((k) => k.kid);
const readTenants = (token: string) => t.runtime.http.inject({ url: '/api/identity/v1/tenants/in', headers: { authorization: `Bearer ${token}` } });
const rotate = async (permissions = ['identity.key.rotate']) =>
  t.runtime.http.inject({ method: 'POST', url: '/api/identity/v1/signing-keys/rotate', headers: await t.as({ permissions }), payload: {} });

describe('signing key rotation', () => {
  it('makes exactly one first key when the first sign-ins race', async () => {
    const tokens = await Promise.all(Array.from({ length: 6 }, signIn));
    expect(new Set(tokens.map((tk) => decodeProtectedHeader(tk).kid)).size).toBe(1);
    expect(await kids()).toHaveLength(1);
  });

  it('needs identity.key.rotate', async () => {
    expect((await rotate(['identity.tenant.read'])).statusCode).toBe(403);
  });

  it('signs new tokens with the new kid, keeps old tokens valid, and lists both keys', async () => {
    const before = await signIn();
    const oldKid = decodeProtectedHeader(before).kid;
    const res = await rotate();
    expect(res.statusCode).toBe(200);
    const { kid, retired } = res.json();
    expect(retired).toBe(oldKid);
    expect(kid).not.toBe(oldKid);

    const after = await signIn();
    expect(decodeProtectedHeader(after).kid).toBe(kid);
    expect((await readTenants(after)).statusCode).toBe(200);
    expect((await readTenants(before)).statusCode).toBe(200);
    expect(await kids()).toEqual([kid, oldKid]);

    const db = t.runtime.database.db;
    const active = await db.selectFrom('identity.signing_keys' as any).select('kid').where('status', '=', 'active').execute();
    expect(active).toEqual([{ kid }]);
    const audit = await db.selectFrom('kernel.audit_log' as any).select(['entity_id', 'data']).where('action', '=', 'identity.key.rotated').execute();
    expect(audit.map((a: any) => a.entity_id)).toContain(kid);
  });

  it('drops a retired key from the JWKS once every token it signed has expired', async () => {
    const db = t.runtime.database.db;
    const current = await kids();
    const [newest, retired] = current;
    const window = (ACCESS_TOKEN_SECONDS + RETIRED_KEY_SKEW_SECONDS) * 1000;
    await db.updateTable('identity.signing_keys' as any).set({ retired_at: new Date(Date.now() - window + 30_000) }).where('kid', '=', retired!).execute();
    expect(await kids()).toEqual([newest, retired]);
    await db.updateTable('identity.signing_keys' as any).set({ retired_at: new Date(Date.now() - window - 1000) }).where('kid', '=', retired!).execute();
    expect(await kids()).toEqual([newest]);
  });

  it('is scheduled as a job', () => {
    expect(identityModule.jobs?.rotateSigningKey?.schedule).toMatch(/^\S+ \S+ \S+ \S+ \S+$/);
  });
});
