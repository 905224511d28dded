import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor, type SevaConfig } from '../../kernel/index.js';
import { startTestRuntime, type TestRuntime } from '../../../test/support/test-runtime.js';
import { identityModule } from './index.js';

let t: TestRuntime;

beforeAll(async () => {
  t = await startTestRuntime([identityModule]);
});
afterAll(() => t?.close());

const ctx = () => t.runtime.contextFor('identity', systemActor('seed'));
const withConfig = (extra: Partial<SevaConfig>): SevaConfig => ({ ...t.runtime.config, ...extra });
const adminOf = (result: any, root = 'in') => {
  const credential = result!.credentials!.find((c: { label: string }) => c.label === `administrator (tenant ${root})`)!;
  const [username, password] = credential.value.split(' / ');
  return { username: username!, password: password! };
};
const seed = async (extra: Partial<SevaConfig> = {}) => adminOf(await identityModule.seedDemo!(ctx(), withConfig(extra)));
const login = (username: string, password: string, tenant = 'in') =>
  t.runtime.http.inject({ method: 'POST', url: '/api/identity/v1/oauth/token', payload: { grant_type: 'password', username, password, tenant } });

describe('bootstrap of an empty database', () => {
  it('refuses a SEVA_ADMIN_PASSWORD that fails the policy, naming the setting and not the value', async () => {
    const attempt = identityModule.bootstrap!(ctx(), withConfig({ adminPassword: 'short1' }));
    await expect(attempt).rejects.toThrow(/^SEVA_ADMIN_PASSWORD does not meet the password policy/);
    await expect(attempt).rejects.not.toThrow(/short1/);
    expect(await t.runtime.database.db.selectFrom('identity.users' as any).select('id').execute()).toHaveLength(0);
  });

  it('creates the root tenant and one admin with SEVA_ADMIN_PASSWORD, even when two starts race', async () => {
    const config = withConfig({ adminPassword: 'Bootstrap2026pass', rootTenant: 'ke', rootTenantName: 'Kenya' });
    const results = await Promise.all([identityModule.bootstrap!(ctx(), config), identityModule.bootstrap!(ctx(), config)]);
    expect(results.filter((r) => r && r.credentials?.length)).toHaveLength(1);
    expect(results.flatMap((r) => r?.credentials ?? [])).toEqual([{ label: 'administrator (tenant ke)', value: 'admin / the password in SEVA_ADMIN_PASSWORD' }]);
    const res = await login('admin', 'Bootstrap2026pass', 'ke');
    expect(res.statusCode).toBe(200);
    const tenant = await t.runtime.http.inject({ url: '/api/identity/v1/tenants/ke', headers: { authorization: `Bearer ${res.json().access_token}` } });
    expect(tenant.json()).toMatchObject({ code: 'ke', name: 'Kenya' });
  });

  it('does nothing once any user exists', async () => {
    expect(await identityModule.bootstrap!(ctx(), withConfig({ rootTenant: 'zz' }))).toEqual({});
    expect(await t.runtime.database.db.selectFrom('identity.tenants' as any).select('code').where('code', '=', 'zz').execute()).toHaveLength(0);
  });
});

describe('demo seed', () => {
  it('creates a state, two cities and an admin whose printed credentials sign in with identity.* and system.*', async () => {
    const { username, password } = await seed();
    expect(username).toBe('admin');
    expect(password).toMatch(/^(?=.*[A-Za-z])(?=.*\d)[A-Za-z0-9]{16}$/);
    const res = await login(username, password);
    expect(res.statusCode).toBe(200);
    const token = res.json().access_token;
    const tenants = await t.runtime.http.inject({ url: '/api/identity/v1/tenants', headers: { authorization: `Bearer ${token}` } });
    expect(tenants.json().items.map((x: { code: string }) => x.code)).toEqual(['in', 'in.ka', 'in.ka.bengaluru', 'in.ka.mysuru']);
    const created = await t.runtime.http.inject({ method: 'POST', url: '/api/identity/v1/tenants', headers: { authorization: `Bearer ${token}` }, payload: { code: 'in.tn', name: 'Tamil Nadu' } });
    expect(created.statusCode).toBe(201);
  });

  it('can run again: the admin gets a new password and the old one stops working', async () => {
    const before = await seed();
    const after = await seed();
    expect(after.password).not.toBe(before.password);
    expect((await login('admin', after.password)).statusCode).toBe(200);
    expect((await login('admin', before.password)).statusCode).toBe(400);
  });

  it('leaves the admin password alone when SEVA_ADMIN_PASSWORD sets it', async () => {
    const before = await seed();
    expect(await seed({ adminPassword: 'Another2026pass' })).toEqual({ username: 'admin', password: 'the password in SEVA_ADMIN_PASSWORD' });
    expect((await login('admin', before.password)).statusCode).toBe(200);
  });
});
