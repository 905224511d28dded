import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../kernel/index.js';
import { startTestRuntime, type TestRuntime } from '../../../test/support/test-runtime.js';
import { createEmployee } from './employees.js';
import { identityModule } from './index.js';
import { createRole } from './roles.js';
import { createTenant } from './tenants.js';

let t: TestRuntime;
const API = '/api/identity/v1';
let manager: Record<string, string>;
let reader: Record<string, string>;
let employeeId: string;

beforeAll(async () => {
  t = await startTestRuntime([identityModule]);
  const ctx = t.runtime.contextFor('identity', systemActor('test'));
  await createTenant(ctx, { code: 'in', name: 'India' });
  await createTenant(ctx, { code: 'in.ka', name: 'Karnataka' });
  await createRole(ctx, { tenantId: 'in', code: 'CLERK', name: 'Clerk', permissions: ['identity.tenant.read'] });
  await createRole(ctx, { tenantId: 'in', code: 'APPROVER', name: 'Approver', permissions: ['identity.role.read'] });
  employeeId = (await createEmployee(ctx, { tenantId: 'in.ka', username: 'ravi', name: 'Ravi', password: 'Secret2025pass', roles: [{ role: 'CLERK', tenant: 'in.ka' }] })).id;
  manager = await t.as({ id: 'usr_hr', permissions: ['identity.staff.manage', 'identity.staff.read', 'identity.user.roles.change'], tenantId: 'in' });
  reader = await t.as({ permissions: ['identity.staff.read'], tenantId: 'in' });
});
afterAll(() => t?.close());

const inject = (options: InjectOptions) => t.runtime.http.inject(options);

describe('staff', () => {
  it('defines departments and designations per tenant', async () => {
    expect((await inject({ method: 'POST', url: `${API}/departments`, headers: manager, payload: { tenantId: 'in.ka', code: 'REV', name: 'Revenue' } })).statusCode).toBe(201);
    expect((await inject({ method: 'POST', url: `${API}/designations`, headers: manager, payload: { tenantId: 'in', code: 'CLERK', name: 'Clerk' } })).statusCode).toBe(201);
    const again = await inject({ method: 'POST', url: `${API}/departments`, headers: manager, payload: { tenantId: 'in.ka', code: 'REV', name: 'Revenue' } });
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('DEPARTMENT_EXISTS');
    const list = await inject({ url: `${API}/departments?tenant=in.ka`, headers: reader });
    expect(list.json().items.map((d: { code: string }) => d.code)).toEqual(['REV']);
    expect((await inject({ method: 'POST', url: `${API}/departments`, headers: reader, payload: { tenantId: 'in', code: 'ENG', name: 'Engineering' } })).statusCode).toBe(403);
  });

  it('assigns an employee and lists the assignments', async () => {
    const payload = { department: 'REV', designation: 'CLERK', jurisdiction: ['BLR.WARD.12', 'BLR.WARD.13'], from: '2026-04-01', to: '2027-03-31', primary: true };
    const res = await inject({ method: 'POST', url: `${API}/employees/${employeeId}/assignments`, headers: manager, payload });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ employeeId, tenantId: 'in.ka', ...payload });
    const second = await inject({ method: 'POST', url: `${API}/employees/${employeeId}/assignments`, headers: manager, payload: { ...payload, from: '2027-04-01', to: undefined } });
    expect(second.statusCode).toBe(201);
    const list = await inject({ url: `${API}/employees/${employeeId}/assignments`, headers: reader });
    expect(list.statusCode).toBe(200);
    expect(list.json().items.map((a: { from: string; to: string | null; primary: boolean }) => [a.from, a.to, a.primary])).toEqual([
      ['2026-04-01', '2027-03-31', false],
      ['2027-04-01', null, true],
    ]);
    const unknownDept = await inject({ method: 'POST', url: `${API}/employees/${employeeId}/assignments`, headers: manager, payload: { ...payload, department: 'HLTH' } });
    expect(unknownDept.statusCode).toBe(422);
    expect(unknownDept.json().code).toBe('DEPARTMENT_NOT_FOUND');
    expect((await inject({ url: `${API}/employees/usr_nobody/assignments`, headers: reader })).statusCode).toBe(404);
  });

  it('refuses oversized or inconsistent fields with 400 naming the field', async () => {
    const base = { department: 'REV', designation: 'CLERK', jurisdiction: ['BLR'], from: '2026-04-01' };
    const cases: Array<[object, string]> = [
      [{ ...base, jurisdiction: ['x'.repeat(101)] }, 'body.jurisdiction.0'],
      [{ ...base, jurisdiction: Array.from({ length: 201 }, (_, i) => `B${i}`) }, 'body.jurisdiction'],
      [{ ...base, department: 'R'.repeat(50) }, 'body.department'],
      [{ ...base, from: '2026-13-01' }, 'body.from'],
      [{ ...base, to: '2026-03-31' }, 'body.to'],
    ];
    for (const [payload, path] of cases) {
      const res = await inject({ method: 'POST', url: `${API}/employees/${employeeId}/assignments`, headers: manager, payload });
      expect(res.statusCode, path).toBe(400);
      expect(res.json().errors.map((e: { path: string }) => e.path)).toContain(path);
    }
    const longName = await inject({ method: 'POST', url: `${API}/departments`, headers: manager, payload: { tenantId: 'in', code: 'HLTH', name: 'n'.repeat(201) } });
    expect(longName.statusCode).toBe(400);
    expect(longName.json().errors[0].path).toBe('body.name');
  });

  it('changes roles and audits the change with before and after', async () => {
    const res = await inject({ method: 'PUT', url: `${API}/employees/${employeeId}/roles`, headers: manager, payload: { roles: [{ role: 'APPROVER', tenant: 'in.ka' }] } });
    expect(res.statusCode).toBe(200);
    expect(res.json().roles).toEqual([{ role: 'APPROVER', tenant: 'in.ka' }]);
    const rows: any[] = await t.runtime.database.db.selectFrom('kernel.audit_log' as any).selectAll().where('action', '=', 'identity.user.roles.changed').execute();
    expect(rows).toHaveLength(1);
    const data = typeof rows[0].data === 'string' ? JSON.parse(rows[0].data) : rows[0].data;
    expect(rows[0]).toMatchObject({ entity_id: employeeId, actor_id: 'usr_hr', tenant_id: 'in.ka' });
    expect(data).toEqual({ before: [{ role: 'CLERK', tenant: 'in.ka' }], after: [{ role: 'APPROVER', tenant: 'in.ka' }] });
    const employee = await inject({ url: `${API}/employees/${employeeId}`, headers: await t.as({ permissions: ['identity.user.read'] }) });
    expect(employee.json().roles).toEqual([{ role: 'APPROVER', tenant: 'in.ka' }]);
    const unknown = await inject({ method: 'PUT', url: `${API}/employees/${employeeId}/roles`, headers: manager, payload: { roles: [{ role: 'NOPE', tenant: 'in' }] } });
    expect(unknown.json().code).toBe('ROLE_NOT_FOUND');
    expect((await inject({ method: 'PUT', url: `${API}/employees/${employeeId}/roles`, headers: reader, payload: { roles: [] } })).statusCode).toBe(403);
  });
});
