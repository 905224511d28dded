import { randomBytes } from 'node:crypto';
import { SignJWT, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../src/kernel/index.js';
import { InternalTokens } from '../src/kernel/modules/internal-token.js';
import { createEmployee } from '../src/modules/identity/employees.js';
import { identityModule } from '../src/modules/identity/index.js';
import { createRole } from '../src/modules/identity/roles.js';
import { createTenant } from '../src/modules/identity/tenants.js';
import { pingModule } from './fixtures/modules.js';
import { createFreshPostgresDatabase, dropPostgresDatabase } from './support/test-database.js';
import { startSevaProcess, type SevaProcess } from './support/seva-process.js';
import { deleteStream, eventually, startTestRuntime, TEST_MASTER_KEY, type TestRuntime } from './support/test-runtime.js';

const PASSWORD = 'Secret2025pass';
const TOKEN_PATH = '/api/identity/v1/oauth/token';

async function signIn(base: string, username: string): Promise<string> {
  const res = await fetch(`${base}${TOKEN_PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'password', username, password: PASSWORD, tenant: 'in' }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

/** A token shaped like identity's, signed by a key identity never had. */
async function forgedToken(): Promise<string> {
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  return new SignJWT({ tid: 'in', roles: ['ADMIN'], perms: ['*'] })
    .setProtectedHeader({ alg: 'EdDSA', kid: 'key_forged0000000000000000', typ: 'JWT' })
    .setSubject('usr_forged')
    .setIssuer('seva')
    .setAudience('seva-api')
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(privateKey);
}

// Identity served over a real port by one runtime; a second runtime, without identity, points at it.
describe('a runtime without identity verifies bearer tokens against identity’s JWKS', () => {
  let issuer: TestRuntime;
  let verifier: TestRuntime;

  beforeAll(async () => {
    issuer = await startTestRuntime([identityModule], { port: 0, host: '127.0.0.1' }, true);
    const ctx = issuer.runtime.contextFor('identity', systemActor('test'));
    await createTenant(ctx, { code: 'in', name: 'India' });
    await createRole(ctx, { tenantId: 'in', code: 'WRITER', name: 'Writer', permissions: ['ping.note.create', 'ping.note.read'] });
    await createRole(ctx, { tenantId: 'in', code: 'READER', name: 'Reader', permissions: ['ping.note.read'] });
    await createEmployee(ctx, { tenantId: 'in', username: 'writer', name: 'Writer', password: PASSWORD, roles: [{ role: 'WRITER', tenant: 'in' }] });
    await createEmployee(ctx, { tenantId: 'in', username: 'reader', name: 'Reader', password: PASSWORD, roles: [{ role: 'READER', tenant: 'in' }] });
    verifier = await startTestRuntime([pingModule, identityModule], { modules: 'ping', moduleUrls: { identity: issuer.runtime.url } });
  }, 60_000);
  afterAll(async () => {
    await verifier?.close();
    await issuer?.close();
  });

  const record = (authorization: string) =>
    verifier.runtime.http.inject({ method: 'POST', url: '/api/ping/v1/notes', headers: { authorization }, payload: { text: 'hello' } });

  it('lets a token with the permission through, as the user it names', async () => {
    const res = await record(`Bearer ${await signIn(issuer.runtime.url, 'writer')}`);
    expect(res.statusCode).toBe(201);
  });

  it('answers 403 for a valid token without the permission', async () => {
    const res = await record(`Bearer ${await signIn(issuer.runtime.url, 'reader')}`);
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ code: 'FORBIDDEN', permission: 'ping.note.create' });
  });

  it('answers 401 for a forged token, a tampered one, and garbage', async () => {
    expect((await record(`Bearer ${await forgedToken()}`)).statusCode).toBe(401);
    const [h, p, s] = (await signIn(issuer.runtime.url, 'reader')).split('.');
    const widened = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), perms: ['*'] })).toString('base64url');
    expect((await record(`Bearer ${h}.${widened}.${s}`)).statusCode).toBe(401);
    expect((await record('Bearer not.a.jwt')).statusCode).toBe(401);
  });

  it('keeps verifying after identity rotates its key, and accepts tokens of the new key', async () => {
    const before = await signIn(issuer.runtime.url, 'writer');
    expect((await record(`Bearer ${before}`)).statusCode).toBe(201);
    const rotated = await issuer.runtime.http.inject({
      method: 'POST',
      url: '/api/identity/v1/signing-keys/rotate',
      headers: await issuer.as({ permissions: ['identity.key.rotate'] }),
      payload: {},
    });
    expect(rotated.statusCode).toBe(200);
    const after = await signIn(issuer.runtime.url, 'writer');
    // The verifier fetches the JWKS again for the unknown kid, at most once per cooldown (5 s).
    await eventually(async () => (await record(`Bearer ${after}`)).statusCode === 201, 'the new key accepted remotely', 10_000);
    expect((await record(`Bearer ${before}`)).statusCode).toBe(201);
  });
});

const shared = process.env.DATABASE_URL && process.env.NATS_URL;

// Needs a server database and a broker: PGlite belongs to one process by design.
describe.skipIf(!shared)('two processes: identity in one, bearer tokens accepted by the other', () => {
  const namespace = `ra${randomBytes(4).toString('hex')}`;
  let dbUrl: string;
  let a: SevaProcess;
  let b: SevaProcess;

  beforeAll(async () => {
    dbUrl = (await createFreshPostgresDatabase())!;
    const common = { DATABASE_URL: dbUrl, NATS_URL: process.env.NATS_URL!, SEVA_MASTER_KEY: TEST_MASTER_KEY, SEVA_EVENTS_NAMESPACE: namespace };
    a = await startSevaProcess({ ...common, SEVA_MODULES: 'identity,ping' });
    b = await startSevaProcess({ ...common, SEVA_MODULES: 'pong', SEVA_MODULE_URLS: `ping=${a.url},identity=${a.url}` });
    const internal = await new InternalTokens(Buffer.from(TEST_MASTER_KEY, 'base64')).sign(systemActor('remote-auth-test'), 'ra-test');
    const headers = { 'x-seva-actor': internal, 'content-type': 'application/json' };
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${a.url}/api/identity/v1${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
      expect(res.status, await res.clone().text()).toBe(201);
    };
    // The first start of the empty database made the root tenant `in` (and its administrator).
    await post('/roles', { tenantId: 'in', code: 'RELAY', name: 'Relay', permissions: ['pong.relay', 'ping.note.create'] });
    await post('/roles', { tenantId: 'in', code: 'NONE', name: 'None', permissions: ['ping.note.read'] });
    await post('/employees', { tenantId: 'in', username: 'relayer', name: 'Relayer', password: PASSWORD, roles: [{ role: 'RELAY', tenant: 'in' }] });
    await post('/employees', { tenantId: 'in', username: 'bystander', name: 'Bystander', password: PASSWORD, roles: [{ role: 'NONE', tenant: 'in' }] });
  }, 180_000);

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    if (dbUrl) await dropPostgresDatabase(dbUrl);
    await deleteStream(process.env.NATS_URL!, namespace);
  });

  const relay = (authorization: string) =>
    fetch(`${b.url}/api/pong/v1/relay`, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify({ text: 'signed in' }) });

  it('authorizes a token issued by the other process, and the call it makes onward', async () => {
    const res = await relay(`Bearer ${await signIn(a.url, 'relayer')}`);
    expect(res.status, await res.clone().text()).toBe(201);
    expect(((await res.json()) as { relayedBy: number }).relayedBy).toBe(b.pid);
  });

  it('answers 403 for a token without the permission and 401 for a forged one', async () => {
    expect((await relay(`Bearer ${await signIn(a.url, 'bystander')}`)).status).toBe(403);
    expect((await relay(`Bearer ${await forgedToken()}`)).status).toBe(401);
  });
});
