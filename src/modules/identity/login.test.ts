import type { InjectOptions } from 'fastify';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../kernel/index.js';
import { startTestRuntime, type TestRuntime } from '../../../test/support/test-runtime.js';
import { createEmployee } from './employees.js';
import { identityModule } from './index.js';
import { createRole } from './roles.js';
import { createTenant } from './tenants.js';

let t: TestRuntime;
const TOKEN = '/api/identity/v1/oauth/token';
const PASSWORD = 'Secret2025pass';

beforeAll(async () => {
  t = await startTestRuntime([identityModule]);
  const ctx = t.runtime.contextFor('identity', systemActor('test'));
  await createTenant(ctx, { code: 'in', name: 'India' });
  await createRole(ctx, { tenantId: 'in', code: 'READER', name: 'Reader', permissions: ['identity.tenant.read'] });
  await createRole(ctx, { tenantId: 'in', code: 'NOBODY', name: 'Nobody', permissions: ['identity.role.read'] });
  for (const [username, role] of [['reader', 'READER'], ['nobody', 'NOBODY'], ['victim', 'READER'], ['rotator', 'READER']]) {
    await createEmployee(ctx, { tenantId: 'in', username: username!, name: username!, password: PASSWORD, roles: [{ role: role!, tenant: 'in' }] });
  }
});
afterAll(() => t?.close());

const inject = (options: InjectOptions) => t.runtime.http.inject(options);
const passwordGrant = (username: string, password = PASSWORD) => inject({ method: 'POST', url: TOKEN, payload: { grant_type: 'password', username, password, tenant: 'in' } });
const refreshGrant = (refresh_token: string) => inject({ method: 'POST', url: TOKEN, payload: { grant_type: 'refresh_token', refresh_token } });
const expectInvalidGrant = (res: { statusCode: number; headers: Record<string, unknown>; json(): any }) => {
  expect(res.statusCode).toBe(400);
  expect(String(res.headers['content-type'])).toContain('application/problem+json');
  expect(res.json()).toMatchObject({ error: 'invalid_grant', code: 'INVALID_GRANT' });
  expect(res.json().error_description).toBeTruthy();
};

describe('password grant', () => {
  it('answers a JSON request with tokens that verify against the JWKS', async () => {
    const res = await passwordGrant('reader');
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = res.json();
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 900 });
    expect(body.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const jwks = (await inject({ url: '/.well-known/jwks.json' })).json();
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).not.toHaveProperty('d');
    const { payload, protectedHeader } = await jwtVerify(body.access_token, createLocalJWKSet(jwks), { issuer: 'seva', audience: 'seva-api' });
    expect(protectedHeader).toMatchObject({ alg: 'EdDSA', kid: jwks.keys[0].kid });
    expect(payload).toMatchObject({ tid: 'in', roles: ['READER'] });
    expect(payload.perms).toEqual(expect.arrayContaining(['identity.tenant.read', 'identity.session.logout']));
    expect(payload.sub).toMatch(/^usr_/);
    expect(payload.exp! - payload.iat!).toBe(900);
  });

  it('accepts a form-encoded request', async () => {
    const res = await inject({
      method: 'POST',
      url: TOKEN,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ grant_type: 'password', username: 'reader', password: PASSWORD, tenant: 'in' }).toString(),
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().token_type).toBe('Bearer');
  });

  it('lets the access token act as the user, within its permissions', async () => {
    const reader = (await passwordGrant('reader')).json().access_token;
    const ok = await inject({ url: '/api/identity/v1/tenants', headers: { authorization: `Bearer ${reader}` } });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().items.map((x: { code: string }) => x.code)).toEqual(['in']);
    const nobody = (await passwordGrant('nobody')).json().access_token;
    const denied = await inject({ url: '/api/identity/v1/tenants', headers: { authorization: `Bearer ${nobody}` } });
    expect(denied.statusCode).toBe(403);
    const forged = `${reader.slice(0, -4)}AAAA`;
    expect((await inject({ url: '/api/identity/v1/tenants', headers: { authorization: `Bearer ${forged}` } })).statusCode).toBe(401);
    expect(decodeProtectedHeader(reader).kid).toBeTruthy();
  });

  it('gives the same invalid_grant for a wrong password and an unknown user', async () => {
    const wrong = await passwordGrant('reader', 'not-the-password-1');
    expectInvalidGrant(wrong);
    const unknown = await passwordGrant('ghost', 'not-the-password-1');
    expectInvalidGrant(unknown);
    expect(unknown.json().detail).toBe(wrong.json().detail);
  });

  it('locks the account after five wrong passwords, so the right one fails too', async () => {
    for (let i = 0; i < 5; i++) expectInvalidGrant(await passwordGrant('victim', `wrong-password-${i}`));
    expectInvalidGrant(await passwordGrant('victim'));
    const row: any = await t.runtime.database.db.selectFrom('identity.users' as any).select(['status', 'locked_until']).where('username', '=', 'victim').executeTakeFirstOrThrow();
    expect(row.status).toBe('locked');
    expect(new Date(row.locked_until).getTime()).toBeGreaterThan(Date.now() + 10 * 60 * 1000);
  });

  it('lets the right password in again once the lock has run out', async () => {
    const users = () => t.runtime.database.db.updateTable('identity.users' as any).where('username', '=', 'victim');
    // Moving the lock's end into the past stands in for waiting 15 minutes.
    await users().set({ locked_until: new Date(Date.now() - 1000) }).execute();
    expect((await passwordGrant('victim')).statusCode).toBe(200);
    const row: any = await t.runtime.database.db.selectFrom('identity.users' as any).select(['status', 'locked_until', 'failed_logins']).where('username', '=', 'victim').executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'active', locked_until: null, failed_logins: 0 });
  });

  it('answers invalid_request for missing fields and unsupported_grant_type for other grants', async () => {
    const missing = await inject({ method: 'POST', url: TOKEN, payload: { grant_type: 'password', username: 'reader' } });
    expect(missing.statusCode).toBe(400);
    expect(missing.json()).toMatchObject({ error: 'invalid_request' });
    expect(missing.json().errors.map((e: { path: string }) => e.path)).toEqual(expect.arrayContaining(['body.password', 'body.tenant']));
    const other = await inject({ method: 'POST', url: TOKEN, payload: { grant_type: 'urn:ietf:params:oauth:grant-type:device_code' } });
    expect(other.statusCode).toBe(400);
    expect(other.json()).toMatchObject({ error: 'unsupported_grant_type', code: 'UNSUPPORTED_GRANT_TYPE' });
  });
});

