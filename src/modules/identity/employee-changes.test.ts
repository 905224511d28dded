import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../kernel/index.js';
import { startTestRuntime, type TestRuntime } from '../../../test/support/test-runtime.js';
import { createEmployee } from './employees.js';
import { identityModule } from './index.js';
import { createRole } from './roles.js';
import { createTenant } from './tenants.js';

let t: TestRuntime;
let admin: Record<string, string>;
let id: string;
const PASSWORD = 'Original2026pass';

beforeAll(async () => {
  t = await startTestRuntime([identityModule]);
  const ctx = t.runtime.contextFor('identity', systemActor('test'));
  for (const code of ['in', 'in.ka', 'in.tn']) await createTenant(ctx, { code, name: code });
  await createRole(ctx, { tenantId: 'in', code: 'CLERK', name: 'Clerk', permissions: ['identity.tenant.read'] });
  id = (await createEmployee(ctx, { tenantId: 'in.ka', username: 'ravi', name: 'Ravi', password: PASSWORD, roles: [{ role: 'CLERK', tenant: 'in.ka' }] })).id;
  admin = await t.as({ id: 'usr_admin', permissions: ['identity.user.update', 'identity.user.read'], tenantId: 'in.ka' });
});
afterAll(() => t?.close());

const inject = (options: InjectOptions) => t.runtime.http.inject(options);
const patch = (payload: object, headers = admin) => inject({ method: 'PATCH', url: `/api/identity/v1/employees/${id}`, headers, payload });
const signIn = (password: string) =>
  inject({ method: 'POST', url: '/api/identity/v1/oauth/token', payload: { grant_type: 'password', username: 'ravi', password, tenant: 'in.ka' } });
const refresh = (token: string) => inject({ method: 'POST', url: '/api/identity/v1/oauth/token', payload: { grant_type: 'refresh_token', refresh_token: token } });
const audit = (action: string) => t.runtime.database.db.selectFrom('kernel.audit_log' as any).selectAll().where('action', '=', action).execute();

describe('employee changes', () => {
  it('updates name, contact and locale with the current version, 409 with a stale one; the audit names fields, not values', async () => {
    const res = await patch({ version: 1, name: 'Ravi Kumar', mobile: '9876512345', locale: 'kn-in' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ name: 'Ravi Kumar', mobile: '98******45', locale: 'kn-IN', version: 2 });
    expect((await patch({ version: 1, name: 'Lost update' })).json()).toMatchObject({ code: 'CONFLICT' });
    const [entry] = await audit('identity.user.updated');
    expect(entry).toMatchObject({ entity_id: id });
    expect(JSON.stringify(entry)).toContain('"changed":["name","mobile","locale"]');
    expect(JSON.stringify(entry)).not.toContain('9876512345');
  });

  it('refuses bad fields by name, and another tenant’s administrator gets 404', async () => {
    const bad = await patch({ version: 2, mobile: '12345', status: 'locked' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors.map((e: { path: string }) => e.path).sort()).toEqual(['body.mobile', 'body.status']);
    const other = await t.as({ permissions: ['identity.user.update'], tenantId: 'in.tn' });
    expect((await patch({ version: 2, name: 'Hijack' }, other)).statusCode).toBe(404);
  });

  it('disabling ends the sessions at once and refuses sign-in; enabling restores sign-in', async () => {
    const session = (await signIn(PASSWORD)).json();
    expect(session.refresh_token).toBeTruthy();
    const disabled = await patch({ version: 2, status: 'disabled' });
    expect(disabled.json()).toMatchObject({ status: 'disabled', version: 3 });
    expect((await refresh(session.refresh_token)).json()).toMatchObject({ error: 'invalid_grant' });
    expect((await signIn(PASSWORD)).json()).toMatchObject({ error: 'invalid_grant' });
    expect(JSON.stringify(await audit('identity.user.disabled'))).toContain('"sessionsRevoked":1');
    expect((await patch({ version: 3, status: 'active' })).json()).toMatchObject({ status: 'active' });
    expect((await signIn(PASSWORD)).statusCode).toBe(200);
  });

  it('an administrator’s reset sets a policy-checked password and ends the sessions', async () => {
    const session = (await signIn(PASSWORD)).json();
    const weak = await inject({ method: 'PUT', url: `/api/identity/v1/employees/${id}/password`, headers: admin, payload: { password: 'ravi1' } });
    expect(weak.statusCode).toBe(400);
    expect(weak.json().errors).toEqual([expect.objectContaining({ path: 'body.password' })]);
    const reset = await inject({ method: 'PUT', url: `/api/identity/v1/employees/${id}/password`, headers: admin, payload: { password: 'AdminReset2026pass' } });
    // This test's session and the one the previous test opened after enabling.
    expect(reset.json()).toEqual({ sessionsRevoked: 2 });
    expect((await refresh(session.refresh_token)).statusCode).toBe(400);
    expect((await signIn(PASSWORD)).statusCode).toBe(400);
    expect((await signIn('AdminReset2026pass')).statusCode).toBe(200);
    expect(await audit('identity.user.password_reset')).toHaveLength(1);
  });

  it('an employee changes their own password with the current one; a wrong current one is 422', async () => {
    const me = { authorization: `Bearer ${(await signIn('AdminReset2026pass')).json().access_token}` };
    const wrong = await inject({ method: 'POST', url: '/api/identity/v1/me/password', headers: me, payload: { currentPassword: 'nope', newPassword: 'MyOwn2026password' } });
    expect(wrong.json()).toMatchObject({ status: 422, code: 'CURRENT_PASSWORD_WRONG', errors: [{ path: 'body.currentPassword' }] });
    const weak = await inject({ method: 'POST', url: '/api/identity/v1/me/password', headers: me, payload: { currentPassword: 'AdminReset2026pass', newPassword: 'short' } });
    expect(weak.json().errors).toEqual([expect.objectContaining({ path: 'body.newPassword' })]);
    const ok = await inject({ method: 'POST', url: '/api/identity/v1/me/password', headers: me, payload: { currentPassword: 'AdminReset2026pass', newPassword: 'MyOwn2026password' } });
    expect(ok.statusCode).toBe(200);
    expect((await signIn('MyOwn2026password')).statusCode).toBe(200);
    expect(await audit('identity.user.password_changed')).toHaveLength(1);
  });
});
