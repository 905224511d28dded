import type { InjectOptions } from 'fastify';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../kernel/index.js';
import { startTestRuntime, type TestRuntime } from '../../../test/support/test-runtime.js';
import { identityModule } from './index.js';
import { createRole } from './roles.js';
import { createTenant } from './tenants.js';

let t: TestRuntime;
const TOKEN = '/api/identity/v1/oauth/token';
const API = '/api/identity/v1';
let client: { client_id: string; client_secret: string };

beforeAll(async () => {
  t = await startTestRuntime([identityModule]);
  const ctx = t.runtime.contextFor('identity', systemActor('test'));
  await createTenant(ctx, { code: 'in', name: 'India' });
  await createRole(ctx, { tenantId: 'in', code: 'TENANT_READER', name: 'Tenant reader', permissions: ['identity.tenant.read'] });
});
afterAll(() => t?.close());

const inject = (options: InjectOptions) => t.runtime.http.inject(options);

describe('system clients', () => {
  it('are created with a secret shown once and stored only as an argon2id hash', async () => {
    const admin = await t.as({ permissions: ['identity.client.create'], tenantId: 'in' });
    const res = await inject({ method: 'POST', url: `${API}/clients`, headers: admin, payload: { tenantId: 'in', name: 'Payments gateway', roles: ['TENANT_READER'] } });
    expect(res.statusCode).toBe(201);
    client = res.json();
    expect(client.client_id).toMatch(/^cli_/);
    expect(client.client_secret.length).toBeGreaterThanOrEqual(40);
    const rows: any[] = await t.runtime.database.db.selectFrom('identity.clients' as any).selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(client.client_secret);
    expect(rows[0].secret_hash).toMatch(/^\$argon2id\$/);
    const denied = await inject({ method: 'POST', url: `${API}/clients`, headers: await t.as({ permissions: ['identity.role.read'] }), payload: { tenantId: 'in', name: 'x', roles: [] } });
    expect(denied.statusCode).toBe(403);
    const unknownRole = await inject({ method: 'POST', url: `${API}/clients`, headers: admin, payload: { tenantId: 'in', name: 'x', roles: ['NOPE'] } });
    expect(unknownRole.json()).toMatchObject({ code: 'ROLE_NOT_FOUND' });
  });

  it('get an access token with client_credentials that works where their roles permit, 403 elsewhere', async () => {
    const res = await inject({ method: 'POST', url: TOKEN, payload: { grant_type: 'client_credentials', ...client } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = res.json();
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 900 });
    expect(body).not.toHaveProperty('refresh_token');
    expect(decodeJwt(body.access_token)).toMatchObject({ sub: client.client_id, tid: 'in', roles: ['TENANT_READER'] });
    const headers = { authorization: `Bearer ${body.access_token}` };
    expect((await inject({ url: `${API}/tenants`, headers })).statusCode).toBe(200);
    expect((await inject({ url: `${API}/roles?tenant=in`, headers })).statusCode).toBe(403);
    const audit: any[] = await t.runtime.database.db.selectFrom('kernel.audit_log' as any).selectAll().where('action', '=', 'identity.client.token_issued').execute();
    expect(audit.map((a) => a.entity_id)).toEqual([client.client_id]);
  });

  it('accept the credentials in an HTTP Basic header', async () => {
    const basic = Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64');
    const res = await inject({
      method: 'POST',
      url: TOKEN,
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'grant_type=client_credentials',
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['www-authenticate']).toBeUndefined();
    expect(decodeJwt(res.json().access_token).sub).toBe(client.client_id);
  });

  it('answer 401 invalid_client for a wrong secret or an unknown client', async () => {
    const wrong = await inject({ method: 'POST', url: TOKEN, payload: { grant_type: 'client_credentials', client_id: client.client_id, client_secret: 'not-the-secret' } });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json()).toMatchObject({ error: 'invalid_client', code: 'INVALID_CLIENT' });
    expect(wrong.headers['www-authenticate']).toBe('Basic realm="seva", charset="UTF-8"');
    const unknown = await inject({ method: 'POST', url: TOKEN, payload: { grant_type: 'client_credentials', client_id: 'cli_nobody', client_secret: 'whatever' } });
    expect(unknown.statusCode).toBe(401);
    expect(unknown.json()).toMatchObject({ error: 'invalid_client' });
    const missing = await inject({ method: 'POST', url: TOKEN, payload: { grant_type: 'client_credentials', client_id: client.client_id } });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().errors.map((e: { path: string }) => e.path)).toContain('body.client_secret');
  });

  it('are documented in OpenAPI: the token, OTP and JWKS routes with their request bodies', async () => {
    const doc = (await inject({ url: '/openapi.json' })).json();
    const token = doc.paths['/api/identity/v1/oauth/token'].post;
    expect(token.operationId).toBe('identity.oauthToken');
    expect(Object.keys(token.requestBody.content)).toEqual(['application/json', 'application/x-www-form-urlencoded']);
    const grants = token.requestBody.content['application/json'].schema.anyOf.flatMap((s: any) => s.properties.grant_type.enum);
    expect(grants).toEqual(['password', 'refresh_token', 'client_credentials', 'otp', 'urn:seva:params:oauth:grant-type:otp', 'mfa_otp']);
    expect(Object.keys(token.responses)).toEqual(['200', '400', '401', '429']);
    expect(doc.paths['/api/identity/v1/otp'].post.responses['202']).toBeDefined();
    expect(doc.paths['/.well-known/jwks.json'].get.operationId).toBe('identity.jwks');
  });
});
