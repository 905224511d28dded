import type { InjectOptions } from 'fastify';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { systemActor } from '../../kernel/index.js';
import { startTestRuntime, type TestRuntime } from '../../../test/support/test-runtime.js';
import { identityModuleWith } from './index.js';
import { createRole } from './roles.js';
import { createTenant } from './tenants.js';

let t: TestRuntime;
let outboxReader: Record<string, string>;
/** The module's clock: tests move it instead of waiting. */
let now = Date.parse('2026-01-05T10:00:00Z');

const TOKEN = '/api/identity/v1/oauth/token';
const OTP = '/api/identity/v1/otp';

beforeAll(async () => {
  t = await startTestRuntime([identityModuleWith({ clock: () => now })]);
  const ctx = t.runtime.contextFor('identity', systemActor('test'));
  await createTenant(ctx, { code: 'in', name: 'India' });
  await createTenant(ctx, { code: 'in.ka', name: 'Karnataka' });
  await createTenant(ctx, { code: 'in.ka.bengaluru', name: 'Bengaluru' });
  await createRole(ctx, { tenantId: 'in', code: 'CITIZEN', name: 'Citizen', permissions: ['identity.session.logout'] });
  outboxReader = await t.as({ permissions: ['identity.devoutbox.read'] });
});
afterAll(() => t?.close());
// Each test starts past every rate-limit window of the one before.
beforeEach(() => {
  now += 11 * 60_000;
});

const inject = (options: InjectOptions) => t.runtime.http.inject(options);
const requestOtp = (payload: object, remoteAddress?: string) => inject({ method: 'POST', url: OTP, payload, ...(remoteAddress ? { remoteAddress } : {}) });
const otpGrant = (payload: object, remoteAddress?: string) => inject({ method: 'POST', url: TOKEN, payload: { grant_type: 'otp', tenant: 'in.ka.bengaluru', ...payload }, ...(remoteAddress ? { remoteAddress } : {}) });

/** The newest code sent to `recipient`, read through the dev outbox operation like a tester would. */
async function codeSentTo(recipient: string): Promise<string> {
  const res = await inject({ url: '/api/identity/v1/dev-outbox?limit=50', headers: outboxReader });
  expect(res.statusCode).toBe(200);
  const message = res.json().items.find((m: { recipient: string }) => m.recipient === recipient);
  expect(message, `a message to ${recipient}`).toBeTruthy();
  return /\b(\d{6})\b/.exec(message.body)![1]!;
}

async function signIn(mobile: string, grantType = 'otp'): Promise<{ access_token: string; refresh_token: string }> {
  expect((await requestOtp({ tenant: 'in.ka.bengaluru', mobile })).statusCode).toBe(202);
  const res = await otpGrant({ grant_type: grantType, mobile, otp: await codeSentTo(mobile) });
  expect(res.statusCode).toBe(200);
  return res.json();
}

const expectInvalidGrant = (res: { statusCode: number; json(): any }, detail: RegExp) => {
  expect(res.statusCode).toBe(400);
  expect(res.json()).toMatchObject({ code: 'INVALID_GRANT', error: 'invalid_grant' });
  expect(res.json().detail).toMatch(detail);
};

