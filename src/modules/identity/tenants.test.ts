import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRuntime, type TestRuntime } from '../../../test/support/test-runtime.js';
import { identityModule } from './index.js';

let t: TestRuntime;
let admin: Record<string, string>;
let reader: Record<string, string>;

beforeAll(async () => {
  t = await startTestRuntime([identityModule]);
  admin = await t.as({ permissions: ['identity.tenant.*', 'identity.role.*'], tenantId: 'in' });
  reader = await t.as({ permissions: ['identity.tenant.read'], tenantId: 'in' });
});
afterAll(() => t?.close());

const inject = (options: InjectOptions) => t.runtime.http.inject(options);
const create = (payload: object, headers = admin) => inject({ method: 'POST', url: '/api/identity/v1/tenants', headers, payload });

describe('tenants', () => {
  it('creates a root and its children', async () => {
    const root = await create({ code: 'in', name: 'India' });
    expect(root.statusCode).toBe(201);
    expect(root.json()).toMatchObject({ code: 'in', parent: null, name: 'India', status: 'active', version: 1 });
    expect((await create({ code: 'in.ka', name: 'Karnataka' })).json()).toMatchObject({ code: 'in.ka', parent: 'in' });
    expect((await create({ code: 'in.ka.bengaluru', name: 'Bengaluru' })).statusCode).toBe(201);
    expect((await create({ code: 'in.tn', name: 'Tamil Nadu' })).statusCode).toBe(201);
    const got = await inject({ url: '/api/identity/v1/tenants/in.ka', headers: reader });
    expect(got.json()).toMatchObject({ code: 'in.ka', name: 'Karnataka' });
  });

  it('refuses a child whose parent does not exist, naming the field', async () => {
    const res = await create({ code: 'in.mh.pune', name: 'Pune' });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ code: 'PARENT_TENANT_NOT_FOUND', errors: [expect.objectContaining({ path: 'body.code' })] });
  });

  it('refuses a malformed code and a duplicate', async () => {
    const bad = await create({ code: 'IN.Ka', name: 'x' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors).toEqual([expect.objectContaining({ path: 'body.code' })]);
    expect((await create({ code: 'in', name: 'again' })).statusCode).toBe(409);
  });

  it('lists the children of a tenant, a page at a time', async () => {
    const children = await inject({ url: '/api/identity/v1/tenants?parent=in', headers: reader });
    expect(children.json().items.map((x: { code: string }) => x.code)).toEqual(['in.ka', 'in.tn']);
    const first = (await inject({ url: '/api/identity/v1/tenants?limit=2', headers: reader })).json();
    expect(first.items.map((x: { code: string }) => x.code)).toEqual(['in', 'in.ka']);
    const second = (await inject({ url: `/api/identity/v1/tenants?limit=2&cursor=${first.nextCursor}`, headers: reader })).json();
    expect(second.items.map((x: { code: string }) => x.code)).toEqual(['in.ka.bengaluru', 'in.tn']);
    expect(second.nextCursor).toBeNull();
  });

  it('lists only the caller’s own tenant and those below it', async () => {
    const state = await t.as({ permissions: ['identity.tenant.read'], tenantId: 'in.ka' });
    const seen = (await inject({ url: '/api/identity/v1/tenants', headers: state })).json();
    expect(seen.items.map((x: { code: string }) => x.code)).toEqual(['in.ka', 'in.ka.bengaluru']);
  });

  it('updates with the current version and refuses a stale one with 409', async () => {
    const url = '/api/identity/v1/tenants/in.tn';
    const updated = await inject({ method: 'PATCH', url, headers: admin, payload: { version: 1, name: 'Tamil Nadu State', status: 'disabled' } });
    expect(updated.statusCode).toBe(200);
    expect(updated.json()).toMatchObject({ name: 'Tamil Nadu State', status: 'disabled', version: 2 });
    const stale = await inject({ method: 'PATCH', url, headers: admin, payload: { version: 1, name: 'Lost update' } });
    expect(stale.statusCode).toBe(409);
    expect(stale.json().code).toBe('CONFLICT');
    const missing = await inject({ method: 'PATCH', url: '/api/identity/v1/tenants/in.xx', headers: admin, payload: { version: 1, name: 'x' } });
    expect(missing.statusCode).toBe(404);
  });

  it('refuses an actor without the permission', async () => {
    const res = await create({ code: 'in.kl', name: 'Kerala' }, reader);
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ code: 'FORBIDDEN', permission: 'identity.tenant.create' });
    expect((await inject({ url: '/api/identity/v1/tenants' })).statusCode).toBe(401);
  });

  it('records audit entries and events for changes', async () => {
    const db = t.runtime.database.db;
    const audit = await db.selectFrom('kernel.audit_log' as any).select(['action', 'entity_id']).where('entity_id', '=', 'in.tn').execute();
    expect(audit.map((r: any) => r.action).sort()).toEqual(['identity.tenant.created', 'identity.tenant.updated']);
  });
});

describe('roles', () => {
  it('creates a role with permissions and lists the tenant’s roles', async () => {
    const res = await inject({ method: 'POST', url: '/api/identity/v1/roles', headers: admin, payload: { tenantId: 'in', code: 'CLERK', name: 'Clerk', permissions: ['identity.tenant.read', 'identity.user.*'] } });
    expect(res.statusCode).toBe(201);
    const list = await inject({ url: '/api/identity/v1/roles?tenant=in', headers: admin });
    expect(list.json().items).toEqual([expect.objectContaining({ code: 'CLERK', permissions: ['identity.tenant.read', 'identity.user.*'] })]);
  });

  it('refuses a bad permission string and a bad role code', async () => {
    const res = await inject({ method: 'POST', url: '/api/identity/v1/roles', headers: admin, payload: { tenantId: 'in', code: 'clerk', name: 'x', permissions: ['Identity..x'] } });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors.map((e: { path: string }) => e.path).sort()).toEqual(['body.code', 'body.permissions.0']);
  });
});
