import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../kernel/index.js';
import { startTestRuntime, type TestRuntime } from '../../../test/support/test-runtime.js';
import { identityModule } from './index.js';

let t: TestRuntime;

beforeAll(async () => {
  t = await startTestRuntime([identityModule]);
});
afterAll(() => t?.close());

const seed = async () => (await identityModule.seedDemo!(t.runtime.contextFor('identity', systemActor('seed')), t.runtime.config))!.credentials!;
const login = (value: string) => {
  const [username, password] = value.split(' / ');
  return t.runtime.http.inject({ method: 'POST', url: '/api/identity/v1/oauth/token', payload: { grant_type: 'password', username, password, tenant: 'in.ka.bengaluru' } });
};

describe('demo staff seed', () => {
  it('adds departments, designations, service roles and two Bengaluru employees and a Mysuru one who can sign in', async () => {
    const credentials = await seed();
    const clerk = credentials.find((c) => c.value.startsWith('clerk1 / '));
    const inspector = credentials.find((c) => c.value.startsWith('inspector1 / '));
    expect(clerk && inspector).toBeTruthy();
    const res = await login(clerk!.value);
    expect(res.statusCode).toBe(200);
    const token = res.json().access_token;
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
    expect(claims).toMatchObject({ tid: 'in.ka.bengaluru', roles: ['COUNTER_EMPLOYEE'] });
    const headers = { authorization: `Bearer ${token}` };
    const departments = await t.runtime.http.inject({ url: '/api/identity/v1/departments?tenant=in', headers });
    expect(departments.json().items.map((d: { code: string }) => d.code)).toEqual(['ENG', 'HLTH', 'REV']);
    const assignments = await t.runtime.http.inject({ url: `/api/identity/v1/employees/${claims.sub}/assignments`, headers });
    expect(assignments.json().items).toMatchObject([{ department: 'REV', designation: 'CLERK', jurisdiction: ['in.ka.bengaluru'], primary: true }]);
    const roles = await t.runtime.database.db.selectFrom('identity.roles' as any).select('code').where('tenant_id', '=', 'in').orderBy('code').execute();
    expect(roles.map((r: any) => r.code)).toEqual(expect.arrayContaining(['APPROVER', 'CASHIER', 'COUNTER_EMPLOYEE', 'FIELD_INSPECTOR', 'GRO']));
    expect((await login(inspector!.value)).statusCode).toBe(200);
    const mysuru = credentials.find((c) => c.value.startsWith('clerk2 / '))!;
    expect(mysuru.label).toBe('counter clerk (tenant in.ka.mysuru)');
    const [username, password] = mysuru.value.split(' / ');
    const second = await t.runtime.http.inject({ method: 'POST', url: '/api/identity/v1/oauth/token', payload: { grant_type: 'password', username, password, tenant: 'in.ka.mysuru' } });
    expect(JSON.parse(Buffer.from(second.json().access_token.split('.')[1], 'base64url').toString())).toMatchObject({ tid: 'in.ka.mysuru', roles: ['COUNTER_EMPLOYEE'] });
  });

  it('can run again, giving the employees new passwords', async () => {
    const before = await seed();
    const after = await seed();
    const clerk = (list: typeof before) => list.find((c) => c.value.startsWith('clerk1 / '))!.value;
    expect(clerk(after)).not.toBe(clerk(before));
    expect((await login(clerk(after))).statusCode).toBe(200);
    expect((await login(clerk(before))).statusCode).toBe(400);
  });
});