describe('OTP sign-in', () => {
  it('sends a code, signs the citizen in with it, and registers them only once', async () => {
    const mobile = '9876500001';
    const first = await requestOtp({ tenant: 'in.ka.bengaluru', mobile });
    expect(first.statusCode).toBe(202);
    expect(first.json()).toEqual({ sent: true, expiresIn: 300 });
    const tokens = (await otpGrant({ mobile, otp: await codeSentTo(mobile) })).json();
    expect(tokens.token_type).toBe('Bearer');
    const claims = decodeJwt(tokens.access_token);
    expect(claims).toMatchObject({ tid: 'in.ka.bengaluru', roles: ['CITIZEN'] });
    expect(claims.perms).toContain('identity.session.logout');

    const me = await inject({ url: '/api/identity/v1/me', headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ id: claims.sub, kind: 'citizen', tenantId: 'in.ka.bengaluru', mobile: '98******01', email: null, username: null });

    // Now that the account exists, the answer to a code request is the same as before.
    const again = await requestOtp({ tenant: 'in.ka.bengaluru', mobile });
    expect(again.json()).toEqual(first.json());
    const second = await otpGrant({ grant_type: 'urn:seva:params:oauth:grant-type:otp', mobile, otp: await codeSentTo(mobile) });
    expect(second.statusCode).toBe(200);
    expect(decodeJwt(second.json().access_token).sub).toBe(claims.sub);
    const citizens = await t.runtime.database.db.selectFrom('identity.users' as any).select('id').where('kind', '=', 'citizen').where('mobile_bidx', 'is not', null).execute();
    expect(citizens.filter((c: any) => c.id === claims.sub)).toHaveLength(1);
    expect(citizens).toHaveLength(1);
  });

  it('signs in by e-mail as well', async () => {
    expect((await requestOtp({ tenant: 'in', email: 'Meera@Example.in' })).statusCode).toBe(202);
    const res = await otpGrant({ tenant: 'in', email: 'meera@example.in', otp: await codeSentTo('meera@example.in') });
    expect(res.statusCode).toBe(200);
    const me = await inject({ url: '/api/identity/v1/me', headers: { authorization: `Bearer ${res.json().access_token}` } });
    expect(me.json()).toMatchObject({ kind: 'citizen', email: 'm****@example.in', mobile: null });
  });

  it('refuses an expired code', async () => {
    const mobile = '9876500002';
    await requestOtp({ tenant: 'in.ka.bengaluru', mobile });
    const code = await codeSentTo(mobile);
    now += 301_000;
    expectInvalidGrant(await otpGrant({ mobile, otp: code }), /expired/);
  });

  it('refuses a code used once already', async () => {
    const mobile = '9876500003';
    await requestOtp({ tenant: 'in.ka.bengaluru', mobile });
    const code = await codeSentTo(mobile);
    expect((await otpGrant({ mobile, otp: code })).statusCode).toBe(200);
    expectInvalidGrant(await otpGrant({ mobile, otp: code }), /already used/);
  });

  it('burns a code after five wrong tries, so the right one fails too', async () => {
    const mobile = '9876500004';
    await requestOtp({ tenant: 'in.ka.bengaluru', mobile });
    const code = await codeSentTo(mobile);
    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
    for (let i = 0; i < 4; i++) expectInvalidGrant(await otpGrant({ mobile, otp: wrong }), /^The code is not correct$/);
    expectInvalidGrant(await otpGrant({ mobile, otp: wrong }), /last try/);
    expectInvalidGrant(await otpGrant({ mobile, otp: code }), /Too many wrong codes/);
  });

  it('replaces the previous code when a new one is requested', async () => {
    const mobile = '9876500005';
    await requestOtp({ tenant: 'in.ka.bengaluru', mobile });
    const old = await codeSentTo(mobile);
    let fresh = old;
    // A new code may by chance equal the old one; ask again until it differs (bounded by the rate limit).
    for (let i = 0; i < 2 && fresh === old; i++) {
      await requestOtp({ tenant: 'in.ka.bengaluru', mobile });
      fresh = await codeSentTo(mobile);
    }
    expect(fresh).not.toBe(old);
    expectInvalidGrant(await otpGrant({ mobile, otp: old }), /not correct/);
    expect((await otpGrant({ mobile, otp: fresh })).statusCode).toBe(200);
  });

  it('refuses a code when none was requested', async () => {
    expectInvalidGrant(await otpGrant({ mobile: '9876500099', otp: '123456' }), /No code was requested/);
  });

  it('names the bad field of a malformed or oversized request', async () => {
    const cases: Array<[object, string]> = [
      [{ tenant: 'in', mobile: '12345' }, 'body.mobile'],
      [{ tenant: 'in', mobile: '5876543210' }, 'body.mobile'],
      [{ tenant: 'in', email: 'not-an-address' }, 'body.email'],
      [{ tenant: 'in', email: `${'a'.repeat(300)}@example.in` }, 'body.email'],
      [{ tenant: 'in', mobile: '9'.repeat(5000) }, 'body.mobile'],
      [{ tenant: 'x'.repeat(500), mobile: '9876543210' }, 'body.tenant'],
      [{ tenant: 'in' }, 'body.mobile'],
      [{ tenant: 'in', mobile: '9876543210', email: 'a@example.in' }, 'body.mobile'],
    ];
    for (const [payload, path] of cases) {
      const res = await requestOtp(payload);
      expect(res.statusCode, JSON.stringify(payload).slice(0, 80)).toBe(400);
      expect(res.json().code).toBe('VALIDATION_FAILED');
      expect(res.json().errors.map((e: { path: string }) => e.path)).toContain(path);
    }
    const grant = await otpGrant({ mobile: '12345', otp: '1234567' });
    expect(grant.statusCode).toBe(400);
    expect(grant.json()).toMatchObject({ code: 'INVALID_REQUEST', error: 'invalid_request' });
    expect(grant.json().errors.map((e: { path: string }) => e.path)).toEqual(expect.arrayContaining(['body.mobile', 'body.otp']));
    const unknownTenant = await requestOtp({ tenant: 'zz', mobile: '9876543210' });
    expect(unknownTenant.statusCode).toBe(404);
    expect(unknownTenant.json().code).toBe('TENANT_NOT_FOUND');
  });

  it('keeps neither the mobile, the e-mail nor the code in plain text in the tables', async () => {
    const mobile = '9876500006';
    await requestOtp({ tenant: 'in.ka.bengaluru', mobile });
    const code = await codeSentTo(mobile);
    await requestOtp({ tenant: 'in', email: 'plain.check@example.in' });
    const emailCode = await codeSentTo('plain.check@example.in');
    expect((await otpGrant({ mobile, otp: code })).statusCode).toBe(200);
    const db = t.runtime.database.db;
    for (const table of ['identity.users', 'identity.otp_codes', 'identity.dev_outbox']) {
      const raw = JSON.stringify(await db.selectFrom(table as any).selectAll().execute());
      expect(raw, table).not.toContain(mobile);
      expect(raw, table).not.toContain('plain.check@example.in');
      expect(raw, table).not.toContain(code);
      expect(raw, table).not.toContain(emailCode);
    }
  });

  it('gives a citizen nothing an employee may do', async () => {
    const { access_token } = await signIn('9876500007');
    const res = await inject({ method: 'POST', url: '/api/identity/v1/tenants', headers: { authorization: `Bearer ${access_token}` }, payload: { code: 'in.mh', name: 'Maharashtra' } });
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('FORBIDDEN');
  });
});

