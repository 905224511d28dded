import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../kernel/index.js';
import { startTestRuntime, type TestRuntime } from '../../../test/support/test-runtime.js';
import { createRole } from './roles.js';
import { createTenant } from './tenants.js';
import { identityModule } from './index.js';

let t: TestRuntime;
let hr: Record<string, string>;
let viewer: Record<string, string>;
let piiViewer: Record<string, string>;

const MOBILE = '9876543221';
const EMAIL = 'asha.rao@example.in';

beforeAll(async () => {
  t = await startTestRuntime([identityModule]);
  const ctx = t.runtime.contextFor('identity', systemActor('test'));
  await createTenant(ctx, { code: 'in', name: 'India' });
  await createTenant(ctx, { code: 'in.ka', name: 'Karnataka' });
  await createRole(ctx, { tenantId: 'in', code: 'CLERK', name: 'Clerk', permissions: ['identity.tenant.read'] });
  hr = await t.as({ permissions: ['identity.user.create', 'identity.user.read'], tenantId: 'in' });
  viewer = await t.as({ permissions: ['identity.user.read'], tenantId: 'in' });
  piiViewer = await t.as({ id: 'usr_auditor', permissions: ['identity.user.read', 'identity.user.pii.read'], tenantId: 'in' });
});
afterAll(() => t?.close());

const inject = (options: InjectOptions) => t.runtime.http.inject(options);
const create = (payload: object) => inject({ method: 'POST', url: '/api/identity/v1/employees', headers: hr, payload });
const asha = { tenantId: 'in.ka', username: 'asha.rao', name: 'Asha Rao', mobile: MOBILE, email: EMAIL, password: 'correct horse 42', roles: [{ role: 'CLERK', tenant: 'in.ka' }] };

describe('employees', () => {
  let id: string;

  it('creates an employee with roles', async () => {
    const res = await create(asha);
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({ kind: 'employee', tenantId: 'in.ka', username: 'asha.rao', status: 'active', roles: [{ role: 'CLERK', tenant: 'in.ka' }] });
    expect(body.id).toMatch(/^usr_/);
    expect(JSON.stringify(body)).not.toContain('password');
    id = body.id;
  });

  it('stores mobile and email only sealed, with a blind index that finds the employee', async () => {
    const row: any = await t.runtime.database.db.selectFrom('identity.users' as any).selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    const raw = JSON.stringify(row);
    expect(raw).not.toContain(MOBILE);
    expect(raw).not.toContain(EMAIL);
    expect(raw).not.toContain('correct horse 42');
    expect(row.password_hash).toMatch(/^\$argon2id\$/);
    const ctx = t.runtime.contextFor('identity', systemActor('test'));
    expect(row.mobile_bidx).toBe(ctx.crypto.blindIndex('in.ka', 'mobile', MOBILE));
    const found = await inject({ url: `/api/identity/v1/employees?tenantId=in.ka&mobile=${MOBILE}`, headers: viewer });
    expect(found.json().items).toEqual([{ id, username: 'asha.rao', name: 'Asha Rao' }]);
    const other = await inject({ url: '/api/identity/v1/employees?tenantId=in.ka&mobile=9876543220', headers: viewer });
    expect(other.json().items).toEqual([]);
  });

  it('masks mobile and email unless the caller may read PII, and audits the plain read', async () => {
    const masked = (await inject({ url: `/api/identity/v1/employees/${id}`, headers: viewer })).json();
    expect(masked.mobile).toBe('98******21');
    expect(masked.email).toBe('a*******@example.in');
    const audit = () =>
      t.runtime.database.db.selectFrom('kernel.audit_log' as any).select(['actor_id', 'entity_id']).where('action', '=', 'identity.user.pii.read').execute();
    expect(await audit()).toEqual([]);
    const plain = (await inject({ url: `/api/identity/v1/employees/${id}`, headers: piiViewer })).json();
    expect(plain.mobile).toBe(MOBILE);
    expect(plain.email).toBe(EMAIL);
    expect(await audit()).toEqual([{ actor_id: 'usr_auditor', entity_id: id }]);
  });

  it('refuses weak passwords on body.password', async () => {
    for (const password of ['short1', 'onlyletterslong', '12345678901', 'ravi.kumar1']) {
      const res = await create({ ...asha, username: 'ravi.kumar1', mobile: undefined, email: undefined, password });
      expect(res.statusCode, password).toBe(400);
      expect(res.json().errors).toEqual([expect.objectContaining({ path: 'body.password' })]);
    }
  });

  it('refuses a username taken in the same tenant root, a bad mobile, and an unknown role', async () => {
    const taken = await create({ ...asha, tenantId: 'in' });
    expect(taken.statusCode).toBe(409);
    expect(taken.json().errors).toEqual([expect.objectContaining({ path: 'body.username' })]);
    const mobile = await create({ ...asha, username: 'other.one', mobile: '1234567890' });
    expect(mobile.json().errors).toEqual([expect.objectContaining({ path: 'body.mobile' })]);
    const role = await create({ ...asha, username: 'other.one', roles: [{ role: 'NOPE', tenant: 'in' }] });
    expect(role.statusCode).toBe(422);
    expect(role.json().errors).toEqual([expect.objectContaining({ path: 'body.roles.0.role' })]);
  });

  it('refuses a caller without identity.user.create', async () => {
    const res = await inject({ method: 'POST', url: '/api/identity/v1/employees', headers: viewer, payload: { ...asha, username: 'x.y.z' } });
    expect(res.statusCode).toBe(403);
  });
});
