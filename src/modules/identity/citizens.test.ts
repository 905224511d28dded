import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../kernel/index.js';
import { startTestRuntime, type TestRuntime } from '../../../test/support/test-runtime.js';
import { identityModule } from './index.js';

let t: TestRuntime;

beforeAll(async () => {
  t = await startTestRuntime([identityModule]);
});
afterAll(() => t?.close());

const seed = () => identityModule.seedDemo!(t.runtime.contextFor('identity', systemActor('seed')), t.runtime.config);

describe('demo citizen', () => {
  it('is seeded once, and signs in by OTP read from the dev outbox as the seed says', async () => {
    await seed();
    // Seeding again gives the admin a new password: the second answer is the one that works.
    const first = await seed();
    expect(first!.credentials).toContainEqual({ label: 'citizen (in.ka.bengaluru)', value: 'mobile 9999900001, OTP from GET /api/identity/v1/dev-outbox' });
    const citizens = await t.runtime.database.db.selectFrom('identity.users' as any).select('id').where('kind', '=', 'citizen').execute();
    expect(citizens).toHaveLength(1);

    const sent = await t.runtime.http.inject({ method: 'POST', url: '/api/identity/v1/otp', payload: { tenant: 'in.ka.bengaluru', mobile: '9999900001' } });
    expect(sent.statusCode).toBe(202);
    const admin = first!.credentials!.find((c) => c.label === 'administrator (tenant in)')!.value.split(' / ');
    const adminToken = (await t.runtime.http.inject({ method: 'POST', url: '/api/identity/v1/oauth/token', payload: { grant_type: 'password', username: admin[0], password: admin[1], tenant: 'in' } })).json().access_token;
    const outbox = await t.runtime.http.inject({ url: '/api/identity/v1/dev-outbox', headers: { authorization: `Bearer ${adminToken}` } });
    expect(outbox.statusCode).toBe(200);
    const code = /\b(\d{6})\b/.exec(outbox.json().items[0].body)![1];
    const tokens = await t.runtime.http.inject({ method: 'POST', url: '/api/identity/v1/oauth/token', payload: { grant_type: 'otp', tenant: 'in.ka.bengaluru', mobile: '9999900001', otp: code } });
    expect(tokens.statusCode).toBe(200);
    const me = await t.runtime.http.inject({ url: '/api/identity/v1/me', headers: { authorization: `Bearer ${tokens.json().access_token}` } });
    expect(me.json()).toMatchObject({ id: citizens[0]!.id, kind: 'citizen', name: 'Demo Citizen', mobile: '99******01', roles: ['CITIZEN'] });
  });

  it('shows an employee their own profile too, and refuses callers that are not a user', async () => {
    const admin = (await seed())!.credentials!.find((c) => c.label === 'administrator (tenant in)')!.value.split(' / ');
    const token = (await t.runtime.http.inject({ method: 'POST', url: '/api/identity/v1/oauth/token', payload: { grant_type: 'password', username: admin[0], password: admin[1], tenant: 'in' } })).json().access_token;
    const me = await t.runtime.http.inject({ url: '/api/identity/v1/me', headers: { authorization: `Bearer ${token}` } });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ kind: 'employee', username: 'admin', tenantId: 'in', roles: ['ADMIN'] });
    const system = await t.runtime.contextFor('identity', systemActor('test')).call('identity', 'me', {}).catch((err: unknown) => err);
    expect(system).toMatchObject({ code: 'UNAUTHENTICATED' });
  });
});