describe('own profile', () => {
  it('lets a citizen set their name and locale, and checks both', async () => {
    const { access_token } = await signIn('9876500008');
    const auth = { authorization: `Bearer ${access_token}` };
    const ok = await inject({ method: 'PATCH', url: '/api/identity/v1/me', headers: auth, payload: { name: 'Ravi Kumar', locale: 'hi-IN' } });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ name: 'Ravi Kumar', locale: 'hi-IN', mobile: '98******08' });
    expect((await inject({ url: '/api/identity/v1/me', headers: auth })).json()).toMatchObject({ name: 'Ravi Kumar', locale: 'hi-IN' });
    for (const [payload, path] of [[{ locale: 'not a locale!' }, 'body.locale'], [{ name: '' }, 'body.name'], [{ name: 'x'.repeat(201) }, 'body.name']] as const) {
      const bad = await inject({ method: 'PATCH', url: '/api/identity/v1/me', headers: auth, payload });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().errors.map((e: { path: string }) => e.path)).toContain(path);
    }
    expect((await inject({ url: '/api/identity/v1/me' })).statusCode).toBe(401);
  });
});

describe('dev outbox', () => {
  it('needs its permission, pages newest first, and audits every read', async () => {
    expect((await inject({ url: '/api/identity/v1/dev-outbox' })).statusCode).toBe(401);
    expect((await inject({ url: '/api/identity/v1/dev-outbox', headers: await t.as({ permissions: ['identity.user.read'] }) })).statusCode).toBe(403);
    await requestOtp({ tenant: 'in', mobile: '9876500010' });
    await requestOtp({ tenant: 'in', mobile: '9876500011' });
    const first = (await inject({ url: '/api/identity/v1/dev-outbox?limit=1', headers: outboxReader })).json();
    expect(first.items).toHaveLength(1);
    expect(first.items[0]).toMatchObject({ recipient: '9876500011', recipientMasked: '98******11', channel: 'sms', tenantId: 'in' });
    const second = (await inject({ url: `/api/identity/v1/dev-outbox?limit=1&cursor=${first.nextCursor}`, headers: outboxReader })).json();
    expect(second.items[0].recipient).toBe('9876500010');
    const audits = await t.runtime.database.db.selectFrom('kernel.audit_log' as any).selectAll().where('action', '=', 'identity.devoutbox.read').execute();
    expect(audits.length).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(audits)).not.toContain('9876500011');
  });
});

