import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../kernel/index.js';
import { startTestRuntime, type TestRuntime } from '../../../test/support/test-runtime.js';
import { createEmployee } from './employees.js';
import { identityModuleWith } from './index.js';
import { createRole } from './roles.js';
import { createTenant } from './tenants.js';
import { base32Decode, totp, totpClock } from './totp.js';

let t: TestRuntime;
const TOKEN = '/api/identity/v1/oauth/token';
const API = '/api/identity/v1';
const PASSWORD = 'Secret2025pass';
// A fixed clock in the middle of a step; tests move it by whole steps.
let now = 1_800_000_015_000;
const realClock = totpClock.now;

beforeAll(async () => {
  totpClock.now = () => now;
  // Many sign-ins of one user within a minute: the per-user token limit is not under test here.
  t = await startTestRuntime([identityModuleWith({ rateLimits: { tokenPerIdentifier: { limit: 1000, windowMs: 60_000 } } })]);
  const ctx = t.runtime.contextFor('identity', systemActor('test'));
  await createTenant(ctx, { code: 'in', name: 'India' });
  await createRole(ctx, { tenantId: 'in', code: 'READER', name: 'Reader', permissions: ['identity.tenant.read'] });
  for (const username of ['mfauser', 'locker', 'plain']) {
    await createEmployee(ctx, { tenantId: 'in', username, name: username, password: PASSWORD, roles: [{ role: 'READER', tenant: 'in' }] });
  }
});
afterAll(async () => {
  totpClock.now = realClock;
  await t?.close();
});

const inject = (options: InjectOptions) => t.runtime.http.inject(options);
const passwordGrant = (username: string, password = PASSWORD) => inject({ method: 'POST', url: TOKEN, payload: { grant_type: 'password', username, password, tenant: 'in' } });
const mfaGrant = (payload: Record<string, string>) => inject({ method: 'POST', url: TOKEN, payload: { grant_type: 'mfa_otp', ...payload } });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const codeAt = (secret: string, at = now) => totp(base32Decode(secret), at);

/** Signs in, enrols and confirms TOTP; returns the secret and recovery codes. */
async function enableTotp(username: string): Promise<{ secret: string; recoveryCodes: string[] }> {
  const access = (await passwordGrant(username)).json().access_token;
  const enrol = await inject({ method: 'POST', url: `${API}/mfa/totp/enrol`, headers: bearer(access), payload: {} });
  expect(enrol.statusCode).toBe(200);
  const { secret, uri } = enrol.json();
  expect(secret).toMatch(/^[A-Z2-7]{32}$/);
  expect(uri).toBe(`otpauth://totp/Seva:${username}?secret=${secret}&issuer=Seva`);
  const wrong = await inject({ method: 'POST', url: `${API}/mfa/totp/confirm`, headers: bearer(access), payload: { code: codeAt(secret, now - 120_000) } });
  expect(wrong.statusCode).toBe(422);
  expect(wrong.json().code).toBe('TOTP_CODE_INVALID');
  const confirm = await inject({ method: 'POST', url: `${API}/mfa/totp/confirm`, headers: bearer(access), payload: { code: codeAt(secret) } });
  expect(confirm.statusCode).toBe(200);
  expect(confirm.json().recoveryCodes).toHaveLength(10);
  return { secret, recoveryCodes: confirm.json().recoveryCodes };
}

async function mfaToken(username: string): Promise<string> {
  const res = await passwordGrant(username);
  expect(res.statusCode).toBe(400);
  expect(res.json()).toMatchObject({ error: 'mfa_required', code: 'MFA_REQUIRED' });
  expect(res.json()).not.toHaveProperty('access_token');
  return res.json().mfa_token;
}

