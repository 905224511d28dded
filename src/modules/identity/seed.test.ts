import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../kernel/index.js';
import { startTestRuntime, type TestRuntime } from '../../../test/support/test-runtime.js';
import { identityModule } from './index.js';

let t: TestRuntime;

beforeAll(async () => {
  t = await startTestRuntime([identityModule]);
});
afterAll(() => t?.close());

const seed = async () => {
  const result = await identityModule.seedDemo!(t.runtime.contextFor('identity', systemActor('seed')));
  const credential = result!.credentials!.find((c) => c.label === 'administrator (tenant in)')!;
  const [username, password] = credential.value.split(' / ');
  return { username: username!, password: password! };
};

const login = (username: string, password: string) =>
  t.runtime.http.inject({ method: 'POST', url: '/api/identity/v1/oauth/token', payload: { grant_type: 'password', username, password, tenant: 'in' } });

describe('demo seed', () => {
  it('creates the demo tenants and an admin whose printed credentials sign in with identity.* and system.*', async () => {
    const { username, password } = await seed();
    expect(username).toBe('admin');
    expect(password).toMatch(/^(?=.*[A-Za-z])(?=.*\d)[A-Za-z0-9]{16}$/);
    const res = await login(username, password);
    expect(res.statusCode).toBe(200);
    const token = res.json().access_token;
    const tenants = await t.runtime.http.inject({ url: '/api/identity/v1/tenants', headers: { authorization: `Bearer ${token}` } });
    expect(tenants.json().items.map((x: { code: string }) => x.code)).toEqual(['in', 'in.ka', 'in.ka.bengaluru']);
    const created = await t.runtime.http.inject({ method: 'POST', url: '/api/identity/v1/tenants', headers: { authorization: `Bearer ${token}` }, payload: { code: 'in.tn', name: 'Tamil Nadu' } });
    expect(created.statusCode).toBe(201);
  });

  it('can run again: the admin gets a new password and the old one stops working', async () => {
    const before = await seed();
    const after = await seed();
    expect(after.password).not.toBe(before.password);
    expect((await login('admin', after.password)).statusCode).toBe(200);
    expect((await login('admin', before.password)).statusCode).toBe(400);
  });
});