describe('rate limits', () => {
  it('allows three codes per mobile in ten minutes, then answers 429 with Retry-After', async () => {
    const mobile = '9876500020';
    for (let i = 0; i < 3; i++) expect((await requestOtp({ tenant: 'in', mobile })).statusCode).toBe(202);
    const refused = await requestOtp({ tenant: 'in', mobile });
    expect(refused.statusCode).toBe(429);
    expect(refused.json().code).toBe('RATE_LIMITED');
    expect(Number(refused.headers['retry-after'])).toBe(600);
    expect((await requestOtp({ tenant: 'in', mobile: '9876500021' })).statusCode).toBe(202);
    now += 5 * 60_000;
    expect(Number((await requestOtp({ tenant: 'in', mobile })).headers['retry-after'])).toBe(300);
    now += 5 * 60_000;
    expect((await requestOtp({ tenant: 'in', mobile })).statusCode).toBe(202);
  });

  it('allows twenty code requests per address in ten minutes', async () => {
    for (let i = 0; i < 20; i++) expect((await requestOtp({ tenant: 'in', mobile: `98765001${String(i).padStart(2, '0')}` }, '10.0.0.7')).statusCode).toBe(202);
    const refused = await requestOtp({ tenant: 'in', mobile: '9876500199' }, '10.0.0.7');
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBeTruthy();
    expect((await requestOtp({ tenant: 'in', mobile: '9876500199' }, '10.0.0.8')).statusCode).toBe(202);
  });

  it('allows ten token requests per identifier a minute, from any address, and sixty per address', async () => {
    for (let i = 0; i < 10; i++) expect((await otpGrant({ mobile: '9876500030', otp: '000000' }, `10.0.1.${i}`)).statusCode).toBe(400);
    const refused = await otpGrant({ mobile: '9876500030', otp: '000000' }, '10.0.1.99');
    expect(refused.statusCode).toBe(429);
    expect(refused.json().code).toBe('RATE_LIMITED');
    expect(Number(refused.headers['retry-after'])).toBe(60);
    expect((await otpGrant({ mobile: '9876500031', otp: '000000' }, '10.0.1.99')).statusCode).toBe(400);
    now += 60_000;
    for (let i = 0; i < 60; i++) expect((await otpGrant({ mobile: `98765002${String(i).padStart(2, '0')}`, otp: '000000' }, '10.0.2.1')).statusCode).toBe(400);
    const perIp = await otpGrant({ mobile: '9876500299', otp: '000000' }, '10.0.2.1');
    expect(perIp.statusCode).toBe(429);
    expect(perIp.headers['retry-after']).toBeTruthy();
  });
});