describe('TOTP second factor', () => {
  let secret: string;
  let recoveryCodes: string[];

  it('enrols, confirms, and then the password alone gives an mfa_token, not tokens', async () => {
    ({ secret, recoveryCodes } = await enableTotp('mfauser'));
    const row: any = await t.runtime.database.db.selectFrom('identity.totp_factors' as any).selectAll().executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain(secret);
    const codes: any[] = await t.runtime.database.db.selectFrom('identity.recovery_codes' as any).selectAll().execute();
    expect(codes).toHaveLength(10);
    for (const code of recoveryCodes) expect(JSON.stringify(codes)).not.toContain(code);
    await mfaToken('mfauser');
    expect((await passwordGrant('plain')).statusCode).toBe(200);
  });

  it('signs in with a current code; the mfa_token and the code each work once', async () => {
    now += 30_000;
    const token = await mfaToken('mfauser');
    const code = codeAt(secret);
    const ok = await mfaGrant({ mfa_token: token, otp: code });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ token_type: 'Bearer', expires_in: 900 });
    expect((await inject({ url: `${API}/tenants`, headers: bearer(ok.json().access_token) })).statusCode).toBe(200);
    const again = await mfaGrant({ mfa_token: token, otp: codeAt(secret, now + 30_000) });
    expect(again.statusCode).toBe(400);
    expect(again.json()).toMatchObject({ error: 'invalid_grant', code: 'INVALID_GRANT' });
    expect(again.json().detail).toMatch(/mfa_token/);
    const replay = await mfaGrant({ mfa_token: await mfaToken('mfauser'), otp: code });
    expect(replay.statusCode).toBe(400);
    expect(replay.json()).toMatchObject({ error: 'invalid_grant', code: 'INVALID_GRANT' });
    expect(replay.json().detail).toMatch(/already used/);
  });

  it('accepts the next step for a fast clock, and refuses a wrong code with invalid_grant', async () => {
    now += 60_000;
    const token = await mfaToken('mfauser');
    const wrong = await mfaGrant({ mfa_token: token, otp: codeAt(secret, now - 5 * 30_000) });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json()).toMatchObject({ error: 'invalid_grant', code: 'INVALID_GRANT' });
    expect(wrong.json().detail).toMatch(/one-time code is wrong/);
    // The mfa_token survives a wrong code (until it expires or succeeds); a skewed code gets in.
    expect((await mfaGrant({ mfa_token: token, otp: codeAt(secret, now + 30_000) })).statusCode).toBe(200);
  });

  it('takes a recovery code once', async () => {
    const first = await mfaGrant({ mfa_token: await mfaToken('mfauser'), recovery_code: recoveryCodes[0]!.toLowerCase() });
    expect(first.statusCode).toBe(200);
    const second = await mfaGrant({ mfa_token: await mfaToken('mfauser'), recovery_code: recoveryCodes[0]! });
    expect(second.statusCode).toBe(400);
    expect(second.json()).toMatchObject({ code: 'INVALID_GRANT' });
    expect((await mfaGrant({ mfa_token: await mfaToken('mfauser'), recovery_code: recoveryCodes[1]! })).statusCode).toBe(200);
  });

  it('refuses an expired mfa_token', async () => {
    const token = await mfaToken('mfauser');
    now += 10 * 60_000;
    const late = await mfaGrant({ mfa_token: token, otp: codeAt(secret) });
    expect(late.json()).toMatchObject({ code: 'INVALID_GRANT' });
  });

  it('counts wrong codes toward the lockout', async () => {
    const { secret: lockerSecret } = await enableTotp('locker');
    now += 30_000;
    const token = await mfaToken('locker');
    for (let i = 0; i < 5; i++) expect((await mfaGrant({ mfa_token: token, otp: '000000' === codeAt(lockerSecret) ? '111111' : '000000' })).statusCode).toBe(400);
    const row: any = await t.runtime.database.db.selectFrom('identity.users' as any).select(['status']).where('username', '=', 'locker').executeTakeFirstOrThrow();
    expect(row.status).toBe('locked');
    const right = await mfaGrant({ mfa_token: token, otp: codeAt(lockerSecret) });
    expect(right.json()).toMatchObject({ code: 'INVALID_GRANT' });
  });

  it('disables with a current code, after which the password is enough again', async () => {
    now += 30_000;
    const tokens = (await mfaGrant({ mfa_token: await mfaToken('mfauser'), otp: codeAt(secret) })).json();
    now += 30_000;
    const bad = await inject({ method: 'POST', url: `${API}/mfa/totp/disable`, headers: bearer(tokens.access_token), payload: { code: '12345' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors[0].path).toBe('body.code');
    const off = await inject({ method: 'POST', url: `${API}/mfa/totp/disable`, headers: bearer(tokens.access_token), payload: { code: codeAt(secret) } });
    expect(off.statusCode).toBe(200);
    expect((await passwordGrant('mfauser')).statusCode).toBe(200);
  });

  it('asks for one of otp and recovery_code', async () => {
    const res = await mfaGrant({ mfa_token: 'x' });
    expect(res.json()).toMatchObject({ error: 'invalid_request' });
  });
});