describe('disabled tenants', () => {
  it('sign nobody in, and stop refreshes of sessions that were open', async () => {
    const ctx = t.runtime.contextFor('identity', systemActor('test'));
    await createTenant(ctx, { code: 'xx', name: 'Elsewhere' });
    await createRole(ctx, { tenantId: 'xx', code: 'READER', name: 'Reader', permissions: ['identity.tenant.read'] });
    await createEmployee(ctx, { tenantId: 'xx', username: 'stranger', name: 'Stranger', password: PASSWORD, roles: [{ role: 'READER', tenant: 'xx' }] });
    const signIn = () => inject({ method: 'POST', url: TOKEN, payload: { grant_type: 'password', username: 'stranger', password: PASSWORD, tenant: 'xx' } });
    const open = await signIn();
    expect(open.statusCode).toBe(200);
    const admin = await t.as({ permissions: ['identity.tenant.update'] });
    const disabled = await inject({ method: 'PATCH', url: '/api/identity/v1/tenants/xx', headers: admin, payload: { version: 1, status: 'disabled' } });
    expect(disabled.statusCode).toBe(200);
    expectInvalidGrant(await signIn());
    expectInvalidGrant(await refreshGrant(open.json().refresh_token));
  });
});

describe('refresh grant', () => {
  it('rotates: each refresh token works once and yields a new one', async () => {
    const first = (await passwordGrant('rotator')).json();
    const second = await refreshGrant(first.refresh_token);
    expect(second.statusCode).toBe(200);
    expect(second.json().refresh_token).not.toBe(first.refresh_token);
    const third = await refreshGrant(second.json().refresh_token);
    expect(third.statusCode).toBe(200);
    const me = await inject({ url: '/api/identity/v1/tenants', headers: { authorization: `Bearer ${third.json().access_token}` } });
    expect(me.statusCode).toBe(200);
  });

  it('revokes the whole family when a used refresh token comes back', async () => {
    const first = (await passwordGrant('rotator')).json();
    const second = (await refreshGrant(first.refresh_token)).json();
    expectInvalidGrant(await refreshGrant(first.refresh_token));
    expectInvalidGrant(await refreshGrant(second.refresh_token));
    expectInvalidGrant(await refreshGrant('not-a-token-at-all'));
  });

  it('logout revokes the family of the given refresh token', async () => {
    const tokens = (await passwordGrant('rotator')).json();
    const out = await inject({ method: 'POST', url: '/api/identity/v1/logout', headers: { authorization: `Bearer ${tokens.access_token}` }, payload: { refresh_token: tokens.refresh_token } });
    expect(out.statusCode).toBe(200);
    expect(out.json()).toEqual({ revoked: true });
    expectInvalidGrant(await refreshGrant(tokens.refresh_token));
    const anonymous = await inject({ method: 'POST', url: '/api/identity/v1/logout', payload: { refresh_token: tokens.refresh_token } });
    expect(anonymous.statusCode).toBe(401);
  });
});
